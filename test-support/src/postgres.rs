//! A private PostgreSQL cluster for a test: `initdb` into a temporary directory, `pg_ctl start` on a loopback
//! port, stopped (`-m immediate`) and removed on drop. Debian's `postgresql` package provides the binaries
//! (`scripts/setup.d/50-postgres.sh` installs it); PostgreSQL refuses to run as root, so as root the cluster runs
//! as the `postgres` user (`runuser -u postgres --`), its directory owned by that user.
//!
//! One helper for every test that needs a database (server/tests/coordinator.rs, cli/tests): [`Postgres::start`],
//! [`Postgres::url`], and [`Postgres::stop`] / [`Postgres::restart`] for the tests that take the database away
//! mid-run.
use std::path::{Path, PathBuf};
use std::process::Command;

/// A running private cluster.
#[derive(Debug)]
pub struct Postgres {
    dir: tempfile::TempDir,
    port: u16,
    running: bool,
}

/// The directory holding `initdb` and `pg_ctl`: `X0X_PG_BIN`, else the newest `/usr/lib/postgresql/*/bin`.
pub fn bin_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("X0X_PG_BIN") {
        return PathBuf::from(p);
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("pg_ctl").exists())
        .collect();
    found.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    found.pop().unwrap_or_else(|| {
        panic!(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/pg_ctl): run scripts/setup.d/50-postgres.sh \
             (Debian package `postgresql`) or set X0X_PG_BIN"
        )
    })
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// `bin/<tool> args…`, as the `postgres` user when we are root.
fn run(tool: &str, args: &[&str]) -> std::process::Output {
    let exe = bin_dir().join(tool);
    let mut cmd = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(&exe);
        c
    } else {
        Command::new(&exe)
    };
    cmd.args(args).env_remove("PGDATA");
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", exe.display()));
    out
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl Postgres {
    /// Creates and starts a cluster (trust authentication on loopback, user `postgres`, database `postgres`).
    pub fn start() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("x0x-pg")
            .tempdir()
            .expect("temp dir");
        if is_root() {
            let st = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .expect("chown");
            assert!(st.success(), "chown postgres {}", dir.path().display());
        }
        let data = dir.path().join("data");
        let out = run(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        );
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut pg = Self {
            dir,
            port: free_port(),
            running: false,
        };
        pg.restart();
        pg
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The connection URL (`postgres://postgres@127.0.0.1:PORT/postgres`).
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// The cluster's directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Starts the (stopped) cluster again on the same port and waits until it accepts connections.
    pub fn restart(&mut self) {
        let data = self.data();
        let log = self.dir.path().join("log");
        let opts = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off -c max_connections=200",
            self.port,
            self.dir.path().display()
        );
        let out = run(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-l",
                log.to_str().unwrap(),
                "-o",
                &opts,
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
        assert!(
            out.status.success(),
            "pg_ctl start failed: {}{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        self.running = true;
    }

    /// Stops the cluster at once (`-m immediate`: connections drop, as when the database host dies).
    pub fn stop(&mut self) {
        if !self.running {
            return;
        }
        let out = run(
            "pg_ctl",
            &[
                "-D",
                self.data().to_str().unwrap(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
        );
        assert!(
            out.status.success(),
            "pg_ctl stop failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.running = false;
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if self.running {
            let _ = run(
                "pg_ctl",
                &[
                    "-D",
                    self.data().to_str().unwrap_or_default(),
                    "-m",
                    "immediate",
                    "stop",
                ],
            );
        }
    }
}
