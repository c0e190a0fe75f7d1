//! Metadata parsing and verification on arbitrary bytes: must never panic, hang or accept garbage.
//!
//! The first byte picks what the rest is: any role envelope parsed standalone, or a step of the client
//! workflow on top of the shared vector repository (trusted root, timestamp, snapshot, targets, the delegated
//! `x0x` role, a target's bytes), or a target path / artifact file name. Invariants checked besides "no panic":
//! canonical JSON of any strictly parsed value re-parses to the same value, and a parsed envelope re-emits
//! bytes that parse to the same canonical signed bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use x0x_dist_manifests::verify::TrustedSet;
use x0x_dist_manifests::{
    cjson, Platform, Role, Root, Signed, Snapshot, TargetPath, Targets, Timestamp,
};

const ROOT1: &[u8] = include_bytes!("../../manifests/vectors/repo/metadata/1.root.json");
const ROOT2: &[u8] = include_bytes!("../../manifests/vectors/repo/metadata/2.root.json");
const TS: &[u8] = include_bytes!("../../manifests/vectors/repo/metadata/timestamp.json");
const SNAP: &[u8] = include_bytes!("../../manifests/vectors/repo/metadata/1.snapshot.json");
const TARGETS: &[u8] = include_bytes!("../../manifests/vectors/repo/metadata/1.targets.json");

fn roundtrip<T: Role>(data: &[u8]) {
    if let Ok(s) = Signed::<T>::from_slice(data) {
        let again = Signed::<T>::from_slice(&s.to_bytes()).expect("re-emitted metadata parses");
        assert_eq!(again.canonical_signed(), s.canonical_signed());
    }
}

fn now() -> time::OffsetDateTime {
    cjson::datetime::parse("2030-01-01T00:00:00Z").unwrap()
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    match sel % 12 {
        0 => roundtrip::<Root>(rest),
        1 => roundtrip::<Targets>(rest),
        2 => roundtrip::<Snapshot>(rest),
        3 => roundtrip::<Timestamp>(rest),
        4 => {
            if let Ok(v) = cjson::parse_strict(rest, 1 << 20, "fuzz") {
                if let Ok(c) = cjson::canonical(&v) {
                    // OLPC canonical JSON (like securesystemslib's) leaves control characters unescaped, so
                    // such bytes are signed but are not JSON; everything else must re-parse to the same value.
                    match cjson::parse_strict(&c, usize::MAX, "fuzz") {
                        Ok(back) => assert_eq!(back, v),
                        Err(_) => {
                            assert!(c.iter().any(|&b| b < 0x20), "canonical JSON does not parse")
                        }
                    }
                }
            }
        }
        5 => {
            let _ = TrustedSet::new(rest, now());
        }
        6 => {
            if let Ok(mut set) = TrustedSet::new(ROOT1, now()) {
                let _ = set.update_root(rest);
            }
        }
        7 => {
            let mut set = TrustedSet::new(ROOT1, now()).unwrap();
            set.update_root(ROOT2).unwrap();
            let _ = set.update_timestamp(rest);
        }
        8 | 9 | 10 => {
            let mut set = TrustedSet::new(ROOT1, now()).unwrap();
            set.update_root(ROOT2).unwrap();
            set.update_timestamp(TS).unwrap();
            if sel % 12 == 8 {
                let _ = set.update_snapshot(rest);
                return;
            }
            set.update_snapshot(SNAP).unwrap();
            if sel % 12 == 9 {
                let _ = set.update_targets(rest);
                return;
            }
            set.update_targets(TARGETS).unwrap();
            // Any role version 1 validly signed by publisher-a is legitimately accepted here (snapshot pins
            // versions, not hashes); the check is that nothing else is and nothing panics.
            let _ = set.update_delegated(rest, "x0x", "targets");
        }
        _ => {
            if let Ok(s) = std::str::from_utf8(rest) {
                if let Ok(p) = s.parse::<TargetPath>() {
                    assert!(!p.as_str().contains(".."));
                    assert!(!p.as_str().starts_with('/'));
                }
                let _ = Platform::parse_file_name(s);
            }
        }
    }
});
