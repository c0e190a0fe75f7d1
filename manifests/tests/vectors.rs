//! Runs every shared test vector in `manifests/vectors/` (the same vectors the JavaScript loader runs).

use std::path::{Path, PathBuf};

use serde_json::Value;
use x0x_dist_manifests::codes::Coded as _;
use x0x_dist_manifests::verify::{Lookup, TrustedSet};
use x0x_dist_manifests::{cjson::datetime, Error, Platform, TargetName, TargetPath};

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors")
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(vectors().join(rel)).unwrap_or_else(|e| panic!("reading {rel}: {e}"))
}

fn run_step(
    set: &mut Option<TrustedSet>,
    now: time::OffsetDateTime,
    step: &Value,
) -> Result<(), Error> {
    let op = step["op"].as_str().unwrap();
    let s = |k: &str| {
        step[k]
            .as_str()
            .unwrap_or_else(|| panic!("step {op} needs {k}"))
    };
    match op {
        "root" => *set = Some(TrustedSet::new(&read(s("file")), now)?),
        "update_root" => set.as_mut().unwrap().update_root(&read(s("file")))?,
        "timestamp" => set.as_mut().unwrap().update_timestamp(&read(s("file")))?,
        "snapshot" => set.as_mut().unwrap().update_snapshot(&read(s("file")))?,
        "targets" => set.as_mut().unwrap().update_targets(&read(s("file")))?,
        "delegated" => {
            set.as_mut()
                .unwrap()
                .update_delegated(&read(s("file")), s("role"), s("delegator"))?;
        }
        "target" => {
            // As the loaders: a path used as a package artifact must have the package shape.
            s("path").parse::<TargetPath>()?;
            let set = set.as_ref().unwrap();
            match set.resolve_target(s("path"))? {
                Lookup::Found { target, .. } => target.verify(s("path"), &read(s("file")))?,
                Lookup::NeedRole { role, .. } => panic!("vector did not load role {role}"),
            }
        }
        "target_name" => drop(s("value").parse::<TargetName>()?),
        "target_path" => drop(s("value").parse::<TargetPath>()?),
        "platform_file" => drop(Platform::parse_file_name(s("value"))?),
        "platform_name" => drop(Platform::from_name(s("value"))?),
        other => panic!("unknown op {other}"),
    }
    Ok(())
}

#[test]
fn every_vector_gives_its_expected_result() {
    let index: Value = serde_json::from_slice(&read("index.json")).unwrap();
    let cases = index["cases"].as_array().unwrap();
    assert!(cases.len() >= 30, "expected the full vector set");
    let mut failures = Vec::new();
    for name in cases {
        let name = name.as_str().unwrap();
        let case: Value = serde_json::from_slice(&read(&format!("cases/{name}.json"))).unwrap();
        let now = datetime::parse(case["now"].as_str().unwrap()).unwrap();
        let expect = &case["expect"];
        let mut set = None;
        let mut outcome = Ok(());
        for (i, step) in case["steps"].as_array().unwrap().iter().enumerate() {
            if let Err(e) = run_step(&mut set, now, step) {
                outcome = Err((i, e));
                break;
            }
        }
        let got = match &outcome {
            Ok(()) => "ok".to_owned(),
            Err((i, e)) => format!("error {} at step {i} ({e})", e.code()),
        };
        let matches = match (expect["result"].as_str(), &outcome) {
            (Some("ok"), Ok(())) => true,
            (Some("error"), Err((i, e))) => {
                expect["code"] == e.code().as_str() && expect["step"] == *i
            }
            _ => false,
        };
        if !matches {
            failures.push(format!("{name}: expected {expect}, got {got}"));
        }
    }
    assert!(
        failures.is_empty(),
        "vector failures:\n{}",
        failures.join("\n")
    );
}

#[test]
fn valid_repository_roundtrips_byte_for_byte() {
    // Parsing and re-emitting keeps every byte the signatures cover (unknown fields included).
    for f in [
        "1.root.json",
        "2.root.json",
        "1.targets.json",
        "1.x0x.json",
        "1.snapshot.json",
        "timestamp.json",
    ] {
        let bytes = read(&format!("repo/metadata/{f}"));
        let re = match f {
            "1.root.json" | "2.root.json" => {
                x0x_dist_manifests::Signed::<x0x_dist_manifests::Root>::from_slice(&bytes)
                    .unwrap()
                    .to_bytes()
            }
            "1.snapshot.json" => {
                x0x_dist_manifests::Signed::<x0x_dist_manifests::Snapshot>::from_slice(&bytes)
                    .unwrap()
                    .to_bytes()
            }
            "timestamp.json" => {
                x0x_dist_manifests::Signed::<x0x_dist_manifests::Timestamp>::from_slice(&bytes)
                    .unwrap()
                    .to_bytes()
            }
            _ => x0x_dist_manifests::Signed::<x0x_dist_manifests::Targets>::from_slice(&bytes)
                .unwrap()
                .to_bytes(),
        };
        assert_eq!(re, bytes, "{f}");
    }
    let t = x0x_dist_manifests::Signed::<x0x_dist_manifests::Targets>::from_slice(&read(
        "repo/metadata/1.targets.json",
    ))
    .unwrap();
    assert!(t.signed().extra.contains_key("x-x0x-note"));
}
