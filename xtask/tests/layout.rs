//! Folders are named as ARCHITECTURE.md's parts table says (issue 19): each workspace member (root Cargo.toml)
//! has a row `| \`folder/\` (\`package-name\`) | … |` naming its folder and its Cargo package, each row that
//! names a Cargo package is a workspace member, and a library `x0x-dist-<name>` lives in `<name>/` (folder =
//! crate name where it can be). Adding a crate is adding a member and a row; nothing here lists crates.
use std::collections::BTreeMap;
use std::path::Path;

/// One row of the parts table: the folder (without the trailing `/`) and, when the row names one, the Cargo
/// package (`(\`x0x-dist-server\`)`; `(npm \`x0x\`)` is not a Cargo package).
#[derive(Debug, PartialEq)]
struct Row {
    folder: String,
    package: Option<String>,
}

/// The rows of the table whose header starts with `| Part |`.
fn parts_table(md: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut lines = md
        .lines()
        .skip_while(|l| !l.starts_with("| Part |"))
        .skip(1);
    // the |---| line
    assert!(
        lines.next().is_some_and(|l| l.starts_with("|--")),
        "ARCHITECTURE.md: no parts table (`| Part | … |`)"
    );
    for line in lines.take_while(|l| l.starts_with('|')) {
        let cell = line
            .trim_start_matches('|')
            .split('|')
            .next()
            .unwrap()
            .trim();
        let Some(rest) = cell.strip_prefix('`') else {
            continue;
        };
        let Some((folder, rest)) = rest.split_once('`') else {
            continue;
        };
        let Some(folder) = folder.strip_suffix('/') else {
            continue;
        };
        let package = rest
            .trim_start()
            .strip_prefix("(`")
            .and_then(|p| p.split_once('`'))
            .map(|(name, _)| name.to_owned());
        rows.push(Row {
            folder: folder.to_owned(),
            package,
        });
    }
    rows
}

/// What is wrong between the table and the members (folder -> package name).
fn layout_problems(rows: &[Row], members: &BTreeMap<String, String>) -> Vec<String> {
    let mut problems = Vec::new();
    let mut by_folder = BTreeMap::new();
    for r in rows {
        if by_folder.insert(r.folder.as_str(), r).is_some() {
            problems.push(format!("`{}/` has two rows", r.folder));
        }
    }
    for (folder, package) in members {
        match by_folder.get(folder.as_str()) {
            None => problems.push(format!(
                "workspace member `{folder}/` (`{package}`) has no row in ARCHITECTURE.md's parts table"
            )),
            Some(Row { package: None, .. }) => problems.push(format!(
                "ARCHITECTURE.md: the row of `{folder}/` does not name its package: write `{folder}/` (`{package}`)"
            )),
            Some(Row {
                package: Some(p), ..
            }) if p != package => problems.push(format!(
                "ARCHITECTURE.md says `{folder}/` is `{p}`, its Cargo.toml says `{package}`"
            )),
            Some(_) => {}
        }
        if let Some(name) = package.strip_prefix("x0x-dist-") {
            if name != folder {
                problems.push(format!(
                    "crate `{package}` lives in `{folder}/`, not in `{name}/`"
                ));
            }
        }
    }
    for r in rows {
        if let Some(p) = &r.package {
            if !members.contains_key(&r.folder) {
                problems.push(format!(
                    "ARCHITECTURE.md has a row for `{}/` (`{p}`), which is no workspace member",
                    r.folder
                ));
            }
        }
    }
    problems
}

fn toml_at(path: &Path) -> toml::Table {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .parse()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_crate_folder_is_named_as_architecture_md_says() {
    let ws = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let root = toml_at(&ws.join("Cargo.toml"));
    let mut members = BTreeMap::new();
    for m in root["workspace"]["members"].as_array().unwrap() {
        let folder = m.as_str().unwrap().trim_end_matches('/').to_owned();
        let manifest = toml_at(&ws.join(&folder).join("Cargo.toml"));
        let name = manifest["package"]["name"].as_str().unwrap().to_owned();
        members.insert(folder, name);
    }
    assert!(members.len() >= 7, "members: {members:?}");
    let rows = parts_table(&std::fs::read_to_string(ws.join("ARCHITECTURE.md")).unwrap());
    let mut problems = layout_problems(&rows, &members);
    // The workspace's own path dependencies point at the folder of the crate they name.
    let deps = root["workspace"]["dependencies"].as_table().unwrap();
    for (name, spec) in deps {
        if let Some(path) = spec.get("path").and_then(|p| p.as_str()) {
            if members.get(path.trim_end_matches('/')) != Some(name) {
                problems.push(format!(
                    "[workspace.dependencies] {name} = {{ path = \"{path}\" }}: `{path}/` is {:?}",
                    members.get(path)
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

const TABLE: &str = "\
# Parts

| Part | What it is | Depends on |
|---|---|---|
| `manifests/` (`x0x-dist-manifests`) | The model. | nothing |
| `cli/` (`x0x-dist`, the binary) | The CLI. | all |
| `loader/js/` (npm `x0x`) | JS. | — |
| `.ci/`, `scripts/` | CI. | — |

| Other | table |
|---|---|
| `repo/` (`x0x-dist-repo`) | not a part |
";

fn members(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(f, p)| ((*f).to_owned(), (*p).to_owned()))
        .collect()
}

#[test]
fn the_table_is_read_row_by_row() {
    let rows = parts_table(TABLE);
    let row = |f: &str, p: Option<&str>| Row {
        folder: f.to_owned(),
        package: p.map(str::to_owned),
    };
    assert_eq!(
        rows,
        [
            row("manifests", Some("x0x-dist-manifests")),
            row("cli", Some("x0x-dist")),
            row("loader/js", None),
            row(".ci", None),
        ]
    );
    let ok = members(&[("manifests", "x0x-dist-manifests"), ("cli", "x0x-dist")]);
    assert_eq!(layout_problems(&rows, &ok), Vec::<String>::new());
}

#[test]
fn a_mismatch_is_reported() {
    let rows = parts_table(TABLE);
    let check = |pairs: &[(&str, &str)], expect: &str| {
        let p = layout_problems(&rows, &members(pairs));
        assert!(
            p.iter().any(|p| p.contains(expect)),
            "expected {expect:?} in {p:#?}"
        );
    };
    // a member without a row
    check(
        &[
            ("manifests", "x0x-dist-manifests"),
            ("cli", "x0x-dist"),
            ("durable", "x0x-dist-durable"),
        ],
        "`durable/` (`x0x-dist-durable`) has no row",
    );
    // the row and Cargo.toml disagree on the package
    check(
        &[("manifests", "x0x-dist-model"), ("cli", "x0x-dist")],
        "says `manifests/` is `x0x-dist-manifests`, its Cargo.toml says `x0x-dist-model`",
    );
    // a row naming a Cargo package that is not a member
    check(
        &[("manifests", "x0x-dist-manifests")],
        "row for `cli/` (`x0x-dist`), which is no workspace member",
    );
    // a member whose row names no package
    check(
        &[
            ("manifests", "x0x-dist-manifests"),
            ("cli", "x0x-dist"),
            ("loader/js", "x0x-js"),
        ],
        "the row of `loader/js/` does not name its package",
    );
    // folder and crate named differently, even when the table agrees
    let rows = parts_table(&TABLE.replace(
        "`manifests/` (`x0x-dist-manifests`)",
        "`model/` (`x0x-dist-manifests`)",
    ));
    let p = layout_problems(
        &rows,
        &members(&[("model", "x0x-dist-manifests"), ("cli", "x0x-dist")]),
    );
    assert_eq!(
        p,
        ["crate `x0x-dist-manifests` lives in `model/`, not in `manifests/`"]
    );
}
