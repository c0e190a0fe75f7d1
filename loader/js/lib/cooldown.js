'use strict';
// Release-age cooldown (issue 23): X0X_DIST_MIN_RELEASE_AGE against the signed publish time of the release
// (`custom.published` of its target, RFC 3339, written at publish: by the server when it signs online, else by
// the publisher within the server's clock bounds). The JS loader never picks a version (npm did), so a pinned
// release that is too young is refused with `loader.too_young`, naming when it becomes eligible; the Rust
// loader's `fetch --version RANGE` skips such releases instead. A target without a publish time (published
// before publish times existed) is treated as old.
const { err } = require('./errors');

/** The signed publish time of `info` (ms since the epoch), or null. */
function publishedAt(info) {
  const p = info && info.custom && info.custom.published;
  if (typeof p !== 'string') return null;
  const t = Date.parse(p);
  return Number.isNaN(t) ? null : t;
}

/** Throws loader.too_young (a lifecycle answer: every candidate gets it) when the release is too young. */
function check(r, info, now = Date.now()) {
  const age = r.cfg.minReleaseAgeS;
  if (!age) return;
  const at = publishedAt(info);
  if (at === null) return;
  const eligible = at + age * 1000;
  if (eligible <= now) return;
  const e = err('loader.too_young', `${r.pkg} ${r.version} was published at ${new Date(at).toISOString()}, less than X0X_DIST_MIN_RELEASE_AGE=${r.cfg.minReleaseAgeS}s ago: it becomes eligible at ${new Date(eligible).toISOString()} (or pin an older release)`, {
    publishedAt: new Date(at).toISOString(),
    eligibleAt: new Date(eligible).toISOString(),
  });
  e.lifecycle = true;
  throw e;
}

module.exports = { check, publishedAt };
