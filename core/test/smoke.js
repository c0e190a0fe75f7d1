'use strict';
// Load check for one build of the core in whatever Node runs this file (qemu, Wine and musl Nodes included):
//   node smoke.js <x0x.<platform>.node | x0x.wasip1.cjs | x0x.wasi.cjs> [vectors.json]
// Exit 0 and one JSON line on stdout when every call returns the expected bytes.
const path = require('node:path');
const fs = require('node:fs');
const { run } = require('./scenario.js');

const file = path.resolve(process.argv[2]);
const vectors = JSON.parse(fs.readFileSync(process.argv[3] || path.join(__dirname, 'vectors.json'), 'utf8'));
const t0 = process.hrtime.bigint();
const core = require(file);
const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
const got = run(core);
const bad = Object.keys(vectors).filter((k) => vectors[k] !== got[k]);
const kp = core.AgentKeypair.generate();
// The wasm32-wasip1-threads glue (x0x.wasi.cjs): AsyncTask work and std::thread must run on WASI threads.
const threadsBuild = file.endsWith('.wasi.cjs');
Promise.all([
  core.AgentKeypair.fromSeed(Buffer.alloc(32, 7)).signAsync(Buffer.from('x0x cross-platform vector')),
  core.threading(),
]).then(([sig, threading]) => {
  const asyncOk = core.verify(core.AgentKeypair.fromSeed(Buffer.alloc(32, 7)).publicKey, Buffer.from('x0x cross-platform vector'), sig);
  const threadsOk = !threadsBuild || (threading.asyncOffJsThread && threading.spawn);
  const out = {
    ok: bad.length === 0 && asyncOk && threadsOk && kp.publicKey.length === 1952,
    node: process.version, platform: `${process.platform}-${process.arch}`, core: core.coreVersion(),
    loadMs: Math.round(loadMs * 100) / 100, mismatched: bad, signAsync: asyncOk,
    threading: { asyncOffJsThread: threading.asyncOffJsThread, spawn: threading.spawn },
  };
  console.log(JSON.stringify(out));
  process.exitCode = out.ok ? 0 : 1;
}, (e) => { console.log(JSON.stringify({ ok: false, error: String(e) })); process.exitCode = 1; });
