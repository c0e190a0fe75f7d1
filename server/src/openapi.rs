//! The OpenAPI 3.1 description of every route (a test checks it matches the router's route table).
use serde_json::{json, Value};

fn err_responses(codes: &[(&str, &str)]) -> Value {
    let mut m = serde_json::Map::new();
    for (status, desc) in codes {
        m.insert((*status).to_owned(), json!({"description": desc, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}));
    }
    Value::Object(m)
}

fn merge(a: Value, b: Value) -> Value {
    let (Value::Object(mut a), Value::Object(b)) = (a, b) else {
        return Value::Null;
    };
    a.extend(b);
    Value::Object(a)
}

fn param(name: &str, location: &str, desc: &str) -> Value {
    json!({"name": name, "in": location, "required": location == "path", "description": desc, "schema": {"type": "string"}})
}

fn file_get(summary: &str, p: &Value, head: bool) -> Value {
    let ok = json!({
        "200": {"description": "The file (gzip for JSON when accepted).", "headers": {"ETag": {"schema": {"type": "string"}}, "Cache-Control": {"schema": {"type": "string"}}}},
        "206": {"description": "The requested byte range."},
        "304": {"description": "Not modified (If-None-Match)."},
    });
    json!({
        "summary": if head { format!("{summary} (headers only)") } else { summary.to_owned() },
        "parameters": [p, param("Range", "header", "A single byte range"), param("If-None-Match", "header", "ETags")],
        "responses": merge(ok, err_responses(&[("400", "Invalid path"), ("404", "No such file"), ("416", "Range not satisfiable")])),
    })
}

/// The document.
pub fn document() -> Value {
    let bearer = json!([{"bearer": []}]);
    let name = param("name", "path", "Package name");
    json!({
        "openapi": "3.1.0",
        "info": {"title": "x0x-dist artifact server", "version": env!("CARGO_PKG_VERSION"),
                 "description": "A TUF 1.0 repository (read-only, no auth) with an upload API (bearer tokens scoped to packages). Errors are {code, detail} with stable codes (docs/error-codes.md)."},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "required": ["code", "detail"], "properties": {"code": {"type": "string"}, "detail": {"type": "string"}}},
                "Blob": {"type": "object", "properties": {"sha256": {"type": "string"}, "length": {"type": "integer"}, "created": {"type": "boolean"}}},
            }
        },
        "paths": {
            "/tuf/metadata/{file}": {
                "get": file_get("TUF metadata file (N.role.json immutable; timestamp.json short max-age)", &param("file", "path", "File name"), false),
                "head": file_get("TUF metadata file", &param("file", "path", "File name"), true),
            },
            "/tuf/targets/{path}": {
                "get": file_get("Target file, consistent-snapshot name <package>/<version>/<sha256>.<file>", &param("path", "path", "Target path"), false),
                "head": file_get("Target file", &param("path", "path", "Target path"), true),
            },
            "/api/v1/blobs/sha256/{digest}": {
                "put": {
                    "summary": "Upload a blob by SHA-256 (streamed; stored only if digest and length match; idempotent)",
                    "security": bearer,
                    "parameters": [param("digest", "path", "Lowercase hex SHA-256"), param("package", "query", "Optional: the package the blob is for; the token must be scoped to it (403 otherwise)")],
                    "requestBody": {"required": true, "content": {"application/octet-stream": {}}},
                    "responses": merge(json!({"201": {"description": "Stored", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Blob"}}}}, "200": {"description": "Already stored"}}),
                        err_responses(&[("400", "Digest or length mismatch, bad digest"), ("401", "No or unknown token"), ("403", "Token not scoped to ?package"), ("408", "Upload stalled"), ("413", "Too large"), ("507", "Storage full")])),
                },
                "head": {
                    "summary": "Whether a blob is stored",
                    "security": bearer,
                    "parameters": [param("digest", "path", "Lowercase hex SHA-256"), param("package", "query", "Optional: the package the blob is for; the token must be scoped to it (403 otherwise)")],
                    "responses": merge(json!({"200": {"description": "Stored; Content-Length is its size"}}), err_responses(&[("401", "No or unknown token"), ("404", "Not stored")])),
                },
            },
            "/api/v1/packages": {
                "get": {"summary": "Delegated packages (unsigned convenience JSON)", "responses": {"200": {"description": "{packages: [{name, role_version, versions}]}"}}},
            },
            "/api/v1/packages/{name}": {
                "get": {"summary": "A package's versions × targets with sizes and hashes (unsigned)", "parameters": [name],
                        "responses": merge(json!({"200": {"description": "Package"}}), err_responses(&[("400", "Invalid name"), ("404", "Unknown package")]))},
            },
            "/api/v1/packages/{name}/resolve": {
                "get": {"summary": "Highest version matching a semver range that has a target (unsigned)",
                        "parameters": [name, param("range", "query", "semver range, default *"), param("target", "query", "Rust triple or napi platform name")],
                        "responses": merge(json!({"200": {"description": "Resolved version and its matching targets"}}), err_responses(&[("400", "Invalid range"), ("404", "No match")]))},
            },
            "/api/v1/packages/{name}/role": {
                "get": {"summary": "The package's current signed delegated role (as served under /tuf/metadata)", "parameters": [name],
                        "responses": merge(json!({"200": {"description": "Signed targets metadata"}}), err_responses(&[("404", "Unknown package or nothing published")]))},
                "post": {
                    "summary": "Submit the package's next signed role: checked (signatures, threshold, version = current+1, blobs, immutability), then snapshot and timestamp are re-signed",
                    "security": bearer,
                    "parameters": [name],
                    "requestBody": {"required": true, "content": {"application/json": {}}},
                    "responses": merge(json!({"200": {"description": "Published: {package, version, snapshot_version, timestamp_version, added}"}}),
                        err_responses(&[("400", "Rejected metadata (stable code)"), ("401", "No or unknown token"), ("403", "Token not scoped to this package"), ("404", "Unknown package"), ("409", "Concurrent publish, replayed version, changed target or existing version"), ("507", "Storage full")])),
                },
            },
            "/api/v1/packages/{name}/releases": {
                "post": {
                    "summary": "A release without a client signature: {version, targets, stage}. stage=true checks it (paths, custom fields, blobs, platform) and records it as staged, in no signed role; otherwise the server signs it with its online packages key (policy sign_online), recording the uploader's OIDC claims as custom.provenance",
                    "security": bearer,
                    "parameters": [name],
                    "requestBody": {"required": true, "content": {"application/json": {}}},
                    "responses": merge(json!({"200": {"description": "Staged {staged, package, version, staged_by, targets} or published {package, version, snapshot_version, timestamp_version, added}"}}),
                        err_responses(&[("400", "Invalid release, or release.needs_key"), ("401", "No or unknown token"), ("403", "Token not scoped to this package"), ("409", "Version exists or is staged")])),
                },
            },
            "/api/v1/packages/{name}/staged": {
                "get": {"summary": "Staged releases of the package (unsigned JSON; never served under /tuf/)", "parameters": [name],
                        "responses": {"200": {"description": "{package, staged: [{version, targets, staged_by, staged_at, provenance}]}"}}},
            },
            "/api/v1/packages/{name}/staged/{version}/approve": {
                "post": {
                    "summary": "Approve a staged release by another identity than the stager's: body empty (the server signs online) or the approver's signed role adding exactly the staged targets",
                    "security": bearer,
                    "parameters": [name, param("version", "path", "Staged version")],
                    "responses": merge(json!({"200": {"description": "Published: {package, version, snapshot_version, timestamp_version, added}"}}),
                        err_responses(&[("403", "release.self_approval"), ("404", "release.not_staged")])),
                },
            },
            "/api/v1/packages/{name}/staged/{version}/reject": {
                "post": {
                    "summary": "Drop a staged release (another identity than the stager's)",
                    "security": bearer,
                    "parameters": [name, param("version", "path", "Staged version")],
                    "responses": merge(json!({"200": {"description": "{rejected, package, version}"}}),
                        err_responses(&[("403", "release.self_approval"), ("404", "release.not_staged")])),
                },
            },
            "/api/v1/packages/{name}/revocations": {
                "post": {
                    "summary": "Yank or revoke a published release ({version, state: yanked|revoked, reason, advisory}): writes the next N.revocations.json (signed with the online snapshot key), snapshot and timestamp",
                    "security": bearer,
                    "parameters": [name],
                    "requestBody": {"required": true, "content": {"application/json": {}}},
                    "responses": merge(json!({"200": {"description": "{package, version, state, revocations_version, snapshot_version}"}}),
                        err_responses(&[("401", "No or unknown token"), ("403", "Token not scoped to this package"), ("404", "version.not_found"), ("409", "release.revoked")])),
                },
            },
            "/api/v1/oidc/token": {
                "post": {
                    "summary": "Trusted publishing: exchange a CI provider's OIDC ID token ({package, token}) for a short-lived upload token scoped to the package (docs/trusted-publishing.md)",
                    "requestBody": {"required": true, "content": {"application/json": {}}},
                    "responses": merge(json!({"200": {"description": "{token, package, expires, principal, sign_online}"}}),
                        err_responses(&[("401", "oidc.malformed, oidc.algorithm, oidc.kid, oidc.signature, oidc.iss, oidc.aud, oidc.exp, oidc.nbf, oidc.iat, oidc.jti"), ("403", "oidc.claim, oidc.no_policy"), ("413", "oidc.too_large"), ("502", "oidc.issuer_unavailable")])),
                },
            },
            "/npm/{path}": {
                "get": merge(json!({
                    "summary": "npm registry view (docs/npm-registry.md): {name} packument (abbreviated with Accept: application/vnd.npm.install-v1+json), {name}/{version|tag}, {name}/-/{file}.tgz (deterministic, checked against the signed target), -/package/{name}/dist-tags, -/ping, -/x0x-dist/record/{package}/{version}; scoped names as @scope%2fname or @scope/name. Unknown packages: proxied to [npm] upstream, else 404 npm.not_hosted.",
                    "parameters": [param("path", "path", "Registry path"), param("Accept", "header", "application/vnd.npm.install-v1+json for the abbreviated packument"), param("If-None-Match", "header", "ETags")],
                    "responses": {"200": {"description": "JSON document or .tgz", "headers": {"ETag": {"schema": {"type": "string"}}, "Cache-Control": {"schema": {"type": "string"}}}}, "304": {"description": "Not modified"}},
                }), json!({})),
                "head": {"summary": "npm registry view (headers only)", "parameters": [param("path", "path", "Registry path")], "responses": merge(json!({"200": {"description": "headers"}}), err_responses(&[("404", "Not hosted")]))},
                "post": {"summary": "npm audit: -/npm/v1/security/advisories/bulk lists the revoked releases among the versions asked for (severity high, url = the advisory); -/npm/v1/security/audits/quick answers with none", "parameters": [param("path", "path", "Audit endpoint")],
                    "responses": merge(json!({"200": {"description": "{name: [advisory]} for revoked releases, {} when none"}}), err_responses(&[("400", "Not an audit endpoint or request (npm.invalid_name, usage.invalid)")]))},
            },
            "/": {"get": {"summary": "Web UI: trust status, packages, platform matrix, hashes and expiry (HTML)", "responses": {"200": {"description": "text/html"}}}},
            "/ui/actions": {"post": {"summary": "Web UI form: approve or reject a staged release or yank a published one (fields token, package, version, action approve|reject|yank, reason); 303 back to / or an HTML page naming the refusal's code", "requestBody": {"content": {"application/x-www-form-urlencoded": {}}}, "responses": {"303": {"description": "done"}, "4XX": {"description": "text/html refusal with the stable code"}}}},
            "/healthz": {"get": {"summary": "Liveness", "responses": {"200": {"description": "ok"}}}},
            "/livez": {"get": {"summary": "Liveness: the process answers", "responses": {"200": {"description": "ok"}}}},
            "/readyz": {"get": {"summary": "Readiness: repository loaded, store and coordinator database reachable (an expiring timestamp is reported, not a 503)", "responses": {"200": {"description": "ready"}, "503": {"description": "not ready"}}}},
            "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "text/plain; version=0.0.4"}}}},
            "/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1"}}}},
        }
    })
}

/// Every (method, path) in the document.
pub fn operations() -> Vec<(String, String)> {
    let doc = document();
    let mut ops = Vec::new();
    if let Some(paths) = doc["paths"].as_object() {
        for (path, item) in paths {
            if let Some(item) = item.as_object() {
                for method in item.keys() {
                    ops.push((method.clone(), path.clone()));
                }
            }
        }
    }
    ops.sort();
    ops
}
