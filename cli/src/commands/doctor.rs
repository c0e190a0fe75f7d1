//! `x0x-dist doctor`: what the loader sees on this machine and what it would choose, and why.
use std::path::PathBuf;

use x0x_dist_loader::host::Host;
use x0x_dist_loader::{env, resolve};

use super::fetch::make_client;

/// The long description of `doctor` (its `--help`).
pub const LONG_ABOUT: &str = concat!(
    "Show host detection (target triple; libc from this process's ELF interpreter, not `ldd`; glibc ",
    "version and how it was read), which WASM flavour the JS loader would prefer in the `node` on PATH ",
    "(wasm32-wasip1-threads needs shared WebAssembly.Memory) and, when a repository is configured, the signature and freshness ",
    "of its metadata and every candidate of the package's newest matching release with the reason it ",
    "would be taken or rejected. Nothing is downloaded except metadata; a candidate already in the ",
    "cache also gets its ELF checked against the host.",
);

/// Arguments of `doctor`: see [`LONG_ABOUT`].
#[derive(Debug, clap::Args)]
#[command(after_help = concat!(
    "Examples:\n",
    "  x0x-dist doctor    # host detection only\n",
    "  x0x-dist doctor --server http://127.0.0.1:8080 --root repo/metadata/1.root.json --json\n",
    "\n",
    "Environment: X0X_DIST_CACHE, X0X_DIST_ALLOW_EXPIRED_AFTER, X0X_DIST_MIN_RELEASE_AGE, X0X_DIST_REQUIRE_PROVENANCE, X0X_DIST_CA_CERTS, NODE_EXTRA_CA_CERTS, HTTPS_PROXY/NO_PROXY\n",
))]
pub struct DoctorArgs {
    /// Repository: server base URL or file:// directory (optional).
    #[arg(long, env = env::URL, hide_env_values = true)]
    pub server: Option<String>,
    /// Trusted root.json (needed with --server).
    #[arg(long, env = env::ROOT, hide_env_values = true)]
    pub root: Option<PathBuf>,
    /// Package name.
    #[arg(long, default_value = "x0x")]
    pub package: String,
    /// Version or semver range.
    #[arg(long, default_value = "*")]
    pub version: String,
    /// Cache directory [default: $X0X_DIST_CACHE or the per-user cache dir].
    #[arg(long)]
    pub cache: Option<PathBuf>,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// Runs `doctor`.
pub fn run(a: &DoctorArgs) -> anyhow::Result<()> {
    let host = Host::detect();
    let mut report = serde_json::json!({
        "host": host,
        "glibc": host.glibc().map(|g| g.to_string()),
        "wasm": wasm_flavour(),
    });
    let mut failure = None;
    match (&a.server, &a.root) {
        (Some(server), Some(root)) => {
            report["repository"] = serde_json::json!(server);
            let mut lifecycle = serde_json::Value::Null;
            let inspected = inspect_repo(a, server, root, &host, &mut lifecycle);
            report["lifecycle"] = lifecycle;
            match inspected {
                Ok(v) => {
                    report["metadata"] = v["metadata"].clone();
                    report["resolution"] = v["resolution"].clone();
                    report["status"] = v["status"].clone();
                }
                Err(e) => {
                    report["error"] =
                        serde_json::json!({"code": super::code_of(&e), "detail": format!("{e:#}")});
                    failure = Some(e);
                }
            }
        }
        (Some(_), None) => {
            report["repository"] =
                serde_json::json!("not checked: --root / X0X_DIST_ROOT is not set");
        }
        _ => report["repository"] = serde_json::json!("not configured (--server / X0X_DIST_URL)"),
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_text(&report, &host);
    }
    match failure {
        Some(e) => Err(e),
        None if report["status"] == "no_candidate" => Err(x0x_dist_loader::Error::NoCandidate {
            package: a.package.clone(),
            host: host.triple.clone(),
            reasons: vec!["see the candidates above".into()],
        }
        .into()),
        None => Ok(()),
    }
}

/// Asks the `node` on `PATH` what the JS loader asks (lib/host.js): whether `new WebAssembly.Memory({ shared: true })`
/// gives a `SharedArrayBuffer`. Yes: wasm32-wasip1-threads is preferred over wasm32-wasip1; no: wasip1 only.
const WASM_PROBE: &str = "let t = false, r; try { if (typeof SharedArrayBuffer !== 'function') r = 'SharedArrayBuffer is \
    not available'; else { t = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }).buffer instanceof \
    SharedArrayBuffer; r = t ? 'shared WebAssembly.Memory (SharedArrayBuffer) works' : 'WebAssembly.Memory({ shared: \
    true }) is not a SharedArrayBuffer' } } catch (e) { r = 'no shared WebAssembly.Memory: ' + e.message } \
    console.log(JSON.stringify({ node: process.version, threads: t, reason: r }))";

/// `node -e WASM_PROBE`, killed after `limit` (a doctor must not hang on a broken `node`).
fn probe_node(limit: std::time::Duration) -> std::io::Result<std::process::Output> {
    use std::process::{Command, Stdio};
    let mut child = Command::new("node")
        .args(["-e", WASM_PROBE])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let started = std::time::Instant::now();
    while child.try_wait()?.is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(std::io::Error::other(format!(
                "`node -e` did not finish within {} s",
                limit.as_secs()
            )));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output()
}

/// The WASM flavour the JS loader would prefer in the `node` on `PATH`, with the reason.
fn wasm_flavour() -> serde_json::Value {
    let probed = probe_node(std::time::Duration::from_secs(20));
    let v = match probed {
        Ok(o) if o.status.success() => {
            serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap_or_default()
        }
        Ok(o) => {
            return serde_json::json!({"node": null, "flavour": null, "reason": format!("`node -e` failed ({})", o.status)})
        }
        Err(e) => {
            return serde_json::json!({"node": null, "flavour": null, "reason": format!("no usable `node` on PATH: {e}")})
        }
    };
    let flavour = if v["threads"] == true {
        "wasm32-wasip1-threads"
    } else {
        "wasm32-wasip1"
    };
    serde_json::json!({"node": v["node"], "flavour": flavour, "reason": v["reason"]})
}

fn inspect_repo(
    a: &DoctorArgs,
    server: &str,
    root: &std::path::Path,
    host: &Host,
    lifecycle_out: &mut serde_json::Value,
) -> anyhow::Result<serde_json::Value> {
    let range = semver::VersionReq::parse(&a.version)?;
    let client = make_client(server, root, a.cache.as_ref(), false)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // Yanked and revoked releases of the package (the verified `revocations` role), shown even when the
    // resolution below refuses the requested version.
    let repo = rt.block_on(client.repository(&a.package))?;
    *lifecycle_out = lifecycle(&repo, &a.package)?;
    let (repo, mut res) = rt.block_on(client.resolve(&a.package, &range, host, None))?;
    // A candidate already cached: check its ELF too, as `best` would after a download.
    for c in &mut res.candidates {
        if c.rank.is_none() || c.kind != Some(resolve::Kind::Native) {
            continue;
        }
        if let Some(path) = client.cache().get(
            &c.sha256_hex(),
            x0x_dist_loader::cache::blob_ext(c.path.as_str()),
            c.length,
            true,
        )? {
            if let Err(why) = resolve::check_native_binary(&fs_err::read(&path)?, host) {
                c.rank = None;
                c.reason = format!("rejected (cached copy): {why}");
            }
        }
    }
    let taken = res.usable().next().map(|c| c.path.to_string());
    // The signed provenance of the release (trusted publishing signed online): the taken target's, else the
    // first target of the version that has one.
    let targets = repo.package_targets()?;
    let provenance = targets
        .iter()
        .filter(|(p, _)| p.version().to_string() == res.version)
        .filter(|(p, _)| taken.as_deref().is_none_or(|t| p.as_str() == t))
        .find_map(|(_, f)| x0x_dist_loader::provenance::of(f).cloned());
    let status = if taken.is_some() {
        "ok"
    } else {
        "no_candidate"
    };
    Ok(serde_json::json!({
        "metadata": repo.statuses(),
        "resolution": {"version": res.version, "taken": taken, "candidates": res.candidates, "provenance": provenance},
        "status": status,
    }))
}

/// The yanked and revoked releases of `package` and the version to move to.
fn lifecycle(
    repo: &x0x_dist_loader::tuf::Repository,
    package: &str,
) -> anyhow::Result<serde_json::Value> {
    let rev = repo
        .trusted()
        .revocations()
        .map(x0x_dist_manifests::Signed::signed);
    let targets = repo.package_targets()?;
    let withdrawn: Vec<_> = rev
        .and_then(|r| r.releases.get(package))
        .into_iter()
        .flatten()
        .map(|(v, r)| {
            serde_json::json!({
                "version": v, "state": r.state, "reason": r.reason, "advisory": r.advisory, "at": r.at,
            })
        })
        .collect();
    Ok(serde_json::json!({
        "withdrawn": withdrawn,
        "move_to": resolve::move_to(package, &targets, rev).map(|v| v.to_string()),
    }))
}

fn print_lifecycle(l: &serde_json::Value) {
    let esc = |v: &serde_json::Value| {
        x0x_dist::terminal::escape(v.as_str().unwrap_or_default()).into_owned()
    };
    let list = l["withdrawn"].as_array().cloned().unwrap_or_default();
    if list.is_empty() {
        println!("lifecycle: no yanked or revoked release (signed revocations role)");
        return;
    }
    println!("lifecycle (signed revocations role):");
    for w in &list {
        let adv = if w["advisory"].is_string() {
            format!(", advisory {}", esc(&w["advisory"]))
        } else {
            String::new()
        };
        println!(
            "  {:<12} {} since {}: {}{adv}",
            esc(&w["version"]),
            esc(&w["state"]),
            esc(&w["at"]),
            esc(&w["reason"]),
        );
    }
    match l["move_to"].as_str() {
        Some(v) => println!("  move to:     {}", x0x_dist::terminal::escape(v)),
        None => println!("  move to:     nothing (every release is yanked or revoked)"),
    }
}

fn print_text(r: &serde_json::Value, host: &Host) {
    println!("host");
    println!("  triple:          {}", host.triple);
    println!("  compiled for:    {}", host.compiled_triple);
    println!("  libc:            {:?}", host.libc.libc);
    if let Some(i) = &host.libc.interpreter {
        println!("  interpreter:     {i}");
    }
    if let Some(p) = &host.libc.libc_path {
        println!("  libc file:       {}", p.display());
    }
    if let Some(v) = host.libc.glibc_release {
        println!("  glibc release:   {v}");
    }
    if let Some(v) = host.libc.glibc_abi {
        println!("  glibc ABI:       GLIBC_{v} (newest symbol version defined; binaries are checked against it)");
    }
    println!("  evidence:");
    for e in &host.libc.evidence {
        println!("    - {e}");
    }
    let w = &r["wasm"];
    match (w["flavour"].as_str(), w["node"].as_str()) {
        (Some("wasm32-wasip1-threads"), Some(node)) => println!(
            "WASM fallback:   wasm32-wasip1-threads preferred over wasm32-wasip1 (node {node}: {})",
            w["reason"].as_str().unwrap_or_default()
        ),
        (Some(f), Some(node)) => println!(
            "WASM fallback:   {f} only, not wasm32-wasip1-threads (node {node}: {})",
            w["reason"].as_str().unwrap_or_default()
        ),
        _ => println!(
            "WASM fallback:   unknown ({})",
            w["reason"].as_str().unwrap_or_default()
        ),
    }
    println!(
        "repository: {}",
        r["repository"].as_str().unwrap_or_default()
    );
    if let Some(roles) = r["metadata"].as_array() {
        println!("metadata (signatures verified to threshold):");
        for m in roles {
            let days = m["expires_in_secs"].as_i64().unwrap_or(0) / 86_400;
            println!(
                "  {:<10} v{:<4} expires {} (in {} days), {} signature(s), {}",
                m["role"].as_str().unwrap_or_default(),
                m["version"],
                m["expires"].as_str().unwrap_or_default(),
                days,
                m["signatures"],
                if m["downloaded"].as_bool() == Some(true) {
                    "downloaded"
                } else {
                    "from cache"
                }
            );
        }
    }
    if r["lifecycle"].is_object() {
        print_lifecycle(&r["lifecycle"]);
    }
    if let Some(res) = r.get("resolution") {
        match res["provenance"].as_object() {
            Some(p) => println!(
                "provenance (signed by the server's online key): {}",
                x0x_dist::terminal::escape(&x0x_dist_loader::provenance::summary(p))
            ),
            None => println!(
                "provenance: none (signed by a publisher key, no trusted-publishing claims)"
            ),
        }
        println!(
            "release {} candidates:",
            res["version"].as_str().unwrap_or_default()
        );
        for c in res["candidates"].as_array().into_iter().flatten() {
            println!(
                "  {:<45} {}",
                x0x_dist::terminal::escape(c["path"].as_str().unwrap_or_default()),
                x0x_dist::terminal::escape(c["reason"].as_str().unwrap_or_default())
            );
        }
        match res["taken"].as_str() {
            Some(t) => println!("would load: {}", x0x_dist::terminal::escape(t)),
            None => println!("would load: nothing (no usable candidate)"),
        }
    }
}
