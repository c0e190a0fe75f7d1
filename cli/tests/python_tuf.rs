//! An independent TUF client (python-tuf's ngclient) refreshes from the running server and downloads targets
//! published through the upload API. Needs `.toolchains/venv` with `tuf` (scripts/setup.sh installs it), so it
//! is ignored by a plain `cargo test` and run by `.ci/stages/40-server.sh`.
// Tests write fixtures and tamper with files directly: durability is not what they exercise.
#![allow(clippy::disallowed_methods)]
use x0x_dist_test_support::fixture as common;

use common::cli::{free_port, publish, run_ok, setup_repo, start_server};

const CLIENT: &str = r#"
import os, sys
from tuf.ngclient import Updater
base, root, work = sys.argv[1], sys.argv[2], sys.argv[3]
pairs = sys.argv[4:]
md, dl = os.path.join(work, "metadata"), os.path.join(work, "dl")
os.makedirs(md); os.makedirs(dl)
u = Updater(metadata_dir=md, metadata_base_url=base + "/tuf/metadata/", target_base_url=base + "/tuf/targets/",
            target_dir=dl, bootstrap=open(root, "rb").read())
u.refresh()
for target, expect in zip(pairs[::2], pairs[1::2]):
    info = u.get_targetinfo(target)
    assert info is not None, f"{target} not found by python-tuf"
    path = u.download_target(info)
    assert open(path, "rb").read() == open(expect, "rb").read(), target
    print("ok", target, info.length, info.custom.get("target"))
assert u.get_targetinfo("x0x/9.9.9/x0x.wasm32-wasip1.wasm") is None
"#;

#[test]
#[ignore = "needs python-tuf in .toolchains/venv: run by .ci/stages/40-server.sh"]
fn python_tuf_downloads_from_the_server() {
    let venv = std::env::var("X0X_TOOLCHAINS").map_or_else(
        |_| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.toolchains"),
        std::path::PathBuf::from,
    );
    let python = venv.join("venv/bin/python");
    assert!(
        python.exists(),
        "{} missing: run scripts/setup.sh",
        python.display()
    );
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let (key, token) = setup_repo(&repo);
    let port = free_port();
    let mut server = start_server(&repo, port);
    let url = format!("http://127.0.0.1:{port}");
    let dist = tmp.path().join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::copy("/bin/true", dist.join("x0x.linux-x64-gnu.node")).unwrap();
    std::fs::write(
        dist.join("x0x.wasm32-wasip1.wasm"),
        x0x_dist_loader::artifact::minimal_build(
            x0x_dist_manifests::Platform::Wasm32Wasip1,
            &vec![42u8; 300_000],
        ),
    )
    .unwrap();
    for (version, files) in [
        ("0.3.0", vec!["x0x.wasm32-wasip1.wasm"]),
        (
            "0.3.1",
            vec!["x0x.linux-x64-gnu.node", "x0x.wasm32-wasip1.wasm"],
        ),
    ] {
        let mut cmd = publish(&url, &token, &key, version);
        for f in files {
            cmd.arg(dist.join(f));
        }
        run_ok(&mut cmd);
    }
    let out = std::process::Command::new(&python)
        .arg("-c")
        .arg(CLIENT)
        .arg(&url)
        .arg(repo.join("metadata/1.root.json"))
        .arg(tmp.path().join("pytuf")) // the client's metadata and downloads, removed with `tmp`
        .args(["x0x/0.3.1/x0x.linux-x64-gnu.node"])
        .arg(dist.join("x0x.linux-x64-gnu.node"))
        .args(["x0x/0.3.0/x0x.wasm32-wasip1.wasm"])
        .arg(dist.join("x0x.wasm32-wasip1.wasm"))
        .output()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "python-tuf failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("ok x0x/0.3.1/x0x.linux-x64-gnu.node")
            && stdout.contains("x86_64-unknown-linux-gnu"),
        "{stdout}"
    );
}
