//! `cargo xtask build`: drives the napi-rs CLI (which drives cargo or cargo-zigbuild) once per platform, with the
//! toolchain environment of [`crate::targets::recipe`], then copies each artifact into `--out` under its napi file
//! name, records it in `build-report.json` and checks it ([`crate::check`]).
//!
//! Invariants: a build writes into its own staging directory first, so a failed build never leaves a partial
//! artifact in `--out`; the TypeScript declarations napi generates from a native build must equal the checked-in
//! `core/index.d.ts` (`--update-dts` rewrites it), so the declarations can't drift from the Rust.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use x0x_dist_manifests::Kind;

use crate::check;
use crate::ctx::{sha256_file, Ctx};
use crate::report::{Entry, Report};
use crate::targets::{self, Recipe, Std};

/// `cargo xtask build` options (independent command-line switches).
#[derive(clap::Args)]
#[allow(clippy::struct_excessive_bools)]
pub struct BuildArgs {
    /// Comma-separated: `host`, `wasm`, `cross`, `all`, or napi platform names / triples.
    #[arg(long, default_value = "host")]
    pub targets: String,
    /// Output directory (artifacts + build-report.json).
    #[arg(long, default_value = "dist/core")]
    pub out: PathBuf,
    /// Use rustup's std for every target (release runners, after `rustup target add <triple>`), instead of
    /// building std with Debian's rustc-web.
    #[arg(long)]
    pub rustup: bool,
    /// Don't check the builds.
    #[arg(long)]
    pub no_check: bool,
    /// Fail when a build cannot be checked on this machine.
    #[arg(long)]
    pub require_checks: bool,
    /// Rewrite core/index.d.ts from the build instead of failing when it differs.
    #[arg(long)]
    pub update_dts: bool,
}

fn on_path(exe: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(exe).is_file()))
}

fn prepend_path(dirs: &[PathBuf]) -> OsString {
    let mut all: Vec<PathBuf> = dirs.to_vec();
    if let Some(p) = std::env::var_os("PATH") {
        all.extend(std::env::split_paths(&p));
    }
    std::env::join_paths(all).expect("PATH entries without separators")
}

/// `npm ci` in core/ when the napi-rs CLI is missing.
fn ensure_napi_cli(ctx: &Ctx) -> Result<PathBuf> {
    let cli = ctx.core().join("node_modules/@napi-rs/cli/dist/cli.js");
    if !cli.is_file() {
        eprintln!("xtask: installing the napi-rs CLI (npm ci in core/)");
        let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
        let st = Command::new(npm)
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(ctx.core())
            .status()
            .context("running npm ci")?;
        if !st.success() {
            bail!("npm ci in core/ failed");
        }
    }
    Ok(cli)
}

fn core_version(ctx: &Ctx) -> Result<String> {
    let text = fs_err::read_to_string(ctx.workspace.join("Cargo.toml"))?;
    let v = text
        .lines()
        .skip_while(|l| l.trim() != "[workspace.package]")
        .find_map(|l| {
            l.trim()
                .strip_prefix("version = ")
                .map(|v| v.trim_matches('"').to_owned())
        })
        .context("workspace.package.version in Cargo.toml")?;
    Ok(v)
}

pub fn run(args: &BuildArgs) -> Result<()> {
    let ctx = Ctx::new()?;
    let platforms = targets::expand(&args.targets)?;
    let cli = ensure_napi_cli(&ctx)?;
    let zig_available =
        ctx.toolchains.join("venv/bin/cargo-zigbuild").is_file() || on_path("cargo-zigbuild");
    fs_err::create_dir_all(&args.out)?;
    // Absolute without canonicalizing: on Windows canonical paths are `\\?\` UNC paths, which Node mishandles.
    let out = std::path::absolute(&args.out)?;
    let mut report = Report::load(&out)?;
    report.core_version = core_version(&ctx)?;
    let mut failures = Vec::new();
    for platform in platforms {
        let recipe = targets::recipe(platform, args.rustup, zig_available, &ctx.toolchains);
        eprintln!(
            "xtask: building {} ({})",
            platform.name(),
            recipe.describe()
        );
        let started = Instant::now();
        let mut entry = build_one(&ctx, &cli, &recipe, &out, args.update_dts)
            .with_context(|| format!("building {}", platform.name()))?;
        entry.build_seconds = (started.elapsed().as_secs_f64() * 10.0).round() / 10.0;
        if !args.no_check {
            entry.check = check::check(&ctx, &out, &entry);
            eprintln!(
                "xtask: {} {}: {} ({})",
                platform.name(),
                entry.check.status,
                entry.check.how,
                entry.check.detail
            );
            if !entry.check.passed() && (entry.check.status == "failed" || args.require_checks) {
                failures.push(platform.name());
            }
        }
        report.upsert(entry);
        report.save(&out)?;
    }
    if !failures.is_empty() {
        bail!("checks did not pass for: {}", failures.join(", "));
    }
    eprintln!("xtask: wrote {}", out.join(crate::report::FILE).display());
    Ok(())
}

fn build_env(ctx: &Ctx, recipe: &Recipe) -> Result<HashMap<String, OsString>> {
    let mut env: HashMap<String, OsString> = HashMap::new();
    let venv = ctx.toolchains.join("venv/bin");
    match recipe.std {
        Std::Rustup => {
            if recipe.zig {
                env.insert("PATH".into(), prepend_path(&[venv]));
            }
        }
        Std::DebianBuild => {
            if !Path::new("/usr/bin/rustc").is_file()
                || !Path::new("/usr/lib/rustlib/src/rust").exists()
            {
                bail!("Debian's rustc-web and rust-web-src are missing: run scripts/toolchains.sh");
            }
            env.insert("PATH".into(), prepend_path(&[venv, "/usr/bin".into()]));
            env.insert("RUSTC".into(), "/usr/bin/rustc".into());
            env.insert("CARGO".into(), "/usr/bin/cargo".into());
            // -Zbuild-std on a stable compiler: Debian's rustc is the only one here that has std's source.
            env.insert("RUSTC_BOOTSTRAP".into(), "1".into());
            env.insert("CARGO_UNSTABLE_BUILD_STD".into(), "std,panic_abort".into());
        }
        Std::DebianWasi => {
            let rustc = ctx.toolchains.join("rustc-wasi");
            if !rustc.is_file() {
                bail!("the wasm32-wasip1 sysroot is missing: run scripts/toolchains.sh");
            }
            env.insert("PATH".into(), prepend_path(&["/usr/bin".into()]));
            env.insert("RUSTC".into(), rustc.into());
            env.insert("CARGO".into(), "/usr/bin/cargo".into());
        }
        Std::DebianWasiThreads => {
            let rustc = ctx.toolchains.join("rustc-wasi-threads");
            if !rustc.is_file() {
                bail!("the wasm32-wasip1-threads sysroot is missing: run scripts/toolchains.sh");
            }
            env.insert("PATH".into(), prepend_path(&["/usr/bin".into()]));
            env.insert("RUSTC".into(), rustc.into());
            env.insert("CARGO".into(), "/usr/bin/cargo".into());
        }
    }
    if recipe.zig
        && recipe.std == Std::Rustup
        && !ctx.toolchains.join("venv/bin/cargo-zigbuild").is_file()
        && !on_path("cargo-zigbuild")
    {
        bail!("cargo-zigbuild is missing: run scripts/toolchains.sh (or pip install ziglang cargo-zigbuild)");
    }
    for (k, v) in &recipe.env {
        env.insert(k.clone(), v.into());
    }
    Ok(env)
}

fn build_one(
    ctx: &Ctx,
    cli: &Path,
    recipe: &Recipe,
    out: &Path,
    update_dts: bool,
) -> Result<Entry> {
    let platform = recipe.platform;
    let stage = ctx.target_base.join("core-stage").join(platform.name());
    if stage.exists() {
        fs_err::remove_dir_all(&stage)?;
    }
    fs_err::create_dir_all(&stage)?;
    let mut cmd = Command::new("node");
    cmd.arg(cli)
        .args([
            "build",
            "--platform",
            "--release",
            "--no-js",
            "--dts",
            "index.d.ts",
            "--target",
        ])
        .arg(&recipe.cargo_target)
        .arg("--target-dir")
        .arg(recipe.target_dir(&ctx.target_base))
        .arg("--output-dir")
        .arg(&stage)
        .current_dir(ctx.core());
    if recipe.zig {
        cmd.arg("--cross-compile");
    }
    // `cargo run` exports CARGO (rustup's cargo), which the napi CLI would spawn; each recipe picks its own.
    cmd.env_remove("CARGO");
    for (k, v) in build_env(ctx, recipe)? {
        cmd.env(k, v);
    }
    let st = cmd.status().context("running the napi-rs CLI (node)")?;
    if !st.success() {
        bail!("napi build failed ({st})");
    }
    let package = "x0x".parse().expect("valid package name");
    let file = platform.file_name(&package);
    // napi-rs names the threads flavour's module after the old triple (`x0x.wasm32-wasi.wasm`); x0x ships it
    // under the platform table's name and the glue is rewritten to match (see `rename_in_glue`).
    let built = stage.join(if platform.info().threads {
        NAPI_THREADS_WASM
    } else {
        &file
    });
    if !built.is_file() {
        bail!("napi build did not produce {}", built.display());
    }
    let mut companions = Vec::new();
    let mut wasi_imports = Vec::new();
    if platform.kind() == Kind::Wasm {
        wasi_imports = crate::wasm_imports::check(&fs_err::read(&built)?, platform.info().threads)
            .with_context(|| format!("the imports of {file}"))?;
        // The Node loader glue for this flavour (`x0x.wasip1.cjs`, `x0x.wasi.cjs` for threads).
        let glue = if platform.info().threads {
            "x0x.wasi.cjs"
        } else {
            "x0x.wasip1.cjs"
        };
        if !stage.join(glue).is_file() {
            bail!("napi build did not produce {glue}");
        }
        if platform.info().threads {
            let text = fs_err::read_to_string(stage.join(glue))?;
            fs_err::write(out.join(glue), rename_in_glue(&text, &file)?)?;
        } else {
            fs_err::copy(stage.join(glue), out.join(glue))?;
        }
        companions.push(glue.to_owned());
        // The threads flavour spawns its WASI threads from this worker script.
        if platform.info().threads {
            if !stage.join("wasi-worker.mjs").is_file() {
                bail!("napi build did not produce wasi-worker.mjs");
            }
            fs_err::copy(stage.join("wasi-worker.mjs"), out.join("wasi-worker.mjs"))?;
            companions.push("wasi-worker.mjs".to_owned());
        }
    } else {
        check_dts(ctx, &stage.join("index.d.ts"), update_dts)?;
        // The package's declarations travel with the builds (the npm packer takes them from here).
        fs_err::copy(ctx.core().join("index.d.ts"), out.join("index.d.ts"))?;
    }
    fs_err::copy(&built, out.join(&file))?;
    let (size, sha256) = sha256_file(&out.join(&file))?;
    let glibc_floor = if platform.info().libc == x0x_dist_manifests::Libc::Glibc {
        let bytes = fs_err::read(out.join(&file))?;
        x0x_dist_loader::elf::glibc_floor(&bytes)
            .with_context(|| format!("reading the ELF of {file}"))?
            .map(|v| v.to_string())
    } else {
        None
    };
    Ok(Entry {
        platform: platform.name().to_owned(),
        triple: platform.triple().to_owned(),
        kind: match platform.kind() {
            Kind::Native => "native",
            Kind::Wasm => "wasm",
        }
        .to_owned(),
        file,
        size,
        sha256,
        glibc_floor,
        companions,
        wasi_imports,
        builder: recipe.describe(),
        build_seconds: 0.0,
        check: crate::report::Check {
            status: "skipped".into(),
            how: "--no-check".into(),
            detail: String::new(),
        },
    })
}

/// The module file napi-rs writes for `--target wasm32-wasip1-threads`.
const NAPI_THREADS_WASM: &str = "x0x.wasm32-wasi.wasm";

/// The threads glue with its module file name (and debug variant) changed from napi's to `file`. Fails when the
/// glue no longer names napi's file (a napi-rs update changed the layout: the glue would not find the module).
fn rename_in_glue(glue: &str, file: &str) -> Result<String> {
    let quoted = format!("'{NAPI_THREADS_WASM}'");
    if !glue.contains(&quoted) {
        bail!(
            "the napi-generated x0x.wasi.cjs does not load {quoted}: update xtask's rename_in_glue"
        );
    }
    let stem = file.trim_end_matches(".wasm");
    Ok(glue
        .replace(&quoted, &format!("'{file}'"))
        .replace(
            "'x0x.wasm32-wasi.debug.wasm'",
            &format!("'{stem}.debug.wasm'"),
        )
        .replace(
            "x0x-wasm32-wasi is installed but is missing x0x.wasm32-wasi.wasm",
            &format!("x0x-wasm32-wasi is installed but is missing {file}"),
        ))
}

/// The generated declarations must match core/index.d.ts (line endings aside).
fn check_dts(ctx: &Ctx, generated: &Path, update: bool) -> Result<()> {
    let checked_in = ctx.core().join("index.d.ts");
    let new = fs_err::read_to_string(generated)?.replace("\r\n", "\n");
    let old = fs_err::read_to_string(&checked_in)
        .unwrap_or_default()
        .replace("\r\n", "\n");
    if new == old {
        return Ok(());
    }
    if update {
        fs_err::write(&checked_in, new)?;
        eprintln!("xtask: updated {}", checked_in.display());
        return Ok(());
    }
    bail!(
        "core/index.d.ts differs from the declarations napi generated from the Rust ({}); \
         run `cargo xtask build --update-dts` and commit core/index.d.ts",
        generated.display()
    )
}
