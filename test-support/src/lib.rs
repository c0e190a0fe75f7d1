//! What the workspace's integration tests share (a dev-dependency of each crate that has them), so that no test
//! helper exists twice:
//! - [`fixture`]: a repository in the server's layout built with the manifests crate, the in-process server
//!   (`x0x-dist-server`'s router) and signed releases (server/tests, cli/tests);
//! - [`cli`]: running the real `x0x-dist` binary (cli/tests);
//! - [`mirror`]: origin repositories (also signed in the past), servers on loopback, bundles, a Node package
//!   running the real JS loader (cli/tests: mirror, bundle);
//! - [`live`]: a real server on a loopback port in this process, and raw HTTP/1.1 requests (server/tests);
//! - [`logs`]: capturing the server's `tracing` output (server/tests);
//! - [`crash`]: what a repository must look like after a writer was killed (crash tests);
//! - [`s3`]: a real S3 engine (Garage) named by `X0X_S3_ENV`;
//! - [`postgres`]: a private PostgreSQL cluster on a loopback port (the coordinator's tests);
//! - [`loader`]: a repository on disk served by a static HTTP server with fault injection (loader/tests);
//! - [`softhsm`]: a private SoftHSM2 token with keys generated on it (PKCS#11 tests);
//! - [`lifecycle`]: a served origin with releases, yanks and revocations (cli/tests);
//! - [`tamper`]: the shared tamper table every entry point that verifies a chain runs (loader/tests, cli/tests).
// Tests write fixtures and tamper with files directly: durability is not what they exercise.
#![allow(clippy::disallowed_methods)]
#![allow(clippy::missing_panics_doc)]

pub mod cli;
pub mod crash;
pub mod fixture;
pub mod lifecycle;
pub mod live;
pub mod loader;
pub mod logs;
pub mod mirror;
pub mod oidc;
pub mod postgres;
pub mod s3;
pub mod softhsm;
pub mod store;
pub mod tamper;
