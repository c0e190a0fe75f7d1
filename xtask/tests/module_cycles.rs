//! No import cycle between the top-level modules of any crate of the workspace (ARCHITECTURE.md, "Rules that
//! hold everywhere"; the JS loader's twin is `loader/js/test/structure.test.js`). A module's dependencies are the
//! `crate::<module>` paths in its code (comments and its `#[cfg(test)] mod tests` left out): a cycle means two
//! modules each need the other, so neither can be read, tested or moved alone.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const CRATES: &[&str] = &[
    "manifests/src",
    "durable/src",
    "loader/src",
    "repository/src",
    "server/src",
    "cli/src",
    "xtask/src",
];

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code of a file without comments and without its unit tests.
fn code(src: &str) -> String {
    let src = src.split("#[cfg(test)]\nmod tests").next().unwrap_or(src);
    src.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level module a file belongs to (`lib.rs`/`main.rs`: the crate root, `""`).
fn module_of(root: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(root).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    let name = first.trim_end_matches(".rs");
    if matches!(name, "lib" | "main") {
        String::new()
    } else {
        name.to_owned()
    }
}

/// Every `crate::name` in `code`.
fn crate_refs(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let before = rest[..i].chars().last();
        rest = &rest[i + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // `x0x_dist_crate::`, not our crate
        }
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            out.insert(name);
        }
    }
    out
}

fn graph(root: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rs_files(root, &mut files);
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(root, f)).collect();
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let m = module_of(root, f);
        let deps = crate_refs(&code(&std::fs::read_to_string(f).unwrap()));
        let e = g.entry(m.clone()).or_default();
        e.extend(
            deps.into_iter()
                .filter(|d| *d != m && !m.is_empty() && modules.contains(d)),
        );
    }
    g
}

fn find_cycle(g: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        g: &BTreeMap<String, BTreeSet<String>>,
        u: &str,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = stack.iter().position(|s| s == u) {
            let mut c = stack[i..].to_vec();
            c.push(u.to_owned());
            return Some(c);
        }
        if done.contains(u) {
            return None;
        }
        stack.push(u.to_owned());
        for v in g.get(u).into_iter().flatten() {
            if let Some(c) = visit(g, v, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(u.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    g.keys()
        .find_map(|u| visit(g, u, &mut Vec::new(), &mut done))
}

#[test]
fn no_module_cycles_in_any_crate() {
    let ws = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut checked = 0;
    for c in CRATES {
        let g = graph(&ws.join(c));
        assert!(g.len() > 1 || *c == "durable/src", "{c}: no modules found");
        if let Some(cycle) = find_cycle(&g) {
            panic!("{c}: import cycle {}", cycle.join(" -> "));
        }
        checked += g.len();
    }
    assert!(checked > 40, "only {checked} modules seen");
}

#[test]
fn the_check_sees_a_cycle() {
    let g = BTreeMap::from([
        ("a".to_owned(), BTreeSet::from(["b".to_owned()])),
        ("b".to_owned(), BTreeSet::from(["c".to_owned()])),
        ("c".to_owned(), BTreeSet::from(["a".to_owned()])),
    ]);
    assert_eq!(find_cycle(&g).unwrap(), ["a", "b", "c", "a"]);
    assert!(crate_refs("use crate::state::X; x0x_dist_crate::y; crate::routes").contains("state"));
    assert!(!crate_refs("x0x_dist_crate::y").contains("y"));
    assert_eq!(code("a // crate::b\nc"), "a \nc");
}
