//! glibc ABI checks: a glibc build whose floor exceeds the host's glibc is rejected with that reason, whether
//! the floor comes from verified metadata (before download) or from the ELF itself (after download, when the
//! metadata understates it), and the loader falls back to WASM.
use x0x_dist_test_support::loader as common;

use common::{candidate, host, payload, serve};
use x0x_dist_loader::fetch::NoProgress;
use x0x_dist_manifests::codes::Coded as _;
use x0x_dist_manifests::Platform;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name),
    )
    .unwrap()
}

#[tokio::test]
async fn floor_from_metadata_rejects_before_download() {
    let tmp = tempfile::tempdir().unwrap();
    let (_repo, server, c) = serve(
        tmp.path(),
        &[(
            "1.0.0",
            &[
                (
                    Platform::LinuxX64Gnu,
                    fixture("glibc-2.99.so"),
                    Some("2.99"),
                ),
                (Platform::Wasm32Wasip1, payload(2, 1000), None),
            ],
        )],
    );
    let (_, res, sel) = common::best_on(&c, "x86_64-unknown-linux-gnu", Some("2.36"))
        .await
        .unwrap();
    assert_eq!(sel.candidate.platform_name(), "wasm32-wasip1");
    let native = candidate(&res, "linux-x64-gnu");
    assert_eq!(native.rank, None);
    assert_eq!(native.reason, "rejected: needs glibc 2.99, host has 2.36");
    assert!(
        server.requests_for("x0x.linux-x64-gnu.node").is_empty(),
        "never downloaded"
    );

    // The same release on a newer host takes the native build.
    let (_, _, sel) = common::best_on(&c, "x86_64-unknown-linux-gnu", Some("2.99"))
        .await
        .unwrap();
    assert_eq!(sel.candidate.platform_name(), "linux-x64-gnu");
}

#[tokio::test]
async fn floor_from_elf_rejects_after_download() {
    let tmp = tempfile::tempdir().unwrap();
    // Metadata claims 2.17; the binary's .gnu.version_r needs GLIBC_2.99.
    let (_repo, _server, c) = serve(
        tmp.path(),
        &[(
            "1.0.0",
            &[
                (
                    Platform::LinuxX64Gnu,
                    fixture("glibc-2.99.so"),
                    Some("2.17"),
                ),
                (Platform::Wasm32Wasip1Threads, payload(2, 1000), None),
            ],
        )],
    );
    let (_, res, sel) = common::best_on(&c, "x86_64-unknown-linux-gnu", Some("2.36"))
        .await
        .unwrap();
    assert_eq!(sel.candidate.platform_name(), "wasm32-wasip1-threads");
    assert_eq!(
        candidate(&res, "linux-x64-gnu").reason,
        "rejected after download: ELF needs GLIBC_2.99, host glibc is 2.36"
    );
}

#[tokio::test]
async fn compatible_elf_is_taken_and_wrong_machine_is_not() {
    let tmp = tempfile::tempdir().unwrap();
    let (_repo, _server, c) = serve(
        tmp.path(),
        &[
            (
                "1.0.0",
                &[
                    (Platform::LinuxX64Gnu, fixture("plain.so"), Some("2.2.5")),
                    (Platform::Wasm32Wasip1, payload(2, 10), None),
                ],
            ),
            // An x86_64 ELF published as the arm64 build.
            (
                "1.0.1",
                &[
                    (Platform::LinuxArm64Gnu, fixture("plain.so"), Some("2.17")),
                    (Platform::Wasm32Wasip1, payload(3, 10), None),
                ],
            ),
        ],
    );
    let best = |version: &str, triple: &str, glibc: &str| {
        let req = semver::VersionReq::parse(version).unwrap();
        let host = host(triple, Some(glibc));
        let c = &c;
        async move { c.best("x0x", &req, &host, &NoProgress).await.unwrap() }
    };
    let (_, _, sel) = best("=1.0.0", "x86_64-unknown-linux-gnu", "2.17").await;
    assert_eq!(sel.candidate.platform_name(), "linux-x64-gnu");
    let (_, res, sel) = best("=1.0.1", "aarch64-unknown-linux-gnu", "2.36").await;
    assert_eq!(sel.candidate.platform_name(), "wasm32-wasip1");
    assert_eq!(
        candidate(&res, "linux-arm64-gnu").reason,
        "rejected after download: ELF is for x86_64, host is aarch64"
    );
}

#[tokio::test]
async fn unknown_host_glibc_rejects_glibc_builds() {
    let tmp = tempfile::tempdir().unwrap();
    let (_repo, _server, c) = serve(
        tmp.path(),
        &[(
            "1.0.0",
            &[(Platform::LinuxX64Gnu, fixture("plain.so"), Some("2.17"))],
        )],
    );
    let err = common::best_on(&c, "x86_64-unknown-linux-gnu", None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "loader.no_candidate");
    assert!(
        err.to_string().contains("host glibc version is unknown"),
        "{err}"
    );
}
