//! HTTP handlers, one module per resource.
pub mod blobs;
mod html;
pub mod npm;
pub mod oidc;
pub mod ops;
pub mod packages;
pub mod releases;
pub mod tuf;
pub mod ui;
pub mod ui_lifecycle;
