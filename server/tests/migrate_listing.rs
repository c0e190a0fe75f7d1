//! `migrate` copies and checks what the signed metadata references, whatever the source's listing shows: an
//! engine's listing can miss an object that a read by name finds (stage 75 saw Garage's listing miss a target
//! after a node came back, and the copy lacked it). Here the source's listing leaves out one target, its blob and
//! one versioned role file; the copy still has all three, both phases say how many were unlisted, and the check
//! of the copy passes.
use std::sync::Arc;

use x0x_dist_server::migrate::{self, NoProgress};
use x0x_dist_server::storage::local::LocalStore;
use x0x_dist_server::storage::{Area, ObjectKey, ObjectPath, Store};
use x0x_dist_test_support::fixture::{release, repo};
use x0x_dist_test_support::store::{Hook, Watched, Writes};

#[tokio::test]
async fn migrate_copies_what_the_metadata_references_that_the_listing_misses() {
    let fx = repo(1);
    let st = fx.state().await;
    release(&fx, &st, None, "1.0.0").await;
    let local: Arc<dyn Store> = Arc::new(LocalStore::open(fx.path()).unwrap());
    let src = Watched::new(local.clone(), Writes::default(), Hook::default());

    let target = local.list(Area::Targets).await.unwrap().remove(0);
    let blob = target
        .rsplit('/')
        .next()
        .unwrap()
        .split('.')
        .next()
        .unwrap()
        .to_owned();
    let role = local
        .list(Area::Metadata)
        .await
        .unwrap()
        .into_iter()
        .find(|n| n.starts_with("1.") && n != "1.root.json" && n != "1.snapshot.json")
        .expect("a versioned role file");
    src.hide_from_listing(Area::Targets, &target);
    src.hide_from_listing(Area::Blobs, &blob);
    src.hide_from_listing(Area::Metadata, &role);
    assert!(!src.list(Area::Targets).await.unwrap().contains(&target));

    let out = tempfile::tempdir().unwrap();
    let dst = LocalStore::open(out.path()).unwrap();
    let report = migrate::copy(&*src, &dst, 4, &NoProgress).await.unwrap();
    assert_eq!(report.unlisted, 3, "{report:?}");
    let path = ObjectPath::parse(&target).unwrap();
    assert_eq!(
        dst.target_len(&path).await.unwrap(),
        local.target_len(&path).await.unwrap(),
        "the unlisted target {target} was copied"
    );
    let key = ObjectKey::metadata(&role).unwrap();
    assert_eq!(
        dst.get_object(&key).await.unwrap().map(|o| o.bytes),
        local.get_object(&key).await.unwrap().map(|o| o.bytes),
        "the unlisted role {role} was copied"
    );
    let verified = migrate::verify(&*src, &dst, 4, &NoProgress).await.unwrap();
    assert_eq!(verified.unlisted, 3, "{verified:?}");

    // The check reads by name too: the hidden target removed from the copy is a problem it reports.
    std::fs::remove_file(out.path().join("targets").join(&target)).unwrap();
    let err = migrate::verify(&*src, &dst, 4, &NoProgress)
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("is missing"), "{err:#}");
}
