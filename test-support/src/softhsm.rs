//! A private SoftHSM2 token for the PKCS#11 tests (Debian `softhsm2` for the module and `softhsm2-util`, `opensc`
//! for `pkcs11-tool`, which generates the keys on the token: scripts/setup.d/35-softhsm.sh installs both).
//! Each [`SoftHsm`] has its own token directory and config (`SOFTHSM2_CONF`), so tests never share a token.
//! Outside CI a missing package skips the test loudly; in CI (`CI=true`) it fails.

use std::path::{Path, PathBuf};
use std::process::Command;

/// SoftHSM2's PKCS#11 module on Debian.
pub const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
/// The user PIN of every test token.
pub const PIN: &str = "246810";

/// A fresh token in a temporary directory.
pub struct SoftHsm {
    dir: tempfile::TempDir,
    /// The token's label.
    pub label: String,
}

fn have(tool: &str) -> bool {
    Command::new(tool).arg("--help").output().is_ok()
}

impl SoftHsm {
    /// A new initialized token labelled `label` (user PIN [`PIN`]), or `None` when SoftHSM2 or pkcs11-tool is
    /// missing outside CI (printed). Panics in CI when they are missing.
    pub fn new(label: &str) -> Option<Self> {
        let missing: Vec<&str> = [
            (
                "softhsm2 (/usr/lib/softhsm/libsofthsm2.so)",
                Path::new(MODULE).exists(),
            ),
            ("softhsm2 (softhsm2-util)", have("softhsm2-util")),
            ("opensc (pkcs11-tool)", have("pkcs11-tool")),
        ]
        .into_iter()
        .filter_map(|(what, ok)| (!ok).then_some(what))
        .collect();
        if !missing.is_empty() {
            let msg = format!(
                "the PKCS#11 tests need {}: run scripts/setup.d/35-softhsm.sh",
                missing.join(", ")
            );
            assert!(std::env::var("CI").as_deref() != Ok("true"), "{msg}");
            eprintln!("SKIPPED (not in CI): {msg}");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("tokens")).unwrap();
        std::fs::write(
            dir.path().join("softhsm2.conf"),
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                dir.path().join("tokens").display()
            ),
        )
        .unwrap();
        std::fs::write(dir.path().join("pin"), format!("{PIN}\n")).unwrap();
        let hsm = SoftHsm {
            dir,
            label: label.to_owned(),
        };
        hsm.tool(
            "softhsm2-util",
            &[
                "--init-token",
                "--free",
                "--label",
                label,
                "--so-pin",
                "13579",
                "--pin",
                PIN,
            ],
        );
        Some(hsm)
    }

    /// The config file every process using this token needs as `SOFTHSM2_CONF`.
    pub fn conf(&self) -> PathBuf {
        self.dir.path().join("softhsm2.conf")
    }

    /// A file holding the user PIN (for `pin-source=file:`).
    pub fn pin_file(&self) -> PathBuf {
        self.dir.path().join("pin")
    }

    /// Points `cmd` at this token (`SOFTHSM2_CONF`), with no PIN in its environment.
    pub fn env<'c>(&self, cmd: &'c mut Command) -> &'c mut Command {
        cmd.env("SOFTHSM2_CONF", self.conf())
            .env_remove("X0X_DIST_PKCS11_PIN")
            .env_remove("X0X_DIST_PKCS11_MODULE")
    }

    fn tool(&self, tool: &str, args: &[&str]) -> String {
        let out = Command::new(tool)
            .args(args)
            .env("SOFTHSM2_CONF", self.conf())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{tool} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Generates a key pair on the token (`key_type`: `EC:prime256v1`, `EC:secp384r1`, `EC:edwards25519`, as
    /// pkcs11-tool names them) with label `object` and id `id` (hex); returns its URI without a PIN source.
    pub fn generate(&self, key_type: &str, object: &str, id: &str) -> String {
        self.tool(
            "pkcs11-tool",
            &[
                "--module",
                MODULE,
                "--token-label",
                &self.label,
                "--login",
                "--pin",
                PIN,
                "--keypairgen",
                "--key-type",
                key_type,
                "--label",
                object,
                "--id",
                id,
            ],
        );
        self.uri(object)
    }

    /// The URI of `object` on this token, PIN from the environment.
    pub fn uri(&self, object: &str) -> String {
        format!("pkcs11:token={};object={object}", self.label)
    }

    /// The URI of `object` with `pin-source=file:` this token's PIN file.
    pub fn uri_with_pin_file(&self, object: &str) -> String {
        format!(
            "{}?pin-source=file:{}",
            self.uri(object),
            self.pin_file().display()
        )
    }
}
