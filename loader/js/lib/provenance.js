'use strict';
// Required provenance (X0X_DIST_REQUIRE_PROVENANCE, issue 23), the same rule as loader/src/provenance.rs: a
// release is loaded only if its target carries signed provenance (`custom.provenance`, written by the server
// when it signs a trusted-publishing release with its online key: the verified OIDC claims of the CI run that
// published it) whose `issuer` is ISSUER exactly and, for `ISSUER|REPOSITORY`, whose `repository` (GitHub
// Actions) or `project_path` (GitLab CI) claim is REPOSITORY exactly. The JS loader never picks a version (npm
// did), so a release without it is refused with `loader.provenance`; the warm path re-checks the provenance the
// record kept (lib/warm.js).
const { err } = require('./errors');

/** Parses `ISSUER` or `ISSUER|REPOSITORY` (null: off); throws config.invalid. */
function parse(value) {
  const v = (value || '').trim();
  if (!v) return null;
  const i = v.indexOf('|');
  const issuer = (i < 0 ? v : v.slice(0, i)).trim();
  const repository = i < 0 ? null : v.slice(i + 1).trim();
  if (!/^https?:\/\/\S+$/.test(issuer) || (repository !== null && (!repository || repository.includes('|')))) {
    throw err('config.invalid', `X0X_DIST_REQUIRE_PROVENANCE=${JSON.stringify(value)} is not ISSUER or ISSUER|REPOSITORY (ISSUER an https:// URL; docs/loader.md)`);
  }
  return { issuer, repository };
}

/** Why `prov` (a target's custom.provenance) does not satisfy `req`, or null if it does. */
function mismatch(req, prov) {
  if (!prov || typeof prov !== 'object' || Array.isArray(prov)) return 'has no signed provenance (it was not published through trusted publishing signed by the server)';
  const s = (k) => (typeof prov[k] === 'string' ? prov[k] : null);
  if (s('issuer') !== req.issuer) return `has provenance from issuer ${s('issuer') || '(none)'}, not ${req.issuer}`;
  if (req.repository !== null) {
    const got = s('repository') || s('project_path');
    if (got !== req.repository) return `has provenance from repository ${got || '(none)'}, not ${req.repository}`;
  }
  return null;
}

function show(req) {
  return req.repository === null ? req.issuer : `${req.issuer}|${req.repository}`;
}

/** Throws loader.provenance (a lifecycle answer: every candidate gets it) when `info` lacks the required provenance. */
function check(r, info) {
  const req = r.cfg.requireProvenance;
  if (!req) return;
  const why = mismatch(req, info && info.custom && info.custom.provenance);
  if (why === null) return;
  const e = err('loader.provenance', `${r.pkg} ${r.version} is refused: ${info.path || 'its target'} ${why} (X0X_DIST_REQUIRE_PROVENANCE=${show(req)})`);
  e.lifecycle = true;
  throw e;
}

/** One line of sorted `key=value` pairs (what `x0x doctor` prints, as `x0x-dist verify`). */
function summary(prov) {
  return Object.keys(prov)
    .sort()
    .map((k) => `${k}=${typeof prov[k] === 'string' ? prov[k] : JSON.stringify(prov[k])}`)
    .join(' ')
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, '?'); // signed, but still never a terminal escape
}

module.exports = { parse, mismatch, check, summary };
