//! Driving the real `x0x-dist` binary: running it, expecting a code, waiting for a server it started.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The `x0x-dist` binary cargo built for the running test: `$X0X_DIST_BIN` if set, else `x0x-dist` in the
/// profile directory of the test executable (`target/<profile>/deps/<test>` → `target/<profile>/x0x-dist`).
/// Cargo builds the binary before it runs the integration tests of the `x0x-dist` package; a test of another
/// package that needs it must build it first (`cargo build -p x0x-dist`).
pub fn bin_path() -> PathBuf {
    if let Some(p) = std::env::var_os("X0X_DIST_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("the test executable's path");
    let profile = exe
        .parent()
        .and_then(Path::parent)
        .expect("a test executable lives in target/<profile>/deps/");
    let bin = profile.join(format!("x0x-dist{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "{} is missing: build it with `cargo build -p x0x-dist` (or set X0X_DIST_BIN)",
        bin.display()
    );
    bin
}

pub fn bin() -> Command {
    Command::new(bin_path())
}

/// `x0x-dist package add --repo REPO NAME --publisher-key PUBLIC_KEY`, ready to run (or to extend).
pub fn package_add(repo: &Path, name: &str, public_key: &Path) -> Command {
    let mut cmd = bin();
    cmd.args(["package", "add", "--repo"])
        .arg(repo)
        .arg(name)
        .arg("--publisher-key")
        .arg(public_key);
    cmd
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap()
}

/// Runs `cmd`, expects success; returns stdout.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs `cmd`, expects it to fail with exit `status` and `error[<code>]` on stderr; returns stderr.
pub fn fails(cmd: &mut Command, status: i32, code: &str) -> String {
    let out = run(cmd);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(status), "{cmd:?}: {err}");
    assert!(
        err.contains(&format!("error[{code}]")),
        "{cmd:?}: expected {code}: {err}"
    );
    err
}

/// `x0x-dist publish` of x0x `version` to the server at `url` with `token` and the publisher `key`; the
/// caller adds the files.
pub fn publish(url: &str, token: &str, key: &Path, version: &str) -> Command {
    let mut cmd = bin();
    cmd.args(["publish", "--server", url, "--token", token, "--key"])
        .arg(key)
        .args(["--package", "x0x", "--version", version]);
    cmd
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until the server `child` listening on `port` answers `GET /healthz` with 200, for up to 60 s. An
/// HTTP answer, not a TCP connect: the server binds before it opens the repository (which is when it
/// clears `tmp/`), and the kernel accepts connections into the backlog from the bind on, so a connect
/// alone raced the startup (crash_recovery saw an uncleaned `tmp/` under load). Panics with `log()` if the
/// child exits or the deadline passes.
pub fn wait_healthy(child: &mut Child, port: u16, log: impl Fn() -> String) {
    use std::io::{Read as _, Write as _};
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Some(st) = child.try_wait().unwrap() {
            panic!("server exited with {st} before it was ready: {}", log());
        }
        let answer = std::net::TcpStream::connect(("127.0.0.1", port)).and_then(|mut s| {
            s.set_read_timeout(Some(Duration::from_secs(5)))?;
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")?;
            let mut head = [0u8; 12];
            s.read_exact(&mut head)?;
            Ok(head)
        });
        if answer.is_ok_and(|h| h == *b"HTTP/1.1 200") {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("server did not answer /healthz within 60 s: {}", log());
}

/// One HTTP/1.1 request to the server on `port` (loopback, `Connection: close`, a JSON body when not empty);
/// the status and the body.
pub fn request(port: u16, method: &str, path: &str, body: &str) -> (u16, String) {
    use std::io::{Read as _, Write as _};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect to the server");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = out
        .split_once("\r\n\r\n")
        .map(|x| x.1.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// [`start_server`] with more `serve` arguments (`--config FILE`, `--database URL`, ...).
pub fn start_server_with(repo: &Path, port: u16, extra: &[&std::ffi::OsStr]) -> Child {
    let mut child = bin()
        .args(["serve", "--repo"])
        .arg(repo)
        .args(["--listen", &format!("127.0.0.1:{port}"), "--log", "warn"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_healthy(&mut child, port, || {
        format!("{} on port {port}", repo.display())
    });
    child
}

pub fn start_server(repo: &Path, port: u16) -> Child {
    let mut child = bin()
        .args(["serve", "--repo"])
        .arg(repo)
        .args(["--listen", &format!("127.0.0.1:{port}"), "--log", "warn"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_healthy(&mut child, port, || {
        format!("{} on port {port}", repo.display())
    });
    child
}

/// Follows the piped stderr of `child` on a thread and blocks until a line contains `needle` (for up to
/// 60 s; panics with what was printed if stderr closes first or the deadline passes). Returns the thread,
/// which yields the whole stderr once the child exits. For "waits while ..." tests: proving that the child
/// reached the wait, instead of sleeping a fixed time and hoping it did.
pub fn await_stderr(child: &mut Child, needle: &str) -> std::thread::JoinHandle<String> {
    use std::io::BufRead as _;
    let stderr = child.stderr.take().expect("stderr is piped");
    let (tx, rx) = std::sync::mpsc::channel();
    let want = needle.to_owned();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        let mut tx = Some(tx);
        for line in std::io::BufReader::new(stderr).lines() {
            let line = line.unwrap_or_default();
            if line.contains(&want) {
                if let Some(tx) = tx.take() {
                    let _ = tx.send(());
                }
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    if rx.recv_timeout(Duration::from_secs(60)).is_err() {
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "no stderr line containing {needle:?} within 60 s: {}",
            reader.join().unwrap()
        );
    }
    reader
}

/// `init` + a publisher key + `package add x0x` + a token; returns (key file, token).
pub fn setup_repo(repo: &Path) -> (PathBuf, String) {
    run_ok(bin().args(["init", "--repo"]).arg(repo));
    let key = repo.parent().unwrap().join("publisher.key");
    run_ok(bin().args(["keygen", "--out"]).arg(&key));
    run_ok(
        bin()
            .args(["package", "add", "--repo"])
            .arg(repo)
            .arg("x0x")
            .arg("--publisher-key")
            .arg(key.with_extension("key.pub")),
    );
    let token = run_ok(
        bin()
            .args(["token", "create", "--repo"])
            .arg(repo)
            .args(["--package", "x0x"]),
    )
    .trim()
    .to_owned();
    (key, token)
}

/// A server process the test started: killed (and reaped) when dropped.
#[derive(Debug)]
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `x0x-dist serve --listen 127.0.0.1:PORT --log info` plus what `args` adds (the repository, the database, …),
/// its stderr in `log`; returns once it answers `/healthz`.
pub fn serve_with(port: u16, log: &Path, args: impl FnOnce(&mut Command)) -> Server {
    let mut c = bin();
    c.arg("serve")
        .args(["--listen", &format!("127.0.0.1:{port}"), "--log", "info"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap());
    args(&mut c);
    let mut child = c.spawn().unwrap();
    wait_healthy(&mut child, port, || {
        std::fs::read_to_string(log).unwrap_or_default()
    });
    Server(child)
}

/// Where a test's repository lives for the commands it runs: the directory, or a copy in a fresh prefix of a real
/// S3 engine's bucket (`X0X_S3_ENV`).
#[derive(Debug)]
pub enum At {
    /// The directory.
    Dir(PathBuf),
    /// The bucket prefix, an endpoint of the engine, the engine's env file.
    S3 {
        /// `s3://BUCKET/PREFIX`.
        url: String,
        /// The endpoint.
        endpoint: String,
        /// `AWS_*` and `X0X_S3_*` settings.
        env: HashMap<String, String>,
    },
}

impl At {
    /// The repository `setup_repo` made in `repo`, here (copied into a fresh prefix of the engine's bucket for S3;
    /// `None`: no engine, skipped).
    pub fn new(s3: bool, repo: &Path) -> Option<Self> {
        if !s3 {
            return Some(Self::Dir(repo.to_owned()));
        }
        let (env, endpoints) = crate::s3::engine()?;
        let bucket = env
            .get("X0X_S3_BUCKET")
            .cloned()
            .unwrap_or_else(|| "x0x".into());
        let at = Self::S3 {
            url: format!("s3://{bucket}/{}", crate::s3::unique_prefix("live-admin")),
            endpoint: endpoints[0].clone(),
            env,
        };
        let Self::S3 { url, endpoint, .. } = &at else {
            unreachable!()
        };
        run_ok(at.cmd().args(["migrate", "--from"]).arg(repo).args([
            "--to",
            url,
            "--s3-endpoint",
            endpoint,
        ]));
        Some(at)
    }

    /// `x0x-dist` with the engine's credentials.
    pub fn cmd(&self) -> Command {
        let mut c = bin();
        self.env(&mut c);
        c
    }

    /// Gives `c` the engine's credentials.
    pub fn env(&self, c: &mut Command) {
        if let Self::S3 { env, .. } = self {
            c.envs(env.iter().filter(|(k, _)| k.starts_with("AWS_")));
        }
    }

    /// `--repo DIR` or `--storage URL --s3-endpoint E`.
    pub fn args(&self) -> Vec<OsString> {
        match self {
            Self::Dir(d) => vec!["--repo".into(), d.into()],
            Self::S3 { url, endpoint, .. } => vec![
                "--storage".into(),
                url.into(),
                "--s3-endpoint".into(),
                endpoint.into(),
            ],
        }
    }

    /// `x0x-dist VERB… <storage settings> --keys REPO/online [--database DB]`.
    pub fn verb(&self, verb: &[&str], repo: &Path, db: Option<&str>) -> Command {
        let mut c = self.cmd();
        c.args(verb)
            .args(self.args())
            .arg("--keys")
            .arg(repo.join("online"));
        if let Some(db) = db {
            c.args(["--database", db]);
        }
        c
    }
}
