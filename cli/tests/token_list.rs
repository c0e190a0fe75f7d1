//! `x0x-dist token list`: an aligned table under a header, and `--json` with every field in full (issue 21).
use x0x_dist_test_support::cli::{bin, run_ok};

fn create(repo: &std::path::Path, packages: &[&str]) -> String {
    let mut cmd = bin();
    cmd.args(["token", "create", "--repo"]).arg(repo);
    for p in packages {
        cmd.args(["--package", p]);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{out:?}");
    // "created token <id> for ..." on stderr (after warnings: these packages are not delegated).
    let err = String::from_utf8(out.stderr).unwrap();
    err.lines()
        .find_map(|l| l.strip_prefix("created token "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("{err}"))
        .to_owned()
}

#[test]
fn token_list_is_an_aligned_table_with_a_header_and_json() {
    let t = tempfile::tempdir().unwrap();
    let repo = t.path().join("repo");
    run_ok(bin().args(["init", "--repo"]).arg(&repo));
    let a = create(&repo, &["x0x"]);
    let b = create(&repo, &["x0x", "other-package", "third"]);

    let text = run_ok(bin().args(["token", "list", "--repo"]).arg(&repo));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    let header = lines[0];
    assert!(
        header.starts_with("ID ") && header.contains("CREATED") && header.ends_with("PACKAGES"),
        "{header}"
    );
    // Every column starts where its header does.
    let created_at = header.find("CREATED").unwrap();
    let packages_at = header.find("PACKAGES").unwrap();
    for (line, id, packages) in [
        (lines[1], &a, "x0x"),
        (lines[2], &b, "x0x, other-package, third"),
    ] {
        assert_eq!(&line[..id.len()], id.as_str(), "{text}");
        let created = line[created_at..packages_at].trim_end();
        // To the second, UTC: 2026-12-07 19:33:27Z.
        assert_eq!(created.len(), 20, "{text}");
        assert!(
            time::OffsetDateTime::parse(
                &created.replace(' ', "T"),
                &time::format_description::well_known::Rfc3339
            )
            .is_ok(),
            "{created:?} in\n{text}"
        );
        assert_eq!(&line[packages_at..], packages, "{text}");
    }

    let json: serde_json::Value = serde_json::from_str(&run_ok(
        bin().args(["token", "list", "--json", "--repo"]).arg(&repo),
    ))
    .unwrap();
    let rows = json.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{json}");
    assert_eq!(rows[1]["id"], b.as_str());
    assert_eq!(
        rows[1]["packages"],
        serde_json::json!(["x0x", "other-package", "third"])
    );
    let created = rows[1]["created"].as_str().unwrap();
    time::OffsetDateTime::parse(created, &time::format_description::well_known::Rfc3339).unwrap();
    assert!(rows[1].get("sha256").is_none(), "{json}");

    // No tokens: nothing on stdout (the hint is on stderr), an empty JSON array.
    let empty = t.path().join("empty");
    run_ok(bin().args(["init", "--repo"]).arg(&empty));
    assert_eq!(
        run_ok(bin().args(["token", "list", "--repo"]).arg(&empty)),
        ""
    );
    let json: serde_json::Value = serde_json::from_str(&run_ok(
        bin()
            .args(["token", "list", "--json", "--repo"])
            .arg(&empty),
    ))
    .unwrap();
    assert_eq!(json, serde_json::json!([]));
}
