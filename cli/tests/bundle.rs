//! Bundles end to end with the real programs: export → import into a mirror / a loader cache → serve and
//! fetch; `fetch --bundle`; a damaged bundle and a forged one (consistent table of contents, tampered target);
//! a bundle trusted by another root.
// Tests write fixtures and tamper with files directly: durability is not what they exercise.
#![allow(clippy::disallowed_methods)]
use x0x_dist_test_support::mirror as mirror_support;

use std::path::Path;

use mirror_support::{
    assert_files, bin, fails, fake_release, fetch, import, run_ok, Origin, Server,
};
use x0x_dist_repository::bundle::{tar, Toc};

fn export(args: &[&str], out: &Path) -> serde_json::Value {
    let s = run_ok(
        bin()
            .args(["bundle", "export", "--json", "--out"])
            .arg(out)
            .args(args),
    );
    serde_json::from_str(&s).unwrap()
}

/// Reads every entry of a bundle.
fn entries(file: &Path) -> Vec<(String, Vec<u8>)> {
    let f = std::fs::File::open(file).unwrap();
    let mut r = tar::Reader::new(f);
    let mut out = Vec::new();
    while let Some(e) = r.next_entry().unwrap() {
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut r, &mut data).unwrap();
        out.push((e.name, data));
    }
    out
}

fn write_bundle(file: &Path, entries: &[(String, Vec<u8>)]) {
    let mut out = Vec::new();
    for (name, data) in entries {
        out.extend_from_slice(&tar::header(name, data.len() as u64, 0).unwrap());
        out.extend_from_slice(data);
        out.extend(std::iter::repeat_n(0u8, tar::padding(data.len() as u64)));
    }
    tar::finish(&mut out).unwrap();
    std::fs::write(file, out).unwrap();
}

#[test]
fn export_then_import_into_a_mirror_and_a_cache_then_install() {
    let t = tempfile::tempdir().unwrap();
    let origin = Origin::new(&t.path().join("up"), time::OffsetDateTime::now_utc());
    let arts = fake_release(11);
    origin.release("0.1.0", &arts);
    origin.release("0.2.0", &fake_release(12));
    let b = t.path().join("x0x.bundle");
    let dir = origin.dir.to_str().unwrap();
    let r = export(&["--repo", dir, "--versions", "0.1.0"], &b);
    assert_eq!(r["toc"]["targets"].as_array().unwrap().len(), 4, "{r}");
    assert_eq!(r["toc"]["packages"]["x0x"], serde_json::json!(["0.1.0"]));
    // One plain tar, table of contents first, consistent-snapshot layout; any tar lists it.
    let names: Vec<String> = entries(&b).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names[0], "bundle.json");
    assert!(
        names.contains(&"metadata/1.root.json".to_owned())
            && names.contains(&"metadata/timestamp.json".to_owned())
    );
    assert!(
        names
            .iter()
            .filter(|n| n.starts_with("targets/x0x/0.1.0/"))
            .count()
            == 4,
        "{names:?}"
    );
    if let Ok(o) = std::process::Command::new("tar").arg("tf").arg(&b).output() {
        let listed = String::from_utf8(o.stdout).unwrap();
        assert_eq!(
            listed.lines().collect::<Vec<_>>(),
            names.iter().map(String::as_str).collect::<Vec<_>>()
        );
    }

    // Into an (air-gapped) mirror directory, served without any upstream.
    let m = t.path().join("mirror");
    run_ok(&mut import(&b, &m, &origin.root));
    let mir = Server::start(&m, None, &t.path().join("m.log"));
    // The bundle holds 0.1.0 only (0.2.0's metadata is there, its targets are not).
    run_ok(
        fetch(
            &["--server", &mir.url],
            &origin.root,
            None,
            &t.path().join("o1"),
            &t.path().join("c1"),
        )
        .args(["--version", "0.1.0"]),
    );
    fails(
        &mut fetch(
            &["--server", &mir.url],
            &origin.root,
            None,
            &t.path().join("o0"),
            &t.path().join("c0"),
        ),
        5,
        "target.not_found",
    );
    assert_files(&t.path().join("o1"), &arts);
    // Importing again is idempotent (the mirror's recorded root is used).
    let again = run_ok(
        bin()
            .args(["bundle", "import", "--json"])
            .arg(&b)
            .arg("--repo")
            .arg(&m),
    );
    let again: serde_json::Value = serde_json::from_str(&again).unwrap();
    assert_eq!(again["added"], 0, "{again}");

    // Straight from the file.
    run_ok(
        fetch(
            &["--bundle", b.to_str().unwrap()],
            &origin.root,
            Some("darwin-arm64"),
            &t.path().join("o2"),
            &t.path().join("c2"),
        )
        .args(["--version", "0.1.0"]),
    );
    assert_eq!(
        std::fs::read(t.path().join("o2/x0x.darwin-arm64.node")).unwrap(),
        arts[2].data
    );

    // Into a loader cache; then installs need nothing but the cache.
    let cache = t.path().join("c3");
    run_ok(
        bin()
            .args(["bundle", "import"])
            .arg(&b)
            .arg("--cache")
            .arg(&cache)
            .arg("--root")
            .arg(&origin.root),
    );
    let nowhere = t.path().join("nowhere");
    std::fs::create_dir_all(&nowhere).unwrap();
    run_ok(
        fetch(
            &["--server", nowhere.to_str().unwrap()],
            &origin.root,
            None,
            &t.path().join("o3"),
            &cache,
        )
        .args(["--offline", "--version", "0.1.0"]),
    );
    assert_eq!(
        std::fs::read(t.path().join("o3/x0x.linux-x64-gnu.node")).unwrap(),
        arts[0].data
    );

    // Export from a server URL with a platform filter.
    let up = Server::start(&origin.dir, None, &t.path().join("up.log"));
    let b2 = t.path().join("one.bundle");
    let r = export(
        &[
            "--from",
            &up.url,
            "--root",
            origin.root.to_str().unwrap(),
            "--targets",
            "linux-x64-gnu",
        ],
        &b2,
    );
    let targets = r["toc"]["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 2, "{r}"); // both versions, one platform
    assert!(targets.iter().all(|t| t["platform"] == "linux-x64-gnu"));
}

#[test]
fn damaged_and_forged_bundles_are_refused() {
    let t = tempfile::tempdir().unwrap();
    let origin = Origin::new(&t.path().join("up"), time::OffsetDateTime::now_utc());
    origin.release("0.1.0", &fake_release(21));
    let b = t.path().join("x0x.bundle");
    export(&["--repo", origin.dir.to_str().unwrap()], &b);
    let all = entries(&b);
    let target = all
        .iter()
        .position(|(n, _)| n.ends_with("x0x.linux-x64-gnu.node"))
        .unwrap();

    // Damaged: a byte of a target flipped in the file.
    let mut bytes = std::fs::read(&b).unwrap();
    let needle = &all[target].1[..64];
    let at = bytes.windows(64).position(|w| w == needle).unwrap() + 100;
    bytes[at] ^= 0xff;
    let damaged = t.path().join("damaged.bundle");
    std::fs::write(&damaged, &bytes).unwrap();
    let m = t.path().join("m");
    fails(&mut import(&damaged, &m, &origin.root), 3, "bundle.invalid");
    assert!(
        !m.join("metadata/timestamp.json").exists(),
        "a refused import changed the destination"
    );
    fails(
        &mut fetch(
            &["--bundle", damaged.to_str().unwrap()],
            &origin.root,
            None,
            &t.path().join("o"),
            &t.path().join("c"),
        ),
        3,
        "bundle.invalid",
    );

    // Forged: tampered target AND a table of contents rewritten to match. The TOC is not trusted: the signed
    // metadata is.
    let mut forged = all.clone();
    forged[target].1[100] ^= 0xff;
    let mut toc: Toc = serde_json::from_slice(&forged[0].1).unwrap();
    for e in &mut toc.targets {
        if e.name == forged[target].0 {
            use sha2::Digest as _;
            e.sha256 = hex::encode(sha2::Sha256::digest(&forged[target].1));
        }
    }
    forged[0].1 = serde_json::to_vec(&toc).unwrap();
    let fb = t.path().join("forged.bundle");
    write_bundle(&fb, &forged);
    fails(
        &mut import(&fb, &m, &origin.root),
        4,
        "target.digest_mismatch",
    );
    assert!(!m.join("metadata/timestamp.json").exists());
    fails(
        &mut fetch(
            &["--bundle", fb.to_str().unwrap()],
            &origin.root,
            Some("linux-x64-gnu"),
            &t.path().join("o"),
            &t.path().join("c"),
        ),
        4,
        "target.digest_mismatch",
    );

    // Unsafe entry names are refused before anything is written.
    let mut evil = all.clone();
    evil.push(("targets/../../escape".into(), b"x".to_vec()));
    let mut toc: Toc = serde_json::from_slice(&evil[0].1).unwrap();
    toc.targets.push(x0x_dist_repository::bundle::TocFile {
        name: "targets/../../escape".into(),
        length: 1,
        sha256: "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881".into(),
        target: None,
        platform: None,
    });
    evil[0].1 = serde_json::to_vec(&toc).unwrap();
    let eb = t.path().join("evil.bundle");
    write_bundle(&eb, &evil);
    fails(&mut import(&eb, &m, &origin.root), 3, "bundle.invalid");
    assert!(!t.path().join("escape").exists() && !m.join("escape").exists());

    // A genuine bundle of another repository: its metadata does not verify from this root.
    let other = Origin::new(&t.path().join("other"), time::OffsetDateTime::now_utc());
    other.release("0.1.0", &fake_release(22));
    let ob = t.path().join("other.bundle");
    export(&["--repo", other.dir.to_str().unwrap()], &ob);
    let err = mirror_support::run(&mut import(&ob, &m, &origin.root));
    assert_eq!(
        err.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&err.stderr)
    );
    assert!(String::from_utf8_lossy(&err.stderr).contains("error[metadata."));
}

/// Issue 24: the npm view's release records of the bundled versions travel in the bundle (`npm/` entries,
/// listed under `npm` in bundle.json) and land in the mirror, so an air-gapped mirror serves the origin's npm
/// tarballs byte for byte; records of versions not bundled stay behind.
#[test]
fn npm_release_records_travel_with_their_versions() {
    let t = tempfile::tempdir().unwrap();
    let origin = Origin::new(&t.path().join("up"), time::OffsetDateTime::now_utc());
    origin.release("0.1.0", &fake_release(21));
    origin.release("0.2.0", &fake_release(22));
    let npm = origin.dir.join("npm");
    std::fs::create_dir_all(&npm).unwrap();
    std::fs::write(
        npm.join("x0x-0.1.0.record.json"),
        b"{\"record\": \"0.1.0\"}",
    )
    .unwrap();
    std::fs::write(
        npm.join("x0x-0.2.0.record.json"),
        b"{\"record\": \"0.2.0\"}",
    )
    .unwrap();
    let b = t.path().join("x0x.bundle");
    let r = export(
        &[
            "--repo",
            origin.dir.to_str().unwrap(),
            "--versions",
            "0.1.0",
        ],
        &b,
    );
    assert_eq!(
        r["toc"]["npm"][0]["name"], "npm/x0x-0.1.0.record.json",
        "{r}"
    );
    assert_eq!(r["toc"]["npm"].as_array().unwrap().len(), 1, "{r}");
    let names: Vec<String> = entries(&b).into_iter().map(|(n, _)| n).collect();
    assert!(
        names.contains(&"npm/x0x-0.1.0.record.json".to_owned()),
        "{names:?}"
    );
    let m = t.path().join("mirror");
    run_ok(&mut import(&b, &m, &origin.root));
    assert_eq!(
        std::fs::read(m.join("npm/x0x-0.1.0.record.json")).unwrap(),
        b"{\"record\": \"0.1.0\"}"
    );
    assert!(!m.join("npm/x0x-0.2.0.record.json").exists());
}
