//! The shared tamper table (`x0x_dist_test_support::tamper::CASES`) through the loader's fetch: a real
//! repository served on loopback, the loader's client with its cache. Every case must fail with the table's
//! code, keep none of the tampered bytes and cache no target. The other entry points run the same table in
//! `cli/tests/tamper.rs`.
use x0x_dist_loader::fetch::{FetchOptions, Fetcher, Location, NoProgress};
use x0x_dist_loader::Client;
use x0x_dist_manifests::codes::Coded as _;
use x0x_dist_test_support::loader::{client, StaticServer};
use x0x_dist_test_support::tamper::{assert_kept, tree, Chain, Kept, CASES};

/// What `x0x-dist fetch` does for every release: refresh the package's metadata, then fetch each target into
/// the cache, verified.
async fn fetch_all(c: &Client, url: &str) -> Result<usize, x0x_dist_loader::Error> {
    let fetcher = Fetcher::new(Location::parse(url)?, FetchOptions::default())?;
    let repo = c.repository("x0x").await?;
    let mut n = 0;
    for (path, _) in repo.package_targets()? {
        let file = repo.target(path.as_str())?;
        let sha = file
            .sha256()
            .map_err(|source| x0x_dist_loader::Error::Metadata {
                context: path.to_string(),
                source,
            })?;
        let stored = repo.stored_path(path.as_str(), &sha.to_hex());
        c.cache()
            .get_or_fetch(&fetcher, &stored, path.as_str(), &file, &NoProgress)
            .await?;
        n += 1;
    }
    Ok(n)
}

#[tokio::test]
async fn the_good_chain_is_fetched() {
    let tmp = tempfile::tempdir().unwrap();
    let chain = Chain::new(&tmp.path().join("srv"));
    let server = StaticServer::start(&chain.serve_root);
    let c = client(&server.url(), &tmp.path().join("cache"), &chain.root);
    assert_eq!(fetch_all(&c, &server.url()).await.unwrap(), 2);
    let cached = tree(&tmp.path().join("cache"));
    for b in &chain.blobs {
        assert!(cached.values().any(|v| v == b), "a target is not cached");
    }
}

#[tokio::test]
async fn every_tampering_is_refused_and_nothing_of_it_kept() {
    for case in CASES {
        let tmp = tempfile::tempdir().unwrap();
        let mut chain = Chain::new(&tmp.path().join("srv"));
        let server = StaticServer::start(&chain.serve_root);
        let cache = tmp.path().join("cache");
        let c = client(&server.url(), &cache, &chain.root);
        if case.stateful {
            fetch_all(&c, &server.url()).await.unwrap();
        }
        let before = tree(&cache);
        let tampered = (case.apply)(&mut chain);
        let err = fetch_all(&c, &server.url())
            .await
            .expect_err(&format!("{case:?}: accepted"));
        assert_eq!(err.code().as_str(), case.code, "{case:?}: {err:#}");
        assert_kept(
            case,
            Kept::NoTamperedFileNoTarget,
            &before,
            &tree(&cache),
            &tampered,
            if case.stateful { &[] } else { &chain.blobs },
        );
    }
}
