//! A real S3 engine for the tests that need one (server/tests: s3_store, coordinator): `X0X_S3_ENV` names the env
//! file `scripts/garage-cluster.sh start DIR` writes. Without it [`engine`] prints a skip line and returns `None`,
//! unless `X0X_REQUIRE_S3=1` (CI), where it fails.
use std::collections::HashMap;

use x0x_dist_server::config::StorageConfig;

/// `KEY=VALUE` lines of a shell env file (`export` and quotes allowed).
pub fn read_env_file(path: &str) -> HashMap<String, String> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("X0X_S3_ENV={path}: cannot read it: {e}"));
    text.lines()
        .filter_map(|l| {
            let l = l.trim();
            let l = l.strip_prefix("export ").unwrap_or(l);
            let (k, v) = l.split_once('=')?;
            if k.starts_with('#') {
                return None;
            }
            let v = v.trim().trim_matches('"').trim_matches('\'');
            Some((k.trim().to_owned(), v.to_owned()))
        })
        .collect()
}

/// The engine's settings, or `None` (and a line saying the test is skipped) when there is none.
pub fn engine() -> Option<(HashMap<String, String>, Vec<String>)> {
    let Ok(path) = std::env::var("X0X_S3_ENV") else {
        assert!(
            std::env::var("X0X_REQUIRE_S3").as_deref() != Ok("1"),
            "X0X_REQUIRE_S3=1 but X0X_S3_ENV is not set: start an engine with `scripts/garage-cluster.sh start DIR` \
             and set X0X_S3_ENV=DIR/env"
        );
        println!(
            "skipped: no S3 engine (set X0X_S3_ENV to the env file of scripts/garage-cluster.sh)"
        );
        return None;
    };
    let env = read_env_file(&path);
    let endpoints: Vec<String> = env
        .get("X0X_S3_ENDPOINTS")
        .unwrap_or_else(|| panic!("{path}: no X0X_S3_ENDPOINTS"))
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    assert!(!endpoints.is_empty(), "{path}: X0X_S3_ENDPOINTS is empty");
    Some((env, endpoints))
}

pub fn s3_config<S: std::hash::BuildHasher>(
    env: &HashMap<String, String, S>,
    endpoint: &str,
    url: &str,
) -> StorageConfig {
    let mut c = StorageConfig {
        url: Some(url.to_owned()),
        ..StorageConfig::default()
    };
    c.s3.endpoint = Some(endpoint.to_owned());
    c.s3.region = env.get("AWS_REGION").cloned();
    c.s3.access_key_id = env.get("AWS_ACCESS_KEY_ID").cloned();
    c.s3.secret_access_key = env.get("AWS_SECRET_ACCESS_KEY").cloned();
    c
}

/// A prefix of the bucket no other run uses, under `tag/`.
pub fn unique_prefix(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{tag}/{}-{nanos}", std::process::id())
}
