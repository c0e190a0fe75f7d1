//! The release lifecycle in the web UI (issue 23): per package, each version's state (published at its signed
//! `custom.published`, yanked with its reason, revoked with its advisory: the verified `revocations` role), the
//! provenance claims its targets carry (`custom.provenance`, `approved_by` for an approved staged release), the
//! staged releases (who staged them, when; never served to loaders), and two forms for a maintainer:
//! approve or reject a staged release, yank a published one.
//!
//! `POST /ui/actions` (an HTML form, `application/x-www-form-urlencoded`): `token` (an upload token for the
//! package, as the API's `Authorization: Bearer`), `package`, `version`, `action` (`approve` | `reject` |
//! `yank`), `reason` (yank). The same checks as the API run ([`crate::auth::authorize`], [`staging::approve`]
//! with the server's online key and [`staging::reject`] — another identity than the stager's,
//! `release.self_approval` otherwise —,
//! [`crate::revocations::set`]). Success answers `303 See Other` back to the package on `/`; a refusal is a
//! page naming the stable code, with the code's HTTP status. The token travels in the form body only: no
//! cookie or session exists, so another site cannot make a browser act (no CSRF), and nothing is remembered.
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{Form, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;
use x0x_dist_manifests::codes::Coded as _;
use x0x_dist_manifests::metadata::{RevocationState, Revocations};
use x0x_dist_manifests::{PackageName, TargetFile, TargetPath};

use crate::error::ApiError;
use crate::staging::{self, StagedRelease};
use crate::state::AppState;

use super::html::esc;

/// The staged releases of each package, for the page (a package whose staging file cannot be read shows none).
pub async fn staged(st: &AppState, packages: &[String]) -> BTreeMap<String, Vec<StagedRelease>> {
    let mut out = BTreeMap::new();
    for p in packages {
        let Ok(pkg) = p.parse::<PackageName>() else {
            continue;
        };
        match staging::load(st, &pkg).await {
            Ok(f) => {
                out.insert(p.clone(), f.staged);
            }
            Err(e) => {
                tracing::warn!(package = %p, error = %e, "web UI: staged releases unreadable");
            }
        }
    }
    out
}

fn claims(v: Option<&Value>) -> String {
    let Some(Value::Object(m)) = v else {
        return String::new();
    };
    let mut s = String::from("<ul class=\"claims\">");
    for (k, v) in m {
        let v = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let _ = write!(
            s,
            "<li><code>{}</code> = <code>{}</code></li>",
            esc(k),
            esc(&v)
        );
    }
    s.push_str("</ul>");
    s
}

/// The lifecycle table and the maintainer forms of one package.
pub fn render_package(
    h: &mut String,
    package: &str,
    versions: &BTreeMap<semver::Version, Vec<(TargetPath, &TargetFile)>>,
    revocations: Option<&Revocations>,
    staged: &[StagedRelease],
) {
    let _ = write!(
        h,
        "<h3>Lifecycle of <code>{}</code></h3><table class=\"lifecycle\"><tr><th>version</th><th>state</th><th>published</th><th>provenance</th></tr>",
        esc(package)
    );
    for (v, targets) in versions.iter().rev() {
        let vs = v.to_string();
        let (class, state) = match revocations.and_then(|r| r.get(package, &vs)) {
            Some(r) if r.state == RevocationState::Revoked => {
                let adv = r
                    .advisory
                    .as_deref()
                    .map(|a| format!(" — advisory <a href=\"{}\">{}</a>", esc(a), esc(a)))
                    .unwrap_or_default();
                (
                    "revoked",
                    format!(
                        "<span class=\"bad\">revoked</span> since {}: {}{adv}",
                        esc(&r.at),
                        esc(&r.reason)
                    ),
                )
            }
            Some(r) => (
                "yanked",
                format!(
                    "<span class=\"warn\">yanked</span> since {}: {}",
                    esc(&r.at),
                    esc(&r.reason)
                ),
            ),
            None => (
                "published",
                "<span class=\"ok\">published</span>".to_owned(),
            ),
        };
        let published = targets
            .iter()
            .filter_map(|(_, t)| t.published())
            .max()
            .map_or_else(|| "—".into(), |t| esc(&super::html::fmt_time(t)));
        // One release's targets carry the same provenance; show the first that has one.
        let prov = targets
            .iter()
            .find_map(|(_, t)| t.custom.as_ref().and_then(|c| c.get("provenance")))
            .map_or_else(
                || "signed with the publisher's key".into(),
                |p| claims(Some(p)),
            );
        let _ = write!(
            h,
            "<tr class=\"state-{class}\" data-version=\"{}\"><td>{}</td><td>{state}</td><td>{published}</td><td>{prov}</td></tr>",
            esc(&vs),
            esc(&vs)
        );
    }
    h.push_str("</table>");
    let _ = write!(
        h,
        "<h3>Staged releases of <code>{}</code></h3>",
        esc(package)
    );
    if staged.is_empty() {
        h.push_str("<p class=\"staged-none\">None. Staged releases are never served to loaders until approved.</p>");
    } else {
        h.push_str("<p>Not signed in, never served to loaders; another identity than the stager's approves one.</p>\
                    <table class=\"staged\"><tr><th>version</th><th>staged by</th><th>staged at</th><th>files</th><th>claims</th></tr>");
        for s in staged {
            let _ = write!(
                h,
                "<tr class=\"staged-release\" data-version=\"{}\"><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&s.version),
                esc(&s.version),
                esc(&s.staged_by),
                esc(&s.staged_at),
                s.targets.len(),
                claims(Some(&Value::Object(s.provenance.clone())))
            );
        }
        h.push_str("</table>");
    }
    // The maintainer's forms: an upload token for the package authenticates each action.
    let options = |list: &mut dyn Iterator<Item = String>| {
        list.fold(String::new(), |mut o, v| {
            let _ = write!(o, "<option value=\"{}\">{}</option>", esc(&v), esc(&v));
            o
        })
    };
    let p = esc(package);
    if !staged.is_empty() {
        let opts = options(&mut staged.iter().map(|s| s.version.clone()));
        let _ = write!(
            h,
            "<form class=\"approve\" method=\"post\" action=\"/ui/actions\">\
             <input type=\"hidden\" name=\"package\" value=\"{p}\"><label>Staged <select name=\"version\">{opts}</select></label> \
             <label>token <input type=\"password\" name=\"token\" autocomplete=\"off\" required></label> \
             <button type=\"submit\" name=\"action\" value=\"approve\" class=\"approve\">Approve (the server signs it in)</button> \
             <button type=\"submit\" name=\"action\" value=\"reject\" class=\"reject\">Reject (drop it, never served)</button></form>"
        );
    }
    let yankable: Vec<String> = versions
        .keys()
        .rev()
        .map(ToString::to_string)
        .filter(|v| revocations.and_then(|r| r.get(package, v)).is_none())
        .collect();
    if !yankable.is_empty() {
        let opts = options(&mut yankable.into_iter());
        let _ = write!(
            h,
            "<form class=\"yank\" method=\"post\" action=\"/ui/actions\"><input type=\"hidden\" name=\"action\" value=\"yank\">\
             <input type=\"hidden\" name=\"package\" value=\"{p}\"><label>Yank <select name=\"version\">{opts}</select></label> \
             <label>reason <input name=\"reason\" required maxlength=\"1024\"></label> \
             <label>token <input type=\"password\" name=\"token\" autocomplete=\"off\" required></label> \
             <button type=\"submit\">Yank</button></form>"
        );
    }
}

/// The form of `POST /ui/actions`.
#[derive(Debug, Deserialize)]
#[allow(clippy::struct_field_names)] // `action` is the form field's name
pub struct Action {
    token: String,
    package: String,
    version: String,
    action: String,
    #[serde(default)]
    reason: String,
}

/// Marks an HTML page that names the stable code of its error (the router leaves it as it is instead of
/// rewriting it as `{"code", "detail"}` JSON).
#[derive(Clone, Copy, Debug)]
pub struct CodedPage;

fn refused(e: &ApiError) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>refused</title></head><body>\
         <h1>Refused</h1><p class=\"bad\" id=\"refusal\"><code>{}</code> — {}</p><p><a href=\"/\">back</a></p></body></html>",
        esc(e.code().as_str()),
        esc(&e.to_string())
    );
    let mut r = (
        e.status(),
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response();
    r.extensions_mut().insert(CodedPage);
    r
}

/// `POST /ui/actions` (see the module docs).
pub async fn action(State(st): State<Arc<AppState>>, Form(a): Form<Action>) -> Response {
    match run(&st, &a).await {
        Ok(()) => (
            StatusCode::SEE_OTHER,
            [(header::LOCATION, format!("/#pkg-{}", a.package))],
        )
            .into_response(),
        Err(e) => {
            tracing::info!(package = %a.package, version = %a.version, action = %a.action, code = %e.code(), "web UI action refused");
            refused(&e)
        }
    }
}

async fn run(st: &AppState, a: &Action) -> Result<(), ApiError> {
    if st.config.replica.publish_via.is_some() {
        return Err(ApiError::BadRequest(
            "this replica forwards publishing: use the web UI of the publish leader".into(),
        ));
    }
    let pkg: PackageName = a.package.parse()?;
    let who = crate::auth::authorize(
        st,
        Some(&format!("Bearer {}", a.token.trim())),
        Some(pkg.as_str()),
    )
    .await?;
    match a.action.as_str() {
        "approve" => {
            staging::approve(st, &pkg, &a.version, &who, None).await?;
        }
        "reject" => {
            staging::reject(st, &pkg, &a.version, &who).await?;
        }
        "yank" => {
            crate::revocations::set(
                st,
                &pkg,
                crate::revocations::RevokeRequest {
                    version: a.version.clone(),
                    state: RevocationState::Yanked,
                    reason: a.reason.clone(),
                    advisory: None,
                },
                &who,
            )
            .await?;
        }
        other => {
            return Err(ApiError::BadRequest(format!(
                "unknown action {}",
                crate::wire::quote(other)
            )))
        }
    }
    tracing::info!(package = %pkg, version = %a.version, action = %a.action, by = %who.id, "web UI action");
    Ok(())
}
