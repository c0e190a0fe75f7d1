//! The x0x-dist artifact server: the HTTP API, its storage, publishing, replicas and the pull-through mirror.
//! The offline repository operations it builds on are `x0x_dist_repository`.
//!
//! Server layout: [`router`] (every route and the middleware stack), [`routes`] (one module per resource),
//! [`config`] (one struct per concern), [`error`] (the error enum and its HTTP rendering), [`storage`] (the
//! storage trait and the local-directory store), [`files`] (conditional and range requests, in-memory cache),
//! [`published`] (reading the published state), [`publish`] (checking submitted roles, writing snapshot and
//! timestamp), [`views`] (the packages' JSON views), [`wire`] (the JSON and headers both sides exchange), [`tokens`], [`metrics`],
//! [`openapi`], [`server`] (listener, graceful shutdown, timestamp refresher), [`connections`] (connection cap, idle and
//! first-request deadlines, accept back-off).
// URL and file names are case-sensitive by design (napi names are lower case; `.JSON` is not metadata).
#![allow(clippy::case_sensitive_file_extension_comparisons)]

pub mod admin;
pub mod auth;
pub mod config;
pub mod connections;
pub mod coordinator;
pub mod crash_point;
pub mod error;
pub mod files;
pub mod forward;
pub mod gc;
pub mod metrics;
pub mod migrate;
pub mod mirror;
pub mod npm;
pub mod oidc;
pub mod openapi;
pub mod publish;
pub mod published;
pub mod revocations;
pub mod router;
pub mod routes;
pub mod server;
pub mod staging;
pub mod state;
pub mod storage;
pub mod tokens;
pub mod views;
pub mod wire;
