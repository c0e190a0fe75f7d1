//! Crash safety of `bundle import` into a mirror, with the real binary:
//! 1. The durability order, read from the syscalls the import really makes (`strace`): every target's bytes
//!    are `fdatasync`ed before the target is renamed into `targets/`; the directories that received targets
//!    are synced before any metadata is renamed into `metadata/`; every metadata file is synced before its
//!    rename; `timestamp.json` (the commit point) is renamed after every other metadata file. A power loss at
//!    any point therefore leaves the old state or the new one, never metadata naming bytes that were lost.
//!    Re-importing the same bundle writes nothing.
//! 2. `kill -9` at spread points of an import over an existing release: after every kill the mirror verifies
//!    completely, its timestamp is the old or the new one, no partial file is visible, and the next import
//!    (which clears the killed one's staging directory) completes.
use x0x_dist_test_support::crash as crash_checks;
use x0x_dist_test_support::mirror as mirror_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crash_checks::no_partial_files;
use mirror_support::{artifact, bin, bytes, fake_release, import, run_ok, Origin};

fn export(origin: &Origin, version: &str, out: &Path) {
    run_ok(
        bin()
            .args(["bundle", "export", "--repo"])
            .arg(&origin.dir)
            .args(["--versions", version, "--out"])
            .arg(out),
    );
}

#[derive(Debug, PartialEq)]
enum Ev {
    /// fsync/fdatasync of the file or directory at this path.
    Sync(PathBuf),
    /// rename(from, to).
    Rename(PathBuf, PathBuf),
}

/// The sync and rename calls of one traced run (`strace -f -y`), in order, paths made absolute under `cwd`.
fn parse_trace(text: &str, cwd: &Path) -> Vec<Ev> {
    let abs = |p: &str| {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_owned()
        } else {
            cwd.join(p)
        }
    };
    let quoted =
        |s: &str| -> Vec<String> { s.split('"').skip(1).step_by(2).map(str::to_owned).collect() };
    let mut out = Vec::new();
    // A call interrupted by another thread's is split: "PID call(args <unfinished ...>" then, when it
    // returns, "PID <... call resumed>rest) = 0". The event counts when the call returned.
    let mut pending: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    for line in text.lines() {
        let Some((pid, rest)) = line.split_once(' ') else {
            continue;
        };
        let rest = rest.trim_start();
        let call = if let Some(start) = rest.strip_suffix("<unfinished ...>") {
            pending.insert(pid.to_owned(), start.to_owned());
            continue;
        } else if rest.starts_with("<... ") {
            let (Some(start), Some((_, tail))) = (pending.remove(pid), rest.split_once("resumed>"))
            else {
                continue;
            };
            format!("{start}{tail}")
        } else {
            rest.to_owned()
        };
        if !call.trim_end().ends_with("= 0") {
            continue;
        }
        if call.starts_with("fsync(") || call.starts_with("fdatasync(") {
            let path = call.split('<').nth(1).and_then(|s| s.split('>').next());
            out.push(Ev::Sync(abs(path.expect("strace -y prints fd paths"))));
        } else if call.starts_with("rename") {
            let q = quoted(&call);
            assert_eq!(q.len(), 2, "{call}");
            out.push(Ev::Rename(abs(&q[0]), abs(&q[1])));
        }
    }
    out
}

fn strace() -> bool {
    let found = Command::new("strace").arg("-V").output().is_ok();
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI installs strace (scripts/setup.d/70-mirror.sh)"
        );
        eprintln!("skipped: strace is not installed");
    }
    found
}

fn traced_import(bundle: &Path, mirror: &Path, root: &Path, trace: &Path) -> Vec<Ev> {
    let imp = import(bundle, mirror, root);
    let mut c = Command::new("strace");
    c.args(["-f", "-y", "-qq", "-s", "4096", "-e"])
        .arg("trace=fsync,fdatasync,rename,renameat,renameat2")
        .arg("-o")
        .arg(trace)
        .arg(imp.get_program())
        .args(imp.get_args());
    run_ok(&mut c);
    parse_trace(
        &std::fs::read_to_string(trace).unwrap(),
        &std::env::current_dir().unwrap(),
    )
}

#[test]
fn import_makes_targets_durable_before_the_metadata_that_names_them() {
    if !strace() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let origin = Origin::new(&t.path().join("up"), time::OffsetDateTime::now_utc());
    origin.release("0.1.0", &fake_release(1));
    let b = t.path().join("b.bundle");
    export(&origin, "0.1.0", &b);
    let m = t.path().join("mirror");
    let ev = traced_import(&b, &m, &origin.root, &t.path().join("trace1"));

    let (targets, metadata) = (m.join("targets"), m.join("metadata"));
    let renamed = |under: &Path| -> Vec<(usize, &PathBuf, &PathBuf)> {
        ev.iter()
            .enumerate()
            .filter_map(|(i, e)| match e {
                Ev::Rename(from, to) if to.starts_with(under) => Some((i, from, to)),
                _ => None,
            })
            .collect()
    };
    let synced_before = |path: &Path, before: usize| {
        ev[..before]
            .iter()
            .any(|e| matches!(e, Ev::Sync(p) if p == path))
    };
    let target_renames = renamed(&targets);
    let meta_renames = renamed(&metadata);
    assert_eq!(target_renames.len(), 4, "{ev:#?}");
    assert!(!meta_renames.is_empty(), "{ev:#?}");
    let first_meta = meta_renames[0].0;
    let last_target = target_renames.last().unwrap().0;
    for (i, from, to) in &target_renames {
        assert!(
            synced_before(from, *i),
            "{} renamed into place before its bytes were synced: {ev:#?}",
            to.display()
        );
        assert!(*i < first_meta, "a target moved in after the metadata");
        // Its directory (and every directory created for it) is synced after it arrived, before metadata.
        let mut dir = to.parent().unwrap();
        while dir.starts_with(&targets) {
            assert!(
                ev[last_target..first_meta]
                    .iter()
                    .any(|e| matches!(e, Ev::Sync(p) if p == dir)),
                "{} not synced between the target renames and the metadata: {ev:#?}",
                dir.display()
            );
            dir = dir.parent().unwrap();
        }
    }
    for (i, from, to) in &meta_renames {
        assert!(
            synced_before(from, *i),
            "{} renamed before it was synced",
            to.display()
        );
    }
    let ts = meta_renames
        .iter()
        .position(|(_, _, to)| to.ends_with("timestamp.json"))
        .expect("timestamp.json written");
    for (k, (_, _, to)) in meta_renames.iter().enumerate() {
        let name = to.file_name().unwrap();
        assert!(
            k <= ts || name == "root.json",
            "{} written after the commit point (timestamp.json)",
            to.display()
        );
    }
    origin.verify(&m);

    // The same bundle again: nothing is written, nothing renamed.
    let again = traced_import(&b, &m, &origin.root, &t.path().join("trace2"));
    assert!(
        !again.iter().any(|e| matches!(e, Ev::Rename(..))),
        "re-import wrote files: {again:#?}"
    );
}

fn timestamp_version(repo: &Path) -> u64 {
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(repo.join("metadata/timestamp.json")).unwrap())
            .unwrap();
    v["signed"]["version"].as_u64().unwrap()
}

#[test]
#[ignore = "slow (~1 min): run by .ci/stages/70-mirror.sh with --include-ignored"]
fn kill_9_during_imports_leaves_the_old_or_the_new_state() {
    const ROUNDS: u64 = 20;
    let t = tempfile::tempdir().unwrap();
    let origin = Origin::new(&t.path().join("up"), time::OffsetDateTime::now_utc());
    origin.release("1.0.0", &fake_release(1));
    let b1 = t.path().join("b1.bundle");
    export(&origin, "1.0.0", &b1);
    // A bigger second release (4 x 6 MiB) so that kills land while targets are unpacked and moved in.
    origin.release(
        "2.0.0",
        &[
            artifact("x0x.linux-x64-gnu.node", bytes(21, 6 << 20)),
            artifact("x0x.linux-arm64-gnu.node", bytes(22, 6 << 20)),
            artifact("x0x.darwin-arm64.node", bytes(23, 6 << 20)),
            artifact("x0x.wasm32-wasip1.wasm", bytes(24, 6 << 20)),
        ],
    );
    let b2 = t.path().join("b2.bundle");
    export(&origin, "2.0.0", &b2);
    let (mut old_seen, mut new_seen) = (0, 0);
    let mut new_version = 0;
    let mut debris = 0;
    // The imports' own temporary directory: a killed import must leave nothing outside the repository
    // either (it once wrote the trusted root to a temporary file there, which a kill left behind).
    let scratch = t.path().join("tmp");
    std::fs::create_dir(&scratch).unwrap();
    for i in 0..ROUNDS {
        let m = t.path().join(format!("m{i}"));
        run_ok(&mut import(&b1, &m, &origin.root));
        let old = timestamp_version(&m);
        let mut child = import(&b2, &m, &origin.root)
            .env("TMPDIR", &scratch)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Spread the kills over the whole import: unpacking, syncing, verifying, moving in, the commit.
        std::thread::sleep(Duration::from_millis(2 + (i * 23) % 300));
        child.kill().unwrap(); // SIGKILL
        let finished = child.wait().unwrap().success();
        origin.verify(&m);
        debris += no_partial_files(&m, true);
        let outside: Vec<_> = std::fs::read_dir(&scratch).unwrap().collect();
        assert!(
            outside.is_empty(),
            "round {i}: the killed import left {} files in its TMPDIR",
            outside.len()
        );
        let v = timestamp_version(&m);
        if v == old {
            old_seen += 1;
            assert!(
                !finished,
                "round {i}: the import succeeded but the old state is visible"
            );
        } else {
            new_seen += 1;
            new_version = v;
            assert!(v > old, "round {i}: timestamp {v} after {old}");
        }
        // The next import clears the killed one's staging directory and temporary files, and completes.
        run_ok(&mut import(&b2, &m, &origin.root));
        origin.verify(&m);
        no_partial_files(&m, false);
        assert!(timestamp_version(&m) > old);
        let staging: Vec<_> = std::fs::read_dir(m.join("mirror"))
            .unwrap()
            .filter_map(|e| {
                let n = e.unwrap().file_name().to_string_lossy().into_owned();
                n.starts_with("import-").then_some(n)
            })
            .collect();
        assert!(
            staging.is_empty(),
            "round {i}: staging left behind: {staging:?}"
        );
        std::fs::remove_dir_all(&m).unwrap();
    }
    eprintln!(
        "{ROUNDS} kills: {old_seen} left the old state, {new_seen} the new one (v{new_version}); \
         {debris} temporary metadata files left mid-write and removed by the next import"
    );
    // The kills must land mid-import, or this tests nothing.
    assert!(old_seen > 0, "every import finished before its kill");
}
