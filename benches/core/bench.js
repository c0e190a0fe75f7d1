'use strict';
// Native vs WASM, same run, same machine, alternating: ML-DSA-65 keygen/sign/verify, TaskList merge and decode of
// 10k tasks, the cost of one call into the addon, and load time (fresh process each time).
//   node benches/core/bench.js <x0x.linux-x64-gnu.node> <x0x.wasip1.cjs> [--json FILE] [--rounds N]
// (benches/core/run.sh builds both and runs this.) NODE_PATH must reach @napi-rs/wasm-runtime (core/node_modules).
//
// Each round measures one batch of an operation on native, then the same batch on WASM; the figure is the median
// over rounds, and the ratio the median of the per-round ratios (so a burst of load from other processes hits
// both sides of a ratio alike). Sign and verify cycle through 16 messages: ML-DSA signing is a rejection loop
// whose iteration count depends on the message, so one fixed message would measure one arbitrary count.
// Load times alternate too: native `require`, WASM through napi-rs's glue (`require` of x0x.wasip1.cjs), and
// WASM through x0x's loader (loader/js/lib/wasm.js with SHA-256-verified bytes, as `require('x0x')` does).
const path = require('node:path');
const fs = require('node:fs');
const { spawnSync } = require('node:child_process');
const { args: cli, median, now, turn, LOADER_WASM: loaderWasm } = require('../lib');

const { argv: args, opt } = cli();
const [nativePath, wasmPath] = args.slice(0, 2).map((p) => path.resolve(p));
const jsonOut = opt('--json');
const ROUNDS = Number(opt('--rounds') || 15);
if (!nativePath || !wasmPath) {
  console.error('usage: bench.js NATIVE.node WASM.wasip1.cjs [--json FILE] [--rounds N]');
  process.exit(2);
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

/** The operations of one build: name → [batch function, operations per batch]. */
function operations(core) {
  const msgs = Array.from({ length: 16 }, (_, i) => Buffer.alloc(1024, i));
  const kp = core.AgentKeypair.fromSeed(Buffer.alloc(32, 1));
  const sigs = msgs.map((m) => kp.sign(m));
  const [ab, bb] = tasklists(core, 10000);
  return {
    keygen: [() => { for (let i = 0; i < 16; i++) core.AgentKeypair.generate(); }, 16],
    sign: [() => { for (const m of msgs) kp.sign(m); }, 16],
    verify: [() => {
      for (let i = 0; i < 16; i++) if (!core.verify(kp.publicKey, msgs[i], sigs[i])) throw new Error('verify');
    }, 16],
    // merge of two 10k-task replicas (15k distinct tasks); decoding the replicas is outside the timed part
    merge10k: [() => {
      const a = core.TaskList.fromBytes(ab);
      const b = core.TaskList.fromBytes(bb);
      const t0 = now();
      a.merge(b);
      return now() - t0;
    }, 1],
    decode10k: [() => core.TaskList.fromBytes(ab), 1],
    call: [() => { for (let i = 0; i < 20000; i++) core.coreVersion(); }, 20000],
  };
}

/** ms per operation of one batch; a batch function may return its own timed part. */
function timeBatch([fn, n]) {
  const t0 = now();
  const own = fn();
  return (typeof own === 'number' ? own : now() - t0) / n;
}

// Between batches the event loop turns, as in an application: objects the batches dropped are finalized (emnapi
// frees a WASM object's memory from a FinalizationRegistry callback, which never runs inside one synchronous
// loop; a benchmark that never yields measures a heap that only grows).
async function measureAll(builds) {
  const raw = { native: {}, wasm: {} };
  for (const op of Object.keys(builds.native)) {
    for (const b of ['native', 'wasm']) timeBatch(builds[b][op]); // warm-up (tier-up, caches)
    raw.native[op] = [];
    raw.wasm[op] = [];
    for (let r = 0; r < ROUNDS; r++) {
      for (const b of ['native', 'wasm']) {
        await turn();
        raw[b][op].push(timeBatch(builds[b][op]));
      }
    }
  }
  return raw;
}

/**
 * ms per key pair when 300 are created and kept in one synchronous loop (a fresh process each time): the heap
 * only grows, so this is where the cost of growing WASM memory shows (it made V8 collect garbage each time).
 */
function heldKeygen(file) {
  const script = `const core=require(${JSON.stringify(file)});const keep=[];const t0=process.hrtime.bigint();` +
    'for(let i=0;i<300;i++)keep.push(core.AgentKeypair.fromSeed(Buffer.alloc(32,i&255)));' +
    'process.stdout.write(String(Number(process.hrtime.bigint()-t0)/1e6/300))';
  const r = spawnSync(process.execPath, ['--no-warnings', '-e', script], { encoding: 'utf8', env: process.env });
  if (r.status !== 0) throw new Error(`held keygen (${file}) failed: ${r.stderr}`);
  return Number(r.stdout);
}

/** `require` time in a fresh Node process (ms). */
function loadOnce(kind) {
  const scripts = {
    native: `require(${JSON.stringify(nativePath)})`,
    napiGlue: `require(${JSON.stringify(wasmPath)})`,
    x0xLoader: `const fs=require('fs'),p=require('path');const d=${JSON.stringify(path.dirname(wasmPath))};` +
      `const b=fs.readFileSync(p.join(d,'x0x.wasm32-wasip1.wasm'));require('crypto').createHash('sha256').update(b).digest();` +
      `require(${JSON.stringify(loaderWasm)}).loadWasm(b,{pkgDir:d,pkg:'x0x'})`,
  };
  const script = `const t0=process.hrtime.bigint();${scripts[kind]};` +
    'process.stdout.write(String(Number(process.hrtime.bigint()-t0)/1e6))';
  const r = spawnSync(process.execPath, ['--no-warnings', '-e', script], { encoding: 'utf8', env: process.env });
  if (r.status !== 0) throw new Error(`loading (${kind}) failed: ${r.stderr}`);
  return Number(r.stdout);
}
async function main() {
  const builds = { native: operations(require(nativePath)), wasm: operations(require(wasmPath)) };
  const raw = await measureAll(builds);
  const loads = { native: [], napiGlue: [], x0xLoader: [] };
  for (let r = 0; r < 21; r++) for (const k of Object.keys(loads)) loads[k].push(loadOnce(k));
  const held = { native: [], wasm: [] };
  for (let r = 0; r < 7; r++) for (const k of ['native', 'wasm']) held[k].push(heldKeygen(k === 'native' ? nativePath : wasmPath));

  const rows = [
    ['ML-DSA-65 keygen', 'keygen', 'ms'],
    ['ML-DSA-65 sign (1 KiB, 16 messages)', 'sign', 'ms'],
    ['ML-DSA-65 verify (1 KiB, 16 messages)', 'verify', 'ms'],
    ['TaskList merge, 2 × 10k tasks', 'merge10k', 'ms'],
    ['TaskList fromBytes, 10k tasks', 'decode10k', 'ms'],
    ['one call into the addon (coreVersion)', 'call', 'µs'],
  ];
  const fmt = (v, unit) => (unit === 'µs' ? (v * 1000).toFixed(3) : v < 1 ? v.toFixed(3) : v.toFixed(2));
  const results = { native: {}, wasm: {}, ratio: {}, load: {} };
  console.log('| operation | native | WASM (wasm32-wasip1) | WASM / native |');
  console.log('|---|---|---|---|');
  for (const [label, key, unit] of rows) {
    const n = median(raw.native[key]);
    const w = median(raw.wasm[key]);
    const ratio = median(raw.wasm[key].map((x, i) => x / raw.native[key][i]));
    Object.assign(results.native, { [key]: n });
    Object.assign(results.wasm, { [key]: w });
    results.ratio[key] = ratio;
    console.log(`| ${label} | ${fmt(n, unit)} ${unit} | ${fmt(w, unit)} ${unit} | ${ratio.toFixed(1)}× |`);
  }
  results.held = { native: median(held.native), wasm: median(held.wasm) };
  console.log(`| keygen, 300 key pairs kept in one synchronous loop | ${results.held.native.toFixed(3)} ms | ` +
    `${results.held.wasm.toFixed(2)} ms | ${(results.held.wasm / results.held.native).toFixed(1)}× |`);
  for (const k of Object.keys(loads)) results.load[k] = median(loads[k]);
  const l = results.load;
  console.log(`| load, fresh process: native \`require\` / WASM via napi-rs glue | ${l.native.toFixed(2)} ms | ${l.napiGlue.toFixed(1)} ms | ${(l.napiGlue / l.native).toFixed(1)}× |`);
  console.log(`| load, fresh process: WASM via x0x's loader (verified bytes) | | ${l.x0xLoader.toFixed(1)} ms | |`);
  if (jsonOut) {
    fs.writeFileSync(jsonOut, `${JSON.stringify({ node: process.version, date: new Date().toISOString(), rounds: ROUNDS, results, raw, loads, held }, null, 2)}\n`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
