#!/usr/bin/env node
'use strict';
// require('x0x') with the binary from an installed platform package (`@x0x/core-linux-x64-gnu`, npm's
// optionalDependencies model), no network, against napi-rs's generated loader doing the same job (its
// index.js requiring its own platform package `x0x-napi-linux-x64-gnu`). Results in BENCHMARKS.md
// ("Loader", platform packages).
//
// Every sample is a fresh `node` process with process.hrtime.bigint() around the one require; rows are
// interleaved round by round so machine load hits all of them alike. Layout as npm installs it:
//   first   require('x0x') with an empty loader cache and no X0X_DIST_URL: host detection, the release's
//           embedded TUF metadata verified from the shipped root, the platform package's .node hashed
//           (SHA-256 + length against the signed target), copied into the cache, warm record, dlopen
//   warm    require('x0x') again (the record the first require wrote: stats, one read, dlopen)
//   napi    napi-rs's generated index.js (`napi build --platform` / writeJsBinding) in node_modules/x0x-napi,
//           the binary in node_modules/x0x-napi-linux-x64-gnu: what an unverified optionalDependencies
//           loader costs (no cache, so its first and later requires are the same)
//   dlopen  bare process.dlopen of the same file (absolute path): the floor
// The packages come from the real scripts/pack.js --platform-packages over a repository holding the real
// core binary. Runs inside `unshare -n` (no network interface at all) when that works (root).
// Usage: node benches/loader/platform-package.js [--native dist/core/x0x.linux-x64-gnu.node] [--runs 21] [--json]

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { h, options, median, sample, packRelease, untarInto, napiIndexJs } = require('../lib');

const { argv, RUNS, NATIVE } = options(21);
const NONET = spawnSync('unshare', ['-n', 'true']).status === 0 ? ['unshare', '-n'] : [];

function run(cwd, code, env) {
  const [exe, ...pre] = [...NONET, process.execPath];
  return spawnSync(exe, [...pre, '-e', code], { cwd, env, encoding: 'utf8' });
}

async function main() {
  if (!fs.existsSync(NATIVE)) throw new Error(`${NATIVE} missing: cargo xtask build --targets host --out dist/core`);
  const d = h.tmpdir('x0x-pp-bench-');
  try {
    const [platformTgz, x0xTgz] = packRelease(d, NATIVE, ['--platform-packages']).tgzs;
    const cwd = path.join(d, 'project');
    const nm = path.join(cwd, 'node_modules');
    untarInto(x0xTgz, path.join(nm, 'x0x'));
    untarInto(platformTgz, path.join(nm, '@x0x', 'core-linux-x64-gnu'));
    // napi-rs's loader with its own platform package, as `napi build --platform` + `napi prepublish` lay it out.
    const napiDir = path.join(nm, 'x0x-napi');
    fs.mkdirSync(napiDir);
    fs.writeFileSync(path.join(napiDir, 'package.json'), '{"name":"x0x-napi","version":"0.1.0","main":"index.js"}\n');
    await napiIndexJs(napiDir, NATIVE, 'x0x-napi');
    const napiPlat = path.join(nm, 'x0x-napi-linux-x64-gnu');
    fs.mkdirSync(napiPlat);
    fs.copyFileSync(NATIVE, path.join(napiPlat, 'x0x.linux-x64-gnu.node'));
    fs.writeFileSync(path.join(napiPlat, 'package.json'), '{"name":"x0x-napi-linux-x64-gnu","version":"0.1.0","main":"x0x.linux-x64-gnu.node"}\n');

    const base = { ...process.env, HOME: path.join(d, 'home') };
    for (const k of Object.keys(base)) if (k.startsWith('X0X_')) delete base[k];
    let n = 0;
    const freshCache = () => ({ ...base, X0X_DIST_CACHE: path.join(d, `cache-${(n += 1)}`) });
    const warmEnv = { ...base, X0X_DIST_CACHE: path.join(d, 'cache-warm') };
    // Check the sources once: the first require takes the platform package, the second is warm, napi loads.
    const chk = run(cwd, "require('x0x').AgentKeypair.generate()", { ...warmEnv, X0X_DIST_DEBUG: '1' });
    if (chk.status !== 0 || !/loaded linux-x64-gnu from platform-package/.test(chk.stderr)) throw new Error(`not from the platform package: ${chk.stderr}`);
    const chk2 = run(cwd, "require('x0x').AgentKeypair.generate()", { ...warmEnv, X0X_DIST_DEBUG: '1' });
    if (chk2.status !== 0 || !/warm: linux-x64-gnu/.test(chk2.stderr)) throw new Error(`not warm: ${chk2.stderr}`);
    const chk3 = run(cwd, "require('x0x-napi').AgentKeypair.generate()", base);
    if (chk3.status !== 0) throw new Error(`napi-rs loader: ${chk3.stderr}`);

    const rows = {
      first: ["require('x0x')", freshCache],
      warm: ["require('x0x')", () => warmEnv],
      napi: ["require('x0x-napi')", () => base],
      dlopen: [`process.dlopen({ exports: {} }, ${JSON.stringify(path.join(napiPlat, 'x0x.linux-x64-gnu.node'))})`, () => base],
    };
    const xs = Object.fromEntries(Object.keys(rows).map((k) => [k, []]));
    const load0 = os.loadavg()[0];
    const deadline = Date.now() + 10 * 60 * 1000; // bounded: stop early rather than run past 10 minutes
    for (let i = 0; i < RUNS && Date.now() < deadline; i += 1) {
      for (const [k, [code, env]] of Object.entries(rows)) xs[k].push(sample(cwd, code, env(), { prefix: NONET }));
    }
    const load1 = os.loadavg()[0];
    const ms = Object.fromEntries(Object.entries(xs).map(([k, v]) => [k, { median: median(v), min: Math.min(...v), n: v.length }]));
    const result = {
      machine: `${os.cpus().length} cores, ${os.cpus()[0].model}, node ${process.version}, load ${load0.toFixed(1)} -> ${load1.toFixed(1)}, ${NONET.length ? 'unshare -n (no network)' : 'network namespace unavailable'}`,
      date: new Date().toISOString(),
      binary: `${path.basename(NATIVE)} (${fs.statSync(NATIVE).size} bytes)`,
      ms,
    };
    if (argv.includes('--json')) {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      return;
    }
    console.log(`${result.machine}; ${result.date}; ${result.binary}; ${ms.first.n} fresh processes per row, alternating`);
    const label = {
      first: "**x0x, first `require('x0x')` from the platform package** (empty cache: verify, hash, copy, dlopen)",
      warm: "**x0x, warm `require('x0x')`** (after the first)",
      napi: "napi-rs generated `index.js` + its platform package (verifies nothing)",
      dlopen: 'bare `process.dlopen` (floor)',
    };
    console.log('| Row | median ms | min ms | row / napi-rs (median) |');
    console.log('|---|---|---|---|');
    for (const k of Object.keys(rows)) console.log(`| ${label[k]} | ${ms[k].median.toFixed(2)} | ${ms[k].min.toFixed(2)} | ${(ms[k].median / ms.napi.median).toFixed(2)} |`);
  } finally {
    if (argv.includes('--keep')) console.error(`kept ${d}`);
    else fs.rmSync(d, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
