//! `cargo xtask demo`: the README's run command.
//!
//! Builds the core for this host and WASM (installing the toolchains first when they are missing), creates a
//! repository under `./demo-data` if there is none (offline keys, a publisher key, the `x0x` delegation, an
//! upload token), starts `x0x-dist serve`, publishes the core as a release when that version is not yet
//! published, packs the `x0x` npm package against this server, and prints how to install it. Then it serves
//! until interrupted. Every step is a real `x0x-dist` command, the same ones the walkthrough in the README uses.
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// Arguments of `cargo xtask demo`.
#[derive(clap::Args)]
pub struct DemoArgs {
    /// Address the server listens on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Directory holding the demo repository, keys, token and builds.
    #[arg(long, default_value = "demo-data")]
    pub data: PathBuf,
    /// Skip building the core; publish what `DATA/build` already holds.
    #[arg(long)]
    pub no_build: bool,
    /// Set everything up and publish, then exit instead of serving (used by tests).
    #[arg(long)]
    pub no_serve: bool,
}

/// The package the demo publishes.
const PACKAGE: &str = "x0x";

pub fn run(args: &DemoArgs) -> Result<()> {
    let ws = workspace()?;
    let data = absolute(&ws, &args.data);
    std::fs::create_dir_all(&data)
        .with_context(|| format!("failed to create {}", data.display()))?;
    let build_dir = data.join("build");
    let repo = data.join("repo");
    let key = data.join("publisher.key");
    let token_file = data.join("upload-token");

    let started = Instant::now();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    // Without --quiet: cargo's own progress (a bar on a terminal, `Compiling ...` lines otherwise).
    phase("building x0x-dist (release; first run about 5 min)", || {
        run_cmd(Command::new(&cargo).current_dir(&ws).args([
            "build",
            "--release",
            "-p",
            "x0x-dist",
        ]))
    })?;
    let bin = target_dir(&ws).join("release/x0x-dist");

    if !args.no_build {
        if !ws.join(".toolchains/rustc-wasi").exists() {
            // Only what a host + wasm32-wasip1 build needs: no cross compilers, Wine or qemu.
            phase(
                "installing the toolchains for host + WASM builds (scripts/toolchains.sh --only wasm; \
                 first run only, a few minutes)",
                || {
                    run_cmd(
                        Command::new("bash")
                            .arg(ws.join("scripts/toolchains.sh"))
                            .args(["--only", "wasm"])
                            .current_dir(&ws),
                    )
                },
            )?;
        }
        let me = std::env::current_exe().context("failed to find the xtask binary")?;
        phase(
            "building the core for this host and wasm32-wasip1 (release, LTO; first run 10-15 min)",
            || {
                run_cmd(
                    Command::new(&me)
                        .current_dir(&ws)
                        .args(["build", "--targets", "host,wasm", "--out"])
                        .arg(&build_dir),
                )
            },
        )?;
    }
    let files = release_files(&build_dir)?;
    let version = core_version(&ws)?;

    if repo.join("metadata/root.json").exists() {
        step(&format!("reusing the repository in {}", repo.display()));
    } else {
        step(&format!("creating a repository in {}", repo.display()));
        run_cmd(Command::new(&bin).arg("init").arg("--repo").arg(&repo))?;
        let out = Command::new(&bin)
            .arg("keygen")
            .arg("--out")
            .arg(&key)
            .stderr(Stdio::inherit())
            .output()
            .context("failed to run x0x-dist keygen")?;
        if !out.status.success() {
            bail!("x0x-dist keygen failed ({})", out.status);
        }
        step(&format!(
            "publisher key id: {}",
            String::from_utf8_lossy(&out.stdout).trim()
        ));
        run_cmd(
            Command::new(&bin)
                .args(["package", "add", "--repo"])
                .arg(&repo)
                .arg(PACKAGE)
                .arg("--publisher-key")
                .arg(key.with_extension("key.pub")),
        )?;
        let out = Command::new(&bin)
            .args(["token", "create", "--repo"])
            .arg(&repo)
            .args(["--package", PACKAGE])
            .output()
            .context("failed to run x0x-dist token create")?;
        if !out.status.success() {
            bail!(
                "x0x-dist token create failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        write_secret(&token_file, String::from_utf8_lossy(&out.stdout).trim())?;
    }

    // Another server on this address would answer /readyz for ours (which fails to bind), and the demo
    // would go on against the wrong repository (pack: metadata.threshold_not_met).
    ensure_free(&args.listen)?;
    step(&format!("starting x0x-dist serve on {}", args.listen));
    let url = format!("http://{}", args.listen);
    let mut server = Guard(
        Command::new(&bin)
            .arg("serve")
            .arg("--repo")
            .arg(&repo)
            .arg("--listen")
            .arg(&args.listen)
            .spawn()
            .context("failed to start x0x-dist serve")?,
    );
    wait_ready(&url, &mut server.0)?;

    if is_published(&url, &version) {
        step(&format!(
            "{PACKAGE} {version} is already published (versions are immutable); serving it"
        ));
    } else {
        step(&format!(
            "publishing {PACKAGE} {version} ({} files)",
            files.len()
        ));
        let mut publish = Command::new(&bin);
        publish
            .arg("publish")
            // From the file, not the command line: other local users can read a process's arguments.
            .args(["--server", &url, "--token-file"])
            .arg(&token_file)
            .arg("--key")
            .arg(&key)
            .args(["--package", PACKAGE, "--version", &version])
            .args(&files);
        run_cmd(&mut publish)?;
    }

    step("packing the x0x npm package against this server");
    let tgz = pack(&ws, &repo, &url, &build_dir, &version, &data)?;

    println!();
    println!(
        "x0x-dist demo is serving {url} (ready after {})",
        elapsed(started.elapsed())
    );
    println!("  packages:      {url}/api/v1/packages/{PACKAGE}");
    println!("  web UI:        {url}/");
    println!("  TUF metadata:  {url}/tuf/metadata/timestamp.json");
    println!(
        "  trusted root:  {}",
        repo.join("metadata/1.root.json").display()
    );
    println!();
    println!("Install and load it from another shell:");
    println!("  mkdir -p /tmp/x0x-try && cd /tmp/x0x-try && npm init -y >/dev/null");
    println!("  X0X_DIST_URL={url} npm install {}", tgz.display());
    println!(
        "  X0X_DIST_URL={url} node -e \"const x = require('x0x'); const k = x.AgentKeypair.generate(); console.log(k.agentId.toString())\""
    );
    println!(
        "  {} doctor --server {url} --root {}",
        bin.display(),
        repo.join("metadata/1.root.json").display()
    );
    println!();
    if args.no_serve {
        return Ok(());
    }
    println!("Press Ctrl-C to stop.");
    let status = server.0.wait().context("failed to wait for the server")?;
    if !status.success() {
        bail!("x0x-dist serve exited with {status}");
    }
    Ok(())
}

/// Kills the server when the demo ends early (an error after it started).
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn step(what: &str) {
    eprintln!("demo: {what}");
}

/// Runs one long step between a `demo: <what>` line and a `demo: done in ...` line, with a
/// `demo: ... still running (N min M s)` line every [`HEARTBEAT`] in between: the builds print little for
/// minutes at a time (LTO, the napi CLI), and a silent terminal looks hung.
fn phase<T>(what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    phase_with(what, HEARTBEAT, |line| step(&line), f)
}

/// [`phase`] with the heartbeat interval and the line sink as parameters (tests use short ones).
fn phase_with<T>(
    what: &str,
    every: Duration,
    say: impl Fn(String) + Send + Sync + 'static,
    f: impl FnOnce() -> Result<T>,
) -> Result<T> {
    let say = std::sync::Arc::new(say);
    say(what.to_owned());
    let start = Instant::now();
    let (done, stop) = std::sync::mpsc::channel::<()>();
    let short = what.split(" (").next().unwrap_or(what).to_owned();
    let beat = {
        let say = std::sync::Arc::clone(&say);
        std::thread::spawn(move || {
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(every) {
                say(format!(
                    "{short}: still running ({})",
                    elapsed(start.elapsed())
                ));
            }
        })
    };
    let r = f();
    drop(done);
    let _ = beat.join();
    if r.is_ok() {
        say(format!("done in {}", elapsed(start.elapsed())));
    }
    r
}

/// How often [`phase`] says a step is still running.
const HEARTBEAT: Duration = Duration::from_secs(30);

/// `4 min 05 s`, `12 s`.
fn elapsed(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 {
        format!("{} min {:02} s", s / 60, s % 60)
    } else {
        format!("{s} s")
    }
}

fn run_cmd(cmd: &mut Command) -> Result<()> {
    let shown = format!(
        "{} {}",
        cmd.get_program().to_string_lossy(),
        cmd.get_args()
            .map(OsStr::to_string_lossy)
            .collect::<Vec<_>>()
            .join(" ")
    );
    let status = cmd
        .status()
        .with_context(|| format!("failed to run {shown}"))?;
    if !status.success() {
        bail!("`{shown}` failed ({status})");
    }
    Ok(())
}

fn workspace() -> Result<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    Ok(dir
        .parent()
        .context("xtask has no parent directory")?
        .to_path_buf())
}

fn absolute(ws: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        ws.join(p)
    }
}

fn target_dir(ws: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| ws.join("target"), |d| absolute(ws, Path::new(&d)))
}

/// The version of the core: `core/package.json`'s, which is what the npm package carries.
fn core_version(ws: &Path) -> Result<String> {
    let path = ws.join("core/package.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("failed to read {}", path.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("failed to parse {}", path.display()))?;
    v["version"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("{} has no version", path.display()))
}

/// The napi-named artifacts of a build directory (from its build report, so only checked builds ship).
fn release_files(build_dir: &Path) -> Result<Vec<PathBuf>> {
    let report = build_dir.join("build-report.json");
    let text = std::fs::read_to_string(&report)
        .with_context(|| format!("failed to read {} (build the core first)", report.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("failed to parse {}", report.display()))?;
    let targets = v["targets"]
        .as_array()
        .with_context(|| format!("{} lists no targets", report.display()))?;
    let files: Vec<PathBuf> = targets
        .iter()
        .filter_map(|t| t["file"].as_str())
        .map(|f| build_dir.join(f))
        .collect();
    if files.is_empty() {
        bail!("{} lists no files", report.display());
    }
    Ok(files)
}

/// Fails, saying what to do, when something already listens on `addr`.
fn ensure_free(addr: &str) -> Result<()> {
    if std::net::TcpListener::bind(addr).is_err() {
        bail!(
            "{addr} is already in use (another `cargo xtask demo` or `x0x-dist serve`?): stop it, or pass \
             --listen 127.0.0.1:<another port>"
        );
    }
    Ok(())
}

fn wait_ready(url: &str, child: &mut Child) -> Result<()> {
    let addr = url.trim_start_matches("http://");
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait()? {
            bail!("x0x-dist serve exited early ({status}); is {addr} already in use?");
        }
        if http_get_status(addr, "/readyz").is_some_and(|s| s == 200) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("x0x-dist serve did not become ready at {url}/readyz within 30 s")
}

/// A minimal HTTP/1.1 GET over loopback (xtask stays free of an HTTP client dependency).
fn http_get_status(addr: &str, path: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).ok()?;
    let line = std::str::from_utf8(&buf[..n]).ok()?;
    line.split(' ').nth(1)?.parse().ok()
}

/// Whether exactly `version` is already published (the server's convenience resolve route).
fn is_published(url: &str, version: &str) -> bool {
    let addr = url.trim_start_matches("http://");
    let path = format!("/api/v1/packages/{PACKAGE}/resolve?range=%3D{version}");
    http_get_status(addr, &path) == Some(200)
}

fn pack(
    ws: &Path,
    repo: &Path,
    url: &str,
    build_dir: &Path,
    version: &str,
    data: &Path,
) -> Result<PathBuf> {
    let out = Command::new("node")
        .current_dir(ws)
        .arg(ws.join("loader/js/scripts/pack.js"))
        .args(["--version", version, "--repo", url])
        .arg("--root")
        .arg(repo.join("metadata/1.root.json"))
        .arg("--release")
        .arg(build_dir)
        .arg("--out")
        .arg(data)
        .stderr(Stdio::inherit())
        .output()
        .context("failed to run node loader/js/scripts/pack.js")?;
    if !out.status.success() {
        bail!("packing the x0x npm package failed ({})", out.status);
    }
    let path = String::from_utf8_lossy(&out.stdout)
        .trim()
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned();
    if path.is_empty() {
        bail!("pack.js printed no package path");
    }
    Ok(PathBuf::from(path))
}

fn write_secret(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("failed to create {}", path.display()))?;
    writeln!(f, "{text}").with_context(|| format!("failed to write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::{elapsed, ensure_free};
    use std::time::Duration;

    #[test]
    fn a_long_phase_says_it_is_still_running_then_how_long_it_took() {
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let sink = std::sync::Arc::clone(&lines);
        let r = super::phase_with(
            "building the core (first run 10-15 min)",
            Duration::from_millis(40),
            move |l| sink.lock().unwrap().push(l),
            || {
                std::thread::sleep(Duration::from_millis(200));
                Ok(7)
            },
        );
        assert_eq!(r.unwrap(), 7);
        let lines = lines.lock().unwrap().clone();
        assert_eq!(lines[0], "building the core (first run 10-15 min)");
        let beats = lines
            .iter()
            .filter(|l| l.starts_with("building the core: still running ("))
            .count();
        assert!(beats >= 2, "{lines:?}");
        assert_eq!(lines.last().unwrap(), "done in 0 s", "{lines:?}");
        // A failed step ends without "done".
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let sink = std::sync::Arc::clone(&lines);
        let r: anyhow::Result<()> = super::phase_with(
            "x",
            Duration::from_mins(1),
            move |l| sink.lock().unwrap().push(l),
            || anyhow::bail!("no"),
        );
        assert!(r.is_err());
        assert_eq!(*lines.lock().unwrap(), vec!["x".to_owned()]);
    }

    #[test]
    fn elapsed_times_read_as_minutes_and_seconds() {
        assert_eq!(elapsed(Duration::from_millis(12_900)), "12 s");
        assert_eq!(elapsed(Duration::from_secs(245)), "4 min 05 s");
        assert_eq!(elapsed(Duration::from_mins(15)), "15 min 00 s");
    }

    #[test]
    fn an_address_in_use_is_refused_with_the_way_out() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap().to_string();
        let e = ensure_free(&addr).unwrap_err().to_string();
        assert!(
            e.contains("already in use") && e.contains("--listen"),
            "{e}"
        );
        drop(taken);
        ensure_free(&addr).unwrap();
    }
}
