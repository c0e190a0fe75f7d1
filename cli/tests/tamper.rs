//! The shared tamper table (`x0x_dist_test_support::tamper::CASES`) through every entry point besides the
//! loader's fetch (`loader/tests/tamper.rs`): repository verify, mirror sync (from an upstream served on
//! loopback), bundle import (a bundle written without verification, as an attacker would hand one over) and
//! the publishing client reading the package's current role. Each must fail with the table's code and keep
//! nothing: a mirror's and a bundle destination's `metadata/` and `targets/` are unchanged.
//!
//! Stateful cases (a rollback to an older, validly signed chain) need memory of an earlier chain: the mirror
//! and the bundle destination accept the good chain first. Repository verify and the publishing client have
//! none; for them the case is a control that they do accept the older chain (it is valid on its own).
// Tests write fixtures directly: durability is not what they exercise.
#![allow(clippy::disallowed_methods)]
use std::path::Path;

use time::OffsetDateTime;
use x0x_dist_manifests::codes::{Code, Coded};
use x0x_dist_repository::{bundle, mirror, repo};
use x0x_dist_test_support::loader::{key, StaticServer};
use x0x_dist_test_support::tamper::{assert_kept, tree, Case, Chain, Kept, CASES};

/// The stable code of a failure: the first coded error in the chain (as the CLI prints it).
fn code_of(e: &anyhow::Error) -> Option<Code> {
    e.chain().find_map(|c| {
        c.downcast_ref::<x0x_dist_repository::Error>()
            .map(Coded::code)
            .or_else(|| c.downcast_ref::<x0x_dist_loader::Error>().map(Coded::code))
            .or_else(|| {
                c.downcast_ref::<x0x_dist_manifests::Error>()
                    .map(Coded::code)
            })
    })
}

/// A mirror's or a repository's served state: `metadata/` and `targets/`.
fn served(dir: &Path) -> std::collections::BTreeMap<std::path::PathBuf, Vec<u8>> {
    let mut t = tree(&dir.join("metadata"));
    t.extend(tree(&dir.join("targets")));
    t
}

/// One entry point: how it reads the served chain, and whether it remembers a previous one.
#[derive(Clone, Copy)]
enum Entry {
    Verify,
    MirrorSync,
    BundleImport,
    PublishingClient,
}

impl Entry {
    const ALL: [Entry; 4] = [
        Entry::Verify,
        Entry::MirrorSync,
        Entry::BundleImport,
        Entry::PublishingClient,
    ];

    fn name(self) -> &'static str {
        match self {
            Entry::Verify => "repository verify",
            Entry::MirrorSync => "mirror sync",
            Entry::BundleImport => "bundle import",
            Entry::PublishingClient => "publishing client",
        }
    }

    fn has_memory(self) -> bool {
        matches!(self, Entry::MirrorSync | Entry::BundleImport)
    }

    /// Runs the entry point once against the chain as it is now; `dest` is its own state (mirror or bundle
    /// destination).
    async fn run(self, chain: &Chain, url: &str, dest: &Path, work: &Path) -> anyhow::Result<()> {
        let now = OffsetDateTime::now_utc();
        match self {
            Entry::Verify => {
                let root = work.join("root.json");
                std::fs::write(&root, &chain.root)?;
                repo::verify(&chain.repo, Some(&root), now)?;
            }
            Entry::MirrorSync => {
                // As `mirror init` leaves it.
                std::fs::create_dir_all(dest.join("metadata"))?;
                let fetcher = mirror::upstream_fetcher(url)?;
                mirror::sync(
                    dest,
                    &fetcher,
                    &chain.root,
                    &mirror::Selection::default(),
                    2,
                    mirror::no_progress(),
                    now,
                )
                .await?;
            }
            Entry::BundleImport => {
                let b = work.join(format!("{}.x0x-bundle", chain.timestamps.len()));
                chain.bundle(&b);
                bundle::import_repo(&b, dest, Some(&chain.root), now)?;
            }
            Entry::PublishingClient => {
                let c = x0x_dist::client::Client::new(url, "no-token-needed-to-read")?;
                let role = c
                    .current_role(&"x0x".parse()?, Some(&chain.root), &key("publisher"))
                    .await?;
                anyhow::ensure!(role.is_some(), "no current role");
            }
        }
        Ok(())
    }
}

async fn run_case(entry: Entry, case: &Case) {
    let tmp = tempfile::tempdir().unwrap();
    let mut chain = Chain::new(&tmp.path().join("srv"));
    let server = StaticServer::start(&chain.serve_root);
    let dest = tmp.path().join("dest");
    let what = format!("{} / {case:?}", entry.name());
    if case.stateful && entry.has_memory() {
        entry
            .run(&chain, &server.url(), &dest, tmp.path())
            .await
            .unwrap_or_else(|e| panic!("{what}: the good chain: {e:#}"));
    }
    let before = served(&dest);
    let tampered = (case.apply)(&mut chain);
    let r = entry.run(&chain, &server.url(), &dest, tmp.path()).await;
    if case.stateful && !entry.has_memory() {
        // Nothing to compare with: the older chain is valid on its own.
        r.unwrap_or_else(|e| panic!("{what}: the older chain on its own: {e:#}"));
        return;
    }
    let e = r.expect_err(&format!("{what}: accepted"));
    assert_eq!(
        code_of(&e).map(Code::as_str),
        Some(case.code),
        "{what}: {e:#}"
    );
    assert_kept(
        case,
        Kept::Nothing,
        &before,
        &served(&dest),
        &tampered,
        &chain.blobs,
    );
}

#[tokio::test]
async fn the_good_chain_passes_every_entry_point() {
    for entry in Entry::ALL {
        let tmp = tempfile::tempdir().unwrap();
        let chain = Chain::new(&tmp.path().join("srv"));
        let server = StaticServer::start(&chain.serve_root);
        let dest = tmp.path().join("dest");
        entry
            .run(&chain, &server.url(), &dest, tmp.path())
            .await
            .unwrap_or_else(|e| panic!("{}: {e:#}", entry.name()));
        if entry.has_memory() {
            let kept = served(&dest);
            for b in &chain.blobs {
                assert!(kept.values().any(|v| v == b), "{}: a target", entry.name());
            }
        }
    }
}

/// The whole table through every entry point: a failure names the entry point and the case.
#[tokio::test]
async fn every_entry_point_refuses_every_tampering_and_keeps_nothing() {
    for entry in Entry::ALL {
        for case in CASES {
            run_case(entry, case).await;
        }
    }
}
