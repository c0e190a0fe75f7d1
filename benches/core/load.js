'use strict';
// Load time of the x0x core, native beside wasm32-wasip1 and wasm32-wasip1-threads, same run, same machine:
// each sample is a fresh `node` process, kinds alternating round by round (the order rotates every round so no
// kind always follows the same one). A WASM sample loads the way `require('x0x')` does it on its WASM path:
// read the module, SHA-256 it, `loadWasm` of loader/js/lib/wasm.js (the glue compiled with the verified bytes).
//   NODE_PATH=core/node_modules node benches/core/load.js DIR [--runs N] [--glue] [--phases] [--json FILE]
//     [--node-args "FLAGS"] [--ab OTHER/lib/wasm.js]
// DIR holds x0x.linux-x64-gnu.node, x0x.wasip1.cjs + x0x.wasm32-wasip1.wasm and x0x.wasi.cjs +
// x0x.wasm32-wasip1-threads.wasm + wasi-worker.mjs (what `cargo xtask build --targets host,wasm,wasm-threads`
// writes). Reports, per kind: the median `require`/load time inside the process (hrtime around the statement),
// the median of the per-round ratios to native, the CPU time of the load, the median wall time of the whole
// process (spawn to exit: Node's start, the load, the first threading() and exit), how many Worker threads the load started and
// how long the first `await threading()` then takes (the threads build boots its Workers on first use).
// --glue adds the glue's own `require` (napi-rs's path, no loader); --ab FILE the WASM loads through another
// lib/wasm.js (before/after). --phases runs instrumented processes instead and prints where a load's CPU time
// goes (exclusive ms per phase, medians). A calibration row times native ML-DSA-65 signing in this process
// (wall and CPU): figures from different days are comparable only at a similar calibration (the shared
// machine's speed per CPU second varied 1.6-2.8x between the days of BENCHMARKS.md's runs).
const path = require('node:path');
const fs = require('node:fs');
const { spawnSync } = require('node:child_process');
const { args: cli, median, LOADER_WASM: loaderWasm } = require('../lib');

const { argv: args, opt } = cli();
const dir = args[0] && !args[0].startsWith('--') ? path.resolve(args[0]) : null;
if (!dir) {
  console.error('usage: load.js DIR [--runs N] [--glue] [--phases] [--json FILE] [--node-args "FLAGS"] [--ab FILE]');
  process.exit(2);
}
const RUNS = Number(opt('--runs') || 21);
// Extra flags for every sampled `node` (experiments: e.g. --node-args "--no-wasm-lazy-compilation").
const NODE_ARGS = (opt('--node-args') || '').split(' ').filter(Boolean);
// --ab FILE: also load both WASM flavours through another copy of lib/wasm.js (an older commit's, for A/B).
const loaderB = opt('--ab') && path.resolve(opt('--ab'));
const FILES = {
  native: 'x0x.linux-x64-gnu.node',
  wasip1: 'x0x.wasm32-wasip1.wasm',
  threads: 'x0x.wasm32-wasip1-threads.wasm',
};
const fmt = (v) => (v < 10 ? v.toFixed(2) : v.toFixed(1));
const J = JSON.stringify;

/** The statement a sample times, per kind. */
function body(kind) {
  if (kind === 'native') return `globalThis.core=require(${J(path.join(dir, FILES.native))})`;
  if (kind === 'wasip1Glue') return `globalThis.core=require(${J(path.join(dir, 'x0x.wasip1.cjs'))})`;
  if (kind === 'threadsGlue') return `globalThis.core=require(${J(path.join(dir, 'x0x.wasi.cjs'))})`;
  const threads = kind.startsWith('threads');
  const file = kind.endsWith('AB') ? loaderB : loaderWasm;
  return `const fs=require('fs');const b=fs.readFileSync(${J(path.join(dir, FILES[kind.replace(/AB$/, '')]))});` +
    `require('crypto').createHash('sha256').update(b).digest();` +
    `globalThis.core=require(${J(file)}).loadWasm(b,{pkgDir:${J(dir)},pkg:'x0x',threads:${threads}})`;
}

/**
 * One fresh process: [ms inside the process, ms spawn to exit, CPU ms of the process during the load
 * (getrusage: all its threads; unlike the wall clock it excludes waiting for a CPU, so it is the steadier
 * figure on a loaded machine), ms of the first `await threading()` after the load (one AsyncTask that spawns
 * and joins 2 threads: for the threads build, the first thread spawn boots the pool's Workers)]. Nothing but
 * the load runs before the timed statement.
 */
function sample(kind) {
  const script = `const c0=process.cpuUsage();const t0=process.hrtime.bigint();${body(kind)};` +
    'const ms=Number(process.hrtime.bigint()-t0)/1e6;const c=process.cpuUsage(c0);' +
    'if(typeof globalThis.core.coreVersion()!=="string")throw new Error("not loaded");' +
    'const t1=process.hrtime.bigint();globalThis.core.threading().then(()=>' +
    'process.stdout.write(JSON.stringify([ms,(c.user+c.system)/1000,Number(process.hrtime.bigint()-t1)/1e6])))';
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [...NODE_ARGS, '--no-warnings', '-e', script], { encoding: 'utf8', env: process.env });
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`loading ${kind} failed: ${r.stderr}`);
  const [ms, cpu, first] = JSON.parse(r.stdout);
  return [ms, wall, cpu, first];
}

/** Worker threads a load starts (an untimed process with worker_threads.Worker counted). */
function workersAtLoad(kind) {
  const script = 'const wt=require("worker_threads");let n=0;const W=wt.Worker;' +
    'wt.Worker=function(...a){n++;return Reflect.construct(W,a,new.target||W)};wt.Worker.prototype=W.prototype;' +
    `${body(kind)};process.stdout.write(String(n))`;
  const r = spawnSync(process.execPath, [...NODE_ARGS, '--no-warnings', '-e', script], { encoding: 'utf8', env: process.env });
  if (r.status !== 0) throw new Error(`loading ${kind} failed: ${r.stderr}`);
  return Number(r.stdout);
}

/** Native ML-DSA-65 sign per signature, [wall ms, CPU ms] (medians of 9 batches of 20): this machine's speed now. */
function calibrate() {
  const core = require(path.join(dir, FILES.native));
  const kp = core.AgentKeypair.fromSeed(Buffer.alloc(32, 1));
  const msgs = Array.from({ length: 20 }, (_, i) => Buffer.alloc(1024, i));
  const wall = [];
  const cpu = [];
  for (let r = 0; r < 9; r++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (const m of msgs) kp.sign(m);
    wall.push(Number(process.hrtime.bigint() - t0) / 1e6 / msgs.length);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000 / msgs.length);
  }
  return [median(wall), median(cpu)];
}

// ---- --phases: the instrumented child ----
// Exclusive CPU time (process.cpuUsage: getrusage, all threads) per phase: every timed region subtracts the regions nested in it. Regions: each `require`
// (Module._load, labelled by the request), each CommonJS file's compile + run (Module.prototype._compile), the
// runtime's instantiateNapiModuleSync (emnapi's module creation, the WASI start and napi registration: "napi
// init"), WebAssembly.Module (compile), WebAssembly.Instance, WebAssembly.Memory, node:wasi's WASI, Worker.
const PHASES_CHILD = `
const T=()=>{const c=process.cpuUsage();return (c.user+c.system)/1000};const W=()=>Number(process.hrtime.bigint())/1e6;const t0=T(),w0=W();
const stack=[{label:'(node, loader)',child:0,t:t0}];const acc={};
const enter=(label)=>stack.push({label,child:0,t:T()});
const leave=()=>{const f=stack.pop();const d=T()-f.t;acc[f.label]=(acc[f.label]||0)+d-f.child;stack[stack.length-1].child+=d;};
const timed=(label,fn)=>function(...a){enter(label);try{return new.target?Reflect.construct(fn,a,new.target):fn.apply(this,a)}finally{leave()}};
const ctor=(o,k,label)=>{const C=o[k];o[k]=new Proxy(C,{construct(t,a,nt){enter(label);try{return Reflect.construct(t,a,nt)}finally{leave()}}})};
ctor(WebAssembly,'Module','wasm compile');ctor(WebAssembly,'Instance','wasm instantiate');ctor(WebAssembly,'Memory','wasm memory');
const wasi=require('node:wasi');ctor(wasi,'WASI','node:wasi WASI');
const wt=require('node:worker_threads');ctor(wt,'Worker','worker spawn');
const M=require('node:module');const short=(s)=>String(s).replace(/.*node_modules\\//,'').replace(/.*\\//,'');
const load=M._load;M._load=function(req,...a){if(String(req).startsWith('node:')||M.isBuiltin(req))return load.call(this,req,...a);enter('require '+short(req));try{return load.call(this,req,...a)}finally{leave()}};
const comp=M.prototype._compile;M.prototype._compile=function(c,f){enter('run '+short(f));try{return comp.call(this,c,f)}finally{leave();
 if(/wasm-runtime[\\\\/]runtime\\.cjs$/.test(f)&&this.exports&&this.exports.instantiateNapiModuleSync)this.exports.instantiateNapiModuleSync=timed('napi init (emnapi + registration)',this.exports.instantiateNapiModuleSync)}};
const fs=require('fs');enter('read module');const b=fs.readFileSync(process.argv[1]);leave();
enter('sha256');require('crypto').createHash('sha256').update(b).digest();leave();
const core=require(process.argv[4]).loadWasm(b,{pkgDir:process.argv[2],pkg:'x0x',threads:process.argv[3]==='1'});
acc.total=T()-t0;acc.wall=W()-w0;acc[stack[0].label]=acc.total-stack[0].child;if(typeof core.coreVersion()!=='string')throw new Error('not loaded');
process.stdout.write(JSON.stringify(acc));`;

function phases(kind) {
  const flavour = kind.replace(/AB$/, '');
  const r = spawnSync(process.execPath, [...NODE_ARGS, '--no-warnings', '-e', PHASES_CHILD, path.join(dir, FILES[flavour]), dir,
    flavour === 'threads' ? '1' : '0', kind.endsWith('AB') ? loaderB : loaderWasm], { encoding: 'utf8', env: process.env });
  if (r.status !== 0) throw new Error(`phases of ${kind} failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

function runPhases() {
  const kinds = ['wasip1', 'threads', ...(loaderB ? ['wasip1AB', 'threadsAB'] : [])];
  const all = Object.fromEntries(kinds.map((k) => [k, []]));
  for (let r = 0; r < RUNS; r++) for (let i = 0; i < kinds.length; i++) {
    const k = kinds[(i + r) % kinds.length];
    all[k].push(phases(k));
  }
  const labels = [...new Set(Object.values(all).flat().flatMap((o) => Object.keys(o)))]
    .filter((l) => l !== 'total' && l !== 'wall');
  const med = (k, l) => median(all[k].map((o) => o[l] || 0));
  labels.sort((a, b) => med('threads', b) - med('threads', a));
  const head = { wasip1: 'wasm32-wasip1', threads: 'wasm32-wasip1-threads', wasip1AB: 'wasip1 (--ab)', threadsAB: 'threads (--ab)' };
  console.log(`| phase (exclusive CPU ms, median of ${RUNS} instrumented processes) | ${kinds.map((k) => head[k]).join(' | ')} |`);
  console.log(`|---|${kinds.map(() => '---').join('|')}|`);
  const row = (name, l) => console.log(`| ${name} | ${kinds.map((k) => fmt(med(k, l))).join(' | ')} |`);
  for (const l of labels) row(l, l);
  row('**total** CPU ms (sum of the phases)', 'total');
  row('wall ms, same processes', 'wall');
  return all;
}

function runLoads() {
  const kinds = ['native', 'wasip1', 'threads', ...(args.includes('--glue') ? ['wasip1Glue', 'threadsGlue'] : []),
    ...(loaderB ? ['wasip1AB', 'threadsAB'] : [])];
  const raw = Object.fromEntries(kinds.map((k) => [k, []]));
  const cal = [calibrate()];
  for (let r = 0; r < RUNS; r++) {
    const order = kinds.map((_, i) => kinds[(i + r) % kinds.length]);
    for (const k of order) raw[k].push(sample(k));
  }
  cal.push(calibrate());
  const label = {
    native: '`require` of the native `.node`',
    wasip1: 'wasm32-wasip1 through the loader (read + SHA-256 + `loadWasm`)',
    threads: 'wasm32-wasip1-threads through the loader (read + SHA-256 + `loadWasm`)',
    wasip1Glue: 'wasm32-wasip1, the glue\'s own `require` (napi-rs path)',
    threadsGlue: 'wasm32-wasip1-threads, the glue\'s own `require` (napi-rs path)',
    wasip1AB: `wasm32-wasip1 through ${loaderB}`,
    threadsAB: `wasm32-wasip1-threads through ${loaderB}`,
  };
  console.log(`calibration: native ML-DSA-65 sign, ms per signature: wall ${cal.map((c) => c[0].toFixed(3)).join(' / ')}, ` +
    `CPU ${cal.map((c) => c[1].toFixed(3)).join(' / ')} (start / end)`);
  console.log(`| load, fresh process (${RUNS} each, alternating) | median ms | min ms | / native (median of per-round ratios) | CPU ms (median) | whole process, spawn to exit (median ms) | workers at load | then first \`await threading()\` (median ms) |`);
  console.log('|---|---|---|---|---|---|---|---|');
  const results = { calibration: cal, kinds: {} };
  for (const k of kinds) {
    const ms = raw[k].map((s) => s[0]);
    const ratio = median(raw[k].map((s, i) => s[0] / raw.native[i][0]));
    const whole = median(raw[k].map((s) => s[1]));
    const workers = workersAtLoad(k);
    const cpu = median(raw[k].map((s) => s[2]));
    const first = median(raw[k].map((s) => s[3]));
    results.kinds[k] = { median: median(ms), min: Math.min(...ms), ratio, cpu, whole, workers, firstThreading: first };
    console.log(`| ${label[k]} | ${fmt(median(ms))} | ${fmt(Math.min(...ms))} | ${k === 'native' ? '1' : `${ratio.toFixed(1)}×`} | ${fmt(cpu)} | ${fmt(whole)} | ${workers} | ${fmt(first)} |`);
  }
  return { raw, results };
}

const out = { node: process.version, date: new Date().toISOString(), runs: RUNS };
if (args.includes('--phases')) out.phases = runPhases();
else Object.assign(out, runLoads());
if (opt('--json')) fs.writeFileSync(opt('--json'), `${JSON.stringify(out, null, 1)}\n`);
