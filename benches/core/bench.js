'use strict';
// Native vs WASM, same run, same machine: ML-DSA-65 keygen/sign/verify, TaskList merge of 10k tasks, the cost of
// one call into the addon, and load time (fresh process each time).
//   node benches/core/bench.js <x0x.linux-x64-gnu.node> <x0x.wasip1.cjs> [--json FILE]
// (benches/core/run.sh builds both and runs this.) NODE_PATH must reach @napi-rs/wasm-runtime (core/node_modules).
const path = require('node:path');
const fs = require('node:fs');
const { spawnSync } = require('node:child_process');

const [nativePath, wasmPath] = process.argv.slice(2, 4).map((p) => path.resolve(p));
const jsonOut = process.argv.includes('--json') ? process.argv[process.argv.indexOf('--json') + 1] : null;
if (!nativePath || !wasmPath) {
  console.error('usage: bench.js NATIVE.node WASM.wasip1.cjs [--json FILE]');
  process.exit(2);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const now = () => Number(process.hrtime.bigint()) / 1e6; // ms

/** Median time per operation (ms) over `rounds` rounds of `n` operations, after a warm-up round. */
function measure(fn, n, rounds = 7) {
  for (let i = 0; i < Math.max(1, n / 4); i++) fn(i);
  const per = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = now();
    for (let i = 0; i < n; i++) fn(i);
    per.push((now() - t0) / n);
  }
  return median(per);
}

/** Load time: `require` of the build in a fresh Node process, median of `runs`. */
function loadTime(file, runs = 21) {
  const script = `const t0=process.hrtime.bigint();require(${JSON.stringify(file)});` +
    'process.stdout.write(String(Number(process.hrtime.bigint()-t0)/1e6))';
  const xs = [];
  for (let i = 0; i < runs; i++) {
    const r = spawnSync(process.execPath, ['--no-warnings', '-e', script], { encoding: 'utf8', env: process.env });
    if (r.status !== 0) throw new Error(`loading ${file} failed: ${r.stderr}`);
    xs.push(Number(r.stdout));
  }
  return median(xs);
}

function tasklists(core, n) {
  const agents = [1, 2, 3, 4].map((s) => core.AgentKeypair.fromSeed(Buffer.alloc(32, s)).agentId);
  const a = new core.TaskList();
  const b = new core.TaskList();
  for (let i = 0; i < n; i++) {
    a.addTask(`task-${String(i).padStart(6, '0')}`, `title ${i}`);
    // b shares half the ids (concurrent adds of the same task) and holds claims/completions for them
    const id = `task-${String(i + n / 2).padStart(6, '0')}`;
    b.addTask(id, `title ${i + n / 2}`);
    if (i % 2 === 0) b.claimTask(id, agents[i % 4]);
    if (i % 4 === 0) b.completeTask(id, agents[i % 4]);
  }
  return [a.toBytes(), b.toBytes()];
}

function suite(name, core) {
  const msg = Buffer.alloc(1024, 0x5a);
  const kp = core.AgentKeypair.fromSeed(Buffer.alloc(32, 1));
  const sig = kp.sign(msg);
  const [ab, bb] = tasklists(core, 10000);
  const r = {
    keygen: measure(() => core.AgentKeypair.generate(), 50),
    sign: measure(() => kp.sign(msg), 50),
    verify: measure(() => { if (!core.verify(kp.publicKey, msg, sig)) throw new Error('verify'); }, 100),
    call: measure(() => core.coreVersion(), 100000),
  };
  // merge of two 10k-task replicas (15k distinct tasks); decoding the replicas is outside the timed part
  const merges = [];
  for (let i = 0; i < 9; i++) {
    const a = core.TaskList.fromBytes(ab);
    const b = core.TaskList.fromBytes(bb);
    const t0 = now();
    a.merge(b);
    merges.push(now() - t0);
  }
  r.merge10k = median(merges);
  r.decode10k = measure(() => core.TaskList.fromBytes(ab), 5, 5);
  console.error(`${name}: done`);
  return r;
}

const native = require(nativePath);
const wasm = require(wasmPath);
const results = { native: suite('native', native), wasm: suite('wasm', wasm) };
results.native.load = loadTime(nativePath);
results.wasm.load = loadTime(wasmPath);

const rows = [
  ['ML-DSA-65 keygen', 'keygen', 'ms'],
  ['ML-DSA-65 sign (1 KiB)', 'sign', 'ms'],
  ['ML-DSA-65 verify (1 KiB)', 'verify', 'ms'],
  ['TaskList merge, 2 × 10k tasks', 'merge10k', 'ms'],
  ['TaskList fromBytes, 10k tasks', 'decode10k', 'ms'],
  ['one call into the addon (coreVersion)', 'call', 'µs'],
  ['load (require, fresh process)', 'load', 'ms'],
];
const fmt = (v, unit) => (unit === 'µs' ? (v * 1000).toFixed(3) : v < 1 ? v.toFixed(3) : v.toFixed(2));
console.log('| operation | native | WASM (wasm32-wasip1) | WASM / native |');
console.log('|---|---|---|---|');
for (const [label, key, unit] of rows) {
  const n = results.native[key];
  const w = results.wasm[key];
  console.log(`| ${label} | ${fmt(n, unit)} ${unit} | ${fmt(w, unit)} ${unit} | ${(w / n).toFixed(1)}× |`);
}
if (jsonOut) fs.writeFileSync(jsonOut, `${JSON.stringify({ node: process.version, date: new Date().toISOString(), results }, null, 2)}\n`);
