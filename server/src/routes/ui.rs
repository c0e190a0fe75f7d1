//! `GET /`: the web UI — one server-rendered HTML page (no JavaScript, no external assets) showing the
//! repository's trust status (each top-level role's version, expiry and whether the whole metadata chain verifies
//! right now), every package with its versions as a platform matrix, and each target's size, SHA-256 and glibc
//! floor, linking to the consistent-snapshot URL a client downloads.
//!
//! The page is built from the metadata, read through the store and verified by the loader's one chain walk
//! ([`x0x_dist_loader::tuf::refresh`]) at request time (from `1.root.json`, as
//! [`x0x_dist_repository::repo::load_trusted`] does for a directory), so what it shows
//! is exactly what a TUF client would accept at this moment; when verification fails the page says so with the
//! stable error code and lists nothing as trusted.
use std::fmt::Write as _;
use std::sync::Arc;

use super::html::{esc, fmt_time};

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use time::OffsetDateTime;
use x0x_dist_manifests::verify::TrustedSet;
use x0x_dist_manifests::Platform;

use crate::state::AppState;
use x0x_dist_manifests::codes::Coded as _;

/// Verifies the store's metadata chain from its `1.root.json`.
async fn load_trusted(
    st: &AppState,
    now: OffsetDateTime,
) -> x0x_dist_repository::Result<TrustedSet> {
    let src = crate::admin::StoreSource {
        store: st.store.clone(),
        timestamp: None,
    };
    let at = st
        .local_dir
        .clone()
        .unwrap_or_else(|| st.store.describe().into());
    src.load_trusted(None, at, now).await
}

/// `GET /`
pub async fn index(State(st): State<Arc<AppState>>) -> Response {
    let now = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| OffsetDateTime::now_utc());
    let loaded = load_trusted(&st, now)
        .await
        .map_err(|e| format!("{} — {e:#}", e.code()));
    let packages: Vec<String> = loaded.as_ref().map_or_else(
        |_| Vec::new(),
        |set| {
            set.all_targets()
                .keys()
                .filter(|n| *n != "targets")
                .cloned()
                .collect()
        },
    );
    let staged = super::ui_lifecycle::staged(&st, &packages).await;
    let html = render(loaded.as_ref().map_err(String::as_str), now, &staged);
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        html,
    )
        .into_response()
}

fn fmt_left(expires: OffsetDateTime, now: OffsetDateTime) -> String {
    let d = expires - now;
    if d.is_negative() {
        return "expired".to_owned();
    }
    let h = d.whole_hours();
    if h >= 48 {
        format!("{} days left", h / 24)
    } else if h >= 1 {
        format!("{h} h left")
    } else {
        format!("{} min left", d.whole_minutes())
    }
}

fn fmt_size(n: u64) -> String {
    if n >= 1 << 20 {
        format!("{:.1} MiB", n as f64 / f64::from(1u32 << 20))
    } else if n >= 1 << 10 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else {
        format!("{n} B")
    }
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:2rem;color:#222}\
h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:2rem}table{border-collapse:collapse;margin:.5rem 0}\
td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}th{background:#f4f4f4}\
.ok{color:#176b2c;font-weight:600}.bad{color:#a4161a;font-weight:600}code{font-size:12px}\
.cell{font-size:12px}.none{color:#aaa;text-align:center}.warn{color:#8a5a00;font-weight:600}\
.claims{margin:0;padding-left:1rem;font-size:12px}form{margin:.5rem 0}";

/// Renders the page for a verification result.
fn render(
    loaded: Result<&TrustedSet, &str>,
    now: OffsetDateTime,
    staged: &std::collections::BTreeMap<String, Vec<crate::staging::StagedRelease>>,
) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>x0x-dist repository</title>\
         <style>{STYLE}</style></head><body><h1>x0x-dist repository</h1>\
         <p>TUF 1.0 repository (consistent snapshots) at <code>/tuf/metadata/</code> and <code>/tuf/targets/</code>. \
         Point a loader at this server with <code>X0X_DIST_URL</code>. Checked at {}.</p>",
        esc(&fmt_time(now))
    );
    let set = match loaded {
        Ok(set) => set,
        Err(e) => {
            let _ = write!(
                h,
                "<p class=\"bad\">The metadata chain does NOT verify now: {}</p>\
                 <p>Clients will refuse this repository until an operator fixes it (see <code>x0x-dist verify</code>).</p>\
                 </body></html>",
                esc(e)
            );
            return h;
        }
    };
    h.push_str("<p class=\"ok\">Signatures and thresholds verify for the whole chain (root → timestamp → snapshot → targets → delegated roles).</p>");
    h.push_str("<h2>Roles</h2><table><tr><th>role</th><th>version</th><th>expires</th><th>status</th></tr>");
    let mut row = |name: &str, version: u64, expires: OffsetDateTime| {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{version}</td><td>{}</td><td class=\"ok\">{}</td></tr>",
            esc(name),
            esc(&fmt_time(expires)),
            esc(&fmt_left(expires, now))
        );
    };
    let root = set.root().signed();
    row("root", root.version, root.expires);
    if let Some(t) = set.timestamp() {
        row("timestamp", t.signed().version, t.signed().expires);
    }
    if let Some(s) = set.snapshot() {
        row("snapshot", s.signed().version, s.signed().expires);
    }
    for (name, t) in set.all_targets() {
        row(name, t.signed().version, t.signed().expires);
    }
    h.push_str("</table>");

    // Delegated roles are the packages (the top-level `targets` role only delegates).
    let packages: Vec<_> = set
        .all_targets()
        .iter()
        .filter(|(n, _)| *n != "targets")
        .collect();
    if packages.is_empty() {
        h.push_str("<h2>Packages</h2><p>No package is published yet. Delegate one with <code>x0x-dist package add</code> and publish with <code>x0x-dist publish</code>.</p>");
    }
    for (name, role) in packages {
        let mut versions: std::collections::BTreeMap<semver::Version, Vec<_>> =
            std::collections::BTreeMap::new();
        for (name, t) in &role.signed().targets {
            // Package artifacts only (the only paths our server publishes).
            let Ok(path) = name.package_target() else {
                continue;
            };
            versions
                .entry(path.version().semver().clone())
                .or_default()
                .push((path, t));
        }
        let _ = write!(
            h,
            "<h2 id=\"pkg-{}\">Package <code>{}</code></h2><p>{} version(s); role version {}.</p>",
            esc(name),
            esc(name),
            versions.len(),
            role.signed().version
        );
        let lifecycle = |h: &mut String| {
            super::ui_lifecycle::render_package(
                h,
                name,
                &versions,
                set.revocations().map(x0x_dist_manifests::Signed::signed),
                staged.get(name.as_str()).map_or(&[], Vec::as_slice),
            );
        };
        if versions.is_empty() {
            lifecycle(&mut h);
            continue;
        }
        h.push_str("<table><tr><th>version</th>");
        for p in Platform::ALL {
            let _ = write!(h, "<th>{}</th>", esc(p.name()));
        }
        h.push_str("</tr>");
        for (v, targets) in versions.iter().rev() {
            let _ = write!(h, "<tr><td>{}</td>", esc(&v.to_string()));
            for p in Platform::ALL {
                let hit = targets
                    .iter()
                    .find(|(_, t)| t.x0x_custom().is_some_and(|c| c.platform == p.name()));
                match hit {
                    Some((path, t)) => {
                        let sha = t.sha256().map(|s| s.to_hex()).unwrap_or_default();
                        let url = format!(
                            "/tuf/targets/{}/{}/{sha}.{}",
                            path.package(),
                            path.version(),
                            path.file_name()
                        );
                        let floor = t
                            .x0x_custom()
                            .and_then(|c| c.glibc_floor)
                            .map(|f| format!("<br>glibc ≥ {}", esc(&f)))
                            .unwrap_or_default();
                        let _ = write!(
                            h,
                            "<td class=\"cell\"><a href=\"{}\" title=\"sha256 {}\">{}</a><br><code>{}…</code>{floor}</td>",
                            esc(&url),
                            esc(&sha),
                            esc(&fmt_size(t.length)),
                            esc(sha.get(..12).unwrap_or(&sha)),
                        );
                    }
                    None => h.push_str("<td class=\"none\">—</td>"),
                }
            }
            h.push_str("</tr>");
        }
        h.push_str("</table>");
        lifecycle(&mut h);
    }
    h.push_str("<p>JSON: <a href=\"/api/v1/packages\">/api/v1/packages</a> · <a href=\"/openapi.json\">/openapi.json</a> · <a href=\"/metrics\">/metrics</a></p></body></html>");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn failed_verification_shows_code_and_no_trusted_content() {
        let html = render(
            Err("metadata.expired — timestamp expired"),
            OffsetDateTime::UNIX_EPOCH,
            &std::collections::BTreeMap::new(),
        );
        assert!(html.contains("does NOT verify"));
        assert!(html.contains("metadata.expired"));
        assert!(!html.contains("Signatures and thresholds verify"));
    }

    #[test]
    fn time_left_is_human() {
        let now = OffsetDateTime::UNIX_EPOCH;
        assert_eq!(fmt_left(now - time::Duration::hours(1), now), "expired");
        assert_eq!(fmt_left(now + time::Duration::days(3), now), "3 days left");
        assert_eq!(fmt_left(now + time::Duration::hours(5), now), "5 h left");
    }
}
