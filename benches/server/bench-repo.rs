//! Benchmark fixture: gives package `x0x` of an initialised repository (with the package delegated to the key
//! in PUBLISHER_KEY) one signed role listing VERSIONS versions × 10 platforms (synthetic hashes; resolve never
//! reads blobs), then writes the next snapshot and timestamp with the online keys.
//!
//! `bench-repo REPO PUBLISHER_KEY [VERSIONS] [--compact]` (a program of x0x-dist-benches; benches/server/run.sh,
//! resolve-ab.sh and large-role.sh build and run it). `--compact`: the role as `x0x-dist publish` writes it,
//! compact JSON, instead of pretty-printed.
use std::path::PathBuf;

use x0x_dist_manifests::metadata::NewRole as _;
use x0x_dist_manifests::{
    PackageName, Platform, Sha256, SigningKey, TargetCustom, TargetFile, TargetPath, Targets,
    Version,
};
use x0x_dist_server::publish::{commit, OnlineKeys, Published};
use x0x_dist_server::storage::{local::LocalStore, ObjectKey, Store as _};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let repo = PathBuf::from(args.next().expect("REPO"));
    let key = SigningKey::from_secret_file(&std::fs::read(args.next().expect("PUBLISHER_KEY"))?)?;
    let versions: u64 = args.next().map_or(Ok(1000), |v| v.parse())?;
    let compact = args.next().is_some_and(|a| a == "--compact");
    let pkg: PackageName = "x0x".parse()?;
    // The 10 platforms a release of x0x ships (the table's every row but win32-x64-gnu).
    let platforms: Vec<Platform> = Platform::ALL
        .iter()
        .copied()
        .filter(|p| *p != Platform::Win32X64Gnu)
        .collect();
    let expires = time::OffsetDateTime::now_utc() + time::Duration::days(30);
    let mut t = Targets::empty(1, expires);
    for i in 0..versions {
        let v: Version = format!("{}.{}.0", i / 100, i % 100).parse()?;
        for p in &platforms {
            let floor =
                (p.info().libc == x0x_dist_manifests::Libc::Glibc).then(|| "2.17".to_owned());
            let custom = TargetCustom::new(&pkg, &v, *p, floor);
            let mut f = TargetFile::for_bytes(&[], Some(&custom));
            f.length = 10_000_000 + i;
            f.hashes.insert(
                "sha256".into(),
                Sha256::digest(format!("{v} {p}").as_bytes()).to_hex(),
            );
            t.targets
                .insert(TargetPath::new(&pkg, &v, &p.file_name(&pkg))?.name(), f);
        }
    }
    let signed = x0x_dist_manifests::Signed::new(t, &[&key])?;
    let bytes = if compact {
        signed.to_compact_bytes()
    } else {
        signed.to_bytes()
    };
    let len = bytes.len();
    let store = LocalStore::open(&repo)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        store
            .put_object(&ObjectKey::metadata("1.x0x.json")?, bytes.into())
            .await?;
        let cur = Published::load(&store).await?;
        let keys = OnlineKeys::load(&repo.join("online"), cur.root.signed())?;
        let cfg = x0x_dist_server::config::TimestampConfig::default();
        commit(
            &store,
            &cur,
            &[("x0x".to_owned(), 1)],
            &keys,
            &cfg,
            time::OffsetDateTime::now_utc(),
        )
        .await
    })?;
    eprintln!(
        "wrote 1.x0x.json: {versions} versions × {} targets, {} bytes",
        platforms.len(),
        len
    );
    Ok(())
}
