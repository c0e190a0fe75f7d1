'use strict';
// `npx x0x doctor`: host, candidates, why each platform package is (not) installed (lib/platform-cause.js) and
// a real resolution through lib/loader.js. Off the require() path.

const fs = require('fs');
const path = require('path');
const { platformPackageCause } = require('./platform-cause');

/** The full report of `npx x0x doctor`: host, candidates, platform package status, and a real resolution. */
function diagnose(pkgDir, env = process.env) {
  const { context } = require('./warm');
  const { detectHost, describeHost, rankCandidates } = require('./host');
  const { table } = require('./platforms');
  const report = { ok: false, package: null, host: null, permission: null, candidates: [], platformPackages: [], resolution: null };
  let ctx;
  try {
    ctx = context(pkgDir, env);
  } catch (e) {
    report.resolution = { error: { code: e.code, message: e.message } };
    return report;
  }
  report.package = { name: ctx.pkg, version: ctx.version, dir: pkgDir, cacheDir: ctx.cfg.cacheDir, anchor: ctx.anchorFile };
  const host = detectHost();
  report.host = { ...host, description: describeHost(host) };
  report.permission = require('./permission').permissionState();
  const rows = table(path.join(pkgDir, 'platforms.json'));
  const cands = rankCandidates(host, rows, ctx.cfg.forceWasm);
  report.candidates = cands.map((c) => ({ name: c.name, kind: c.kind }));
  let optional = {};
  try {
    optional = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).optionalDependencies || {};
  } catch {
    /* none */
  }
  for (const c of cands.filter((x) => x.kind === 'native')) {
    const name = `@${ctx.scope}/core-${c.name}`;
    let dir = null;
    try {
      dir = path.dirname(require.resolve(`${name}/package.json`, { paths: [pkgDir] }));
    } catch {
      /* not installed */
    }
    const entry = { name, optionalDependency: Object.prototype.hasOwnProperty.call(optional, name), installed: Boolean(dir), dir };
    if (!dir && !entry.optionalDependency) {
      // Packed without --platform-packages: there is no such package to install; never suggest one.
      Object.assign(entry, {
        cause: 'not-packaged',
        evidence: [`${ctx.pkg} ${ctx.version} lists no ${name} (packed without platform packages)`],
        next: 'the binary comes from the repository (X0X_DIST_URL, or the one pack.js --repo recorded) or a bundle (X0X_DIST_BUNDLE)',
      });
    } else if (!dir) Object.assign(entry, platformPackageCause({ pkgDir, scope: ctx.scope, pkg: ctx.pkg, version: ctx.version, wanted: c.name, host, rows, env }));
    report.platformPackages.push(entry);
  }
  const { Resolver } = require('./loader');
  const r = new Resolver({ pkgDir, env, ctx, skipWarm: true });
  try {
    const res = r.resolve();
    report.resolution = { platform: res.platform, kind: res.kind, source: res.source, file: res.file, attempts: (res.attempts || []).map(({ name, code, reason }) => ({ name, code, reason })) };
    // The signed provenance of the loaded target (trusted publishing signed online by the server), or null.
    let info = null;
    try {
      info = res.target ? r.lookup(res.target) : null;
    } catch {
      /* shown as none */
    }
    report.resolution.provenance = (info && info.custom && info.custom.provenance) || null;
    report.ok = true;
  } catch (e) {
    report.resolution = { error: { code: e.code, message: e.message, candidates: e.candidates, hints: e.hints } };
  }
  report.trace = r.trace;
  // Verification failures recorded by earlier loads (lib/loader.js: a candidate whose bytes or metadata did
  // not match what was signed while another one was loaded).
  report.verifyFailures = require('./loader').readVerifyFailures(ctx.cfg.cacheDir).slice(-10);
  return report;
}

function render(rep) {
  const out = [];
  if (rep.package) out.push(`package   ${rep.package.name} ${rep.package.version} (${rep.package.dir})`, `cache     ${rep.package.cacheDir}`, `anchor    ${rep.package.anchor}`);
  if (rep.host) out.push(`host      ${rep.host.description}`);
  if (rep.permission && rep.permission.enabled) out.push(`permission model on: addons ${rep.permission.addons ? 'allowed' : 'denied'}, WASI ${rep.permission.wasi ? 'allowed' : 'denied'}, child processes ${rep.permission.child ? 'allowed' : 'denied'}`);
  out.push(`candidates ${rep.candidates.map((c) => c.name).join(', ') || 'none'}`);
  for (const p of rep.platformPackages) {
    if (p.installed) out.push(`  ${p.name}: installed (${p.dir})`);
    else out.push(`  ${p.name}: not installed — ${p.cause}: ${p.evidence.join('; ')}`, `    next: ${p.next}`);
  }
  const res = rep.resolution || {};
  if (res.error) out.push(`result    FAILED [${res.error.code}] ${res.error.message}`);
  else out.push(`result    ${res.platform} (${res.kind}) from ${res.source}: ${res.file}`);
  if (!res.error) out.push(res.provenance ? `provenance (signed by the server's online key): ${require('./provenance').summary(res.provenance)}` : 'provenance none (signed by a publisher key, no trusted-publishing claims)');
  for (const a of res.attempts || []) out.push(`  rejected ${a.name}: ${a.reason}`);
  const events = rep.verifyFailures || [];
  if (events.length) {
    out.push(`SECURITY  ${events.length} verification failure(s) recorded (a file did not match its signed metadata; report to the repository operator):`);
    for (const e of events) out.push(`  ${e.at} [${e.code}] ${e.file}: loaded ${e.loadedInstead} instead`);
  }
  return `${out.join('\n')}\n`;
}

module.exports = { diagnose, render };
