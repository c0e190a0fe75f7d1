#!/usr/bin/env node
'use strict';
// Loader benchmarks (results in BENCHMARKS.md, "Loader"):
//   1. warm require('x0x') through this loader vs napi-rs's generated index.js for the same binary vs a bare
//      process.dlopen — a fresh node process per run, process.hrtime around the call only, median of N;
//   2. cold require (empty cache, file:// repository: TUF update + verify + copy + dlopen, child process incl.);
//   3. SHA-256 throughput of node's crypto (whole buffer, and streamed from a file in 1 MiB chunks) vs
//      `openssl speed -evp sha256`.
// Usage: benches/run.sh loader-require [--native dist/core/x0x.linux-x64-gnu.node] [--runs 30] [--json]

const fs = require('fs');
const os = require('os');
const path = require('path');
const crypto = require('crypto');
const { spawnSync } = require('child_process');
const { h, options, median, sample, packRelease, untarInto, napiIndexJs } = require('../lib');

const { argv, RUNS, NATIVE } = options(30);

const p90 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9) - 1 + (xs.length < 10 ? 1 : 0)];

function timeIn(code, env = {}, runs = RUNS) {
  const xs = [];
  for (let i = 0; i < runs; i += 1) {
    xs.push(sample(undefined, code, { ...process.env, ...env }));
    if (process.env.BENCH_DEBUG) console.error(code.slice(0, 60), xs[xs.length - 1]);
  }
  return { median: median(xs), p90: p90(xs), min: Math.min(...xs), runs: xs.length };
}

function opensslSha256() {
  const r = spawnSync('openssl', ['speed', '-evp', 'sha256', '-bytes', '1048576', '-seconds', '3'], { encoding: 'utf8' });
  const line = String(r.stdout).split('\n').find((l) => /^sha256\s/i.test(l.trim()) || /^SHA256\s/i.test(l.trim()));
  if (!line) return null;
  const k = Number(line.trim().split(/\s+/).pop().replace(/k$/, ''));
  return (k * 1000) / 1e9; // GB/s
}

function nodeSha256(dir) {
  const buf = crypto.randomBytes(256 << 20);
  let t = process.hrtime.bigint();
  crypto.createHash('sha256').update(buf).digest();
  const whole = buf.length / (Number(process.hrtime.bigint() - t) / 1e9) / 1e9;
  const file = path.join(dir, 'hash.bin');
  fs.writeFileSync(file, buf);
  t = process.hrtime.bigint();
  const hs = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  const chunk = Buffer.allocUnsafe(1 << 20);
  let n;
  while ((n = fs.readSync(fd, chunk, 0, chunk.length, null)) > 0) hs.update(chunk.subarray(0, n));
  fs.closeSync(fd);
  hs.digest();
  const streamed = buf.length / (Number(process.hrtime.bigint() - t) / 1e9) / 1e9;
  fs.rmSync(file);
  return { whole, streamed };
}

async function main() {
  if (!fs.existsSync(NATIVE)) throw new Error(`${NATIVE} missing: build the core (cargo xtask build --targets host --out dist/core)`);
  const d = h.tmpdir('x0x-bench-');
  // The real package, as users get it: scripts/pack.js against this repository, unpacked into node_modules.
  const { repo, tgzs } = packRelease(d, NATIVE);
  const pkg = path.join(d, 'node_modules', 'x0x');
  untarInto(tgzs[0], pkg);
  const cache = path.join(d, 'cache');
  const env = { X0X_DIST_CACHE: cache, X0X_DIST_URL: `file://${repo.dir}` };
  // Prime the cache and the warm record.
  const prime = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(pkg)})`], { env: { ...process.env, ...env }, encoding: 'utf8' });
  if (prime.status !== 0) throw new Error(prime.stderr);
  const napiDir = path.join(d, 'napi');
  fs.mkdirSync(napiDir);
  fs.copyFileSync(NATIVE, path.join(napiDir, 'x0x.linux-x64-gnu.node'));
  const napiJs = await napiIndexJs(napiDir, NATIVE);

  const rows = {};
  rows.warm = timeIn(`require(${JSON.stringify(pkg)})`, env);
  rows.napi = timeIn(`require(${JSON.stringify(napiJs)})`);
  // The loader's own warm-path work (settings, record, four stats), modules already loaded, dlopen excluded.
  const warmJs = JSON.stringify(path.join(pkg, 'lib', 'warm.js'));
  rows.warmWork = timeIn(
    `0; const W = require(${warmJs}); const t2 = process.hrtime.bigint(); if (!W.tryWarm(W.context(${JSON.stringify(pkg)}), { loadNative: () => ({}) })) throw new Error('not warm'); const ms = Number(process.hrtime.bigint() - t2) / 1e6; process.stdout.write(String(ms)); process.exit(0)`,
    env,
  );
  rows.dlopen = timeIn(`process.dlopen({ exports: {} }, ${JSON.stringify(path.join(napiDir, 'x0x.linux-x64-gnu.node'))})`);
  rows.verifyAlways = timeIn(`require(${JSON.stringify(pkg)})`, { ...env, X0X_DIST_VERIFY: 'always' });
  const cold = [];
  for (let i = 0; i < Math.min(RUNS, 10); i += 1) {
    const c = path.join(d, `cold${i}`);
    cold.push(timeIn(`require(${JSON.stringify(pkg)})`, { ...env, X0X_DIST_CACHE: c }, 1).median);
  }
  rows.cold = { median: median(cold), p90: p90(cold), min: Math.min(...cold), runs: cold.length };
  const sha = nodeSha256(d);
  const ossl = opensslSha256();
  const result = {
    machine: `${os.cpus().length} cores, ${os.cpus()[0].model}, ${process.version}, load ${os.loadavg().map((x) => x.toFixed(1)).join('/')}`,
    date: new Date().toISOString().slice(0, 10),
    binary: `${path.basename(NATIVE)} (${fs.statSync(NATIVE).size} bytes)`,
    ms: rows,
    sha256GBps: { nodeWhole: sha.whole, nodeStreamed1MiB: sha.streamed, openssl: ossl },
  };
  if (argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } else {
    const f = (x) => x.toFixed(3);
    console.log(`machine: ${result.machine}; ${result.date}; ${result.binary}; ${RUNS} fresh processes per row`);
    // min: the unpreempted cost on a noisy machine; median/p90: what a user sees on it.
    console.log('| Measure | min ms | median ms | p90 ms | median vs bare dlopen |');
    console.log('|---|---|---|---|---|');
    const line = (name, r) => console.log(`| ${name} | ${f(r.min)} | ${f(r.median)} | ${f(r.p90)} | ${(r.median / rows.dlopen.median).toFixed(2)}× |`);
    line('bare `process.dlopen`', rows.dlopen);
    line('**x0x loader, warm `require`**', rows.warm);
    line("napi-rs generated `index.js` `require`", rows.napi);
    line("x0x loader's own warm-path work (modules loaded, dlopen excluded)", rows.warmWork);
    line('x0x loader, warm, `X0X_DIST_VERIFY=always`', rows.verifyAlways);
    line('x0x loader, cold (empty cache, file:// repo)', rows.cold);
    console.log();
    console.log('| SHA-256 | GB/s |');
    console.log('|---|---|');
    console.log(`| node crypto, whole 256 MiB buffer | ${sha.whole.toFixed(2)} |`);
    console.log(`| node crypto, streamed from a file in 1 MiB chunks | ${sha.streamed.toFixed(2)} |`);
    console.log(`| \`openssl speed -evp sha256 -bytes 1048576\` | ${ossl === null ? 'n/a' : ossl.toFixed(2)} |`);
  }
  fs.rmSync(d, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
