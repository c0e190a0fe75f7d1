'use strict';
// Native vs wasm32-wasip1 vs wasm32-wasip1-threads, same run, same machine, alternating batch by batch:
// load time (fresh process), ML-DSA-65 sign/verify, a parallel workload (signMany: 32 signatures on the build's
// default threads), 16 concurrent signAsync calls (the async work pool) and the cost of a thread round trip
// (`await threading()`: one AsyncTask that spawns and joins 2 threads).
//   node benches/core/threads.js <x0x.linux-x64-gnu.node> <x0x.wasip1.cjs> <x0x.wasi.cjs> [--rounds N] [--json F]
// (benches/core/threads.sh builds the three and runs this.) NODE_PATH must reach @napi-rs/wasm-runtime.
// Figures: medians over rounds; ratios: medians of the per-round ratios to native.
const path = require('node:path');
const fs = require('node:fs');
const { spawnSync } = require('node:child_process');
const { args: cli, median, now, turn, LOADER_WASM: loaderWasm } = require('../lib');

const { argv: args, opt } = cli();
const files = { native: args[0], wasip1: args[1], threads: args[2] };
if (!files.native || !files.wasip1 || !files.threads) {
  console.error('usage: threads.js NATIVE.node WASIP1.wasip1.cjs THREADS.wasi.cjs [--rounds N] [--json FILE]');
  process.exit(2);
}
for (const k of Object.keys(files)) files[k] = path.resolve(files[k]);
const ROUNDS = Number(opt('--rounds') || 15);
const BUILDS = ['native', 'wasip1', 'threads'];

/** name → [async batch function, operations per batch] */
function operations(core) {
  const msgs = Array.from({ length: 16 }, (_, i) => Buffer.alloc(1024, i));
  const many = Array.from({ length: 32 }, (_, i) => Buffer.alloc(1024, i));
  const kp = core.AgentKeypair.fromSeed(Buffer.alloc(32, 1));
  const sigs = msgs.map((m) => kp.sign(m));
  return {
    sign: [async () => { for (const m of msgs) kp.sign(m); }, 16],
    verify: [async () => {
      for (let i = 0; i < 16; i++) if (!core.verify(kp.publicKey, msgs[i], sigs[i])) throw new Error('verify');
    }, 16],
    signMany: [async () => { if (kp.signMany(many).length !== 32) throw new Error('signMany'); }, 32],
    signAsync: [async () => { await Promise.all(msgs.map((m) => kp.signAsync(m))); }, 16],
    threadRoundTrip: [async () => { await core.threading(); }, 1],
  };
}

async function timeBatch([fn, n]) {
  const t0 = now();
  await fn();
  return (now() - t0) / n;
}

/** `require` time in a fresh process (ms): through the file itself, and (WASM) through x0x's loader. */
function loadOnce(build, viaLoader) {
  const f = files[build];
  let body = `require(${JSON.stringify(f)})`;
  if (viaLoader) {
    const threads = build === 'threads';
    const wasm = threads ? 'x0x.wasm32-wasip1-threads.wasm' : 'x0x.wasm32-wasip1.wasm';
    body = `const fs=require('fs'),p=require('path');const d=${JSON.stringify(path.dirname(f))};` +
      `const b=fs.readFileSync(p.join(d,${JSON.stringify(wasm)}));require('crypto').createHash('sha256').update(b).digest();` +
      `require(${JSON.stringify(loaderWasm)}).loadWasm(b,{pkgDir:d,pkg:'x0x',threads:${threads}})`;
  }
  const script = `const t0=process.hrtime.bigint();${body};process.stdout.write(String(Number(process.hrtime.bigint()-t0)/1e6))`;
  const r = spawnSync(process.execPath, ['--no-warnings', '-e', script], { encoding: 'utf8', env: process.env });
  if (r.status !== 0) throw new Error(`loading ${build} failed: ${r.stderr}`);
  return Number(r.stdout);
}

async function main() {
  const ops = {};
  for (const b of BUILDS) ops[b] = operations(require(files[b]));
  const threading = {};
  for (const b of BUILDS) threading[b] = await require(files[b]).threading();
  const raw = {};
  for (const op of Object.keys(ops.native)) {
    raw[op] = { native: [], wasip1: [], threads: [] };
    for (const b of BUILDS) await timeBatch(ops[b][op]); // warm-up
    for (let r = 0; r < ROUNDS; r++) {
      for (const b of BUILDS) {
        await turn();
        raw[op][b].push(await timeBatch(ops[b][op]));
      }
    }
  }
  const loads = { native: [], wasip1: [], threads: [], wasip1Loader: [], threadsLoader: [] };
  for (let r = 0; r < 21; r++) {
    loads.native.push(loadOnce('native', false));
    loads.wasip1.push(loadOnce('wasip1', false));
    loads.threads.push(loadOnce('threads', false));
    loads.wasip1Loader.push(loadOnce('wasip1', true));
    loads.threadsLoader.push(loadOnce('threads', true));
  }
  const ratio = (op, b) => median(raw[op][b].map((v, i) => v / raw[op].native[i]));
  const fmt = (v) => (v < 1 ? v.toFixed(3) : v.toFixed(2));
  const label = {
    sign: 'ML-DSA-65 sign (1 KiB, 16 messages), per signature',
    verify: 'ML-DSA-65 verify (1 KiB, 16 messages), per verification',
    signMany: 'parallel: signMany of 32 messages (default threads), per signature',
    signAsync: 'async: 16 concurrent signAsync, per signature',
    threadRoundTrip: 'thread round trip: `await threading()` (1 AsyncTask + spawn/join of 2 threads)',
  };
  console.log(`threads used by signMany: native ${threading.native.signManyThreads}, wasip1 1 (no threads), threads ${threading.threads.signManyThreads}`);
  console.log('| operation | native | wasm32-wasip1 | wasm32-wasip1-threads | wasip1 / native | threads / native |');
  console.log('|---|---|---|---|---|---|');
  const results = { threading, ops: {}, load: {} };
  for (const op of Object.keys(raw)) {
    const m = Object.fromEntries(BUILDS.map((b) => [b, median(raw[op][b])]));
    results.ops[op] = { ms: m, wasip1Ratio: ratio(op, 'wasip1'), threadsRatio: ratio(op, 'threads') };
    console.log(`| ${label[op]} | ${fmt(m.native)} ms | ${fmt(m.wasip1)} ms | ${fmt(m.threads)} ms | ${ratio(op, 'wasip1').toFixed(1)}× | ${ratio(op, 'threads').toFixed(1)}× |`);
  }
  const lm = Object.fromEntries(Object.entries(loads).map(([k, v]) => [k, median(v)]));
  results.load = lm;
  console.log(`| load, fresh process: the file's own require (glue for WASM) | ${fmt(lm.native)} ms | ${fmt(lm.wasip1)} ms | ${fmt(lm.threads)} ms | ${(lm.wasip1 / lm.native).toFixed(1)}× | ${(lm.threads / lm.native).toFixed(1)}× |`);
  console.log(`| load, fresh process: through x0x's loader (lib/wasm.js, SHA-256 checked) | | ${fmt(lm.wasip1Loader)} ms | ${fmt(lm.threadsLoader)} ms | | |`);
  if (opt('--json')) fs.writeFileSync(opt('--json'), JSON.stringify({ raw, loads, results }, null, 1));
}

main().then(() => process.exit(0), (e) => {
  console.error(e);
  process.exit(1);
});
