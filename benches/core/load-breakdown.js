'use strict';
// Where the WASM build's load time goes, in a fresh process, on the path x0x's loader takes
// (loader/js/lib/wasm.js: verified bytes, @tybys/wasm-util deferred). Run it a few times:
//   NODE_PATH=core/node_modules node --no-warnings benches/core/load-breakdown.js DIR [--napi]
// DIR holds x0x.wasm32-wasip1.wasm and x0x.wasip1.cjs. Prints ms for each step, in load order: @emnapi/core
// (ES module, through require(esm)), @emnapi/runtime, the rest of @napi-rs/wasm-runtime, reading + SHA-256 of
// the module, compiling it alone (V8 caches nothing between this and the glue's compile: informative), and
// the glue (its JavaScript, the 250 MB WebAssembly.Memory, node:wasi, emnapi context, instantiate). With
// --napi the runtime is required the plain way (@tybys/wasm-util loaded eagerly, as napi-rs's index.js does).
const t = () => Number(process.hrtime.bigint()) / 1e6;
const t0 = t();
const path = require('node:path');
const fs = require('node:fs');
const crypto = require('node:crypto');
const { loadWasm } = require('../../loader/js/lib/wasm.js');

const dir = path.resolve(process.argv[2] || 'dist/core');
const napi = process.argv.includes('--napi');
const marks = [['nodeBuiltins', t()]];
const mark = (name) => marks.push([name, t()]);
require('@emnapi/core');
mark('emnapiCore');
require('@emnapi/runtime');
mark('emnapiRuntime');
if (napi) require('@napi-rs/wasm-runtime');
mark(napi ? 'wasmRuntime' : 'wasmRuntime(in glue)');
const bytes = fs.readFileSync(path.join(dir, 'x0x.wasm32-wasip1.wasm'));
crypto.createHash('sha256').update(bytes).digest();
mark('readHash');
new WebAssembly.Module(bytes); // eslint-disable-line no-new
mark('compile');
const core = napi ? require(path.join(dir, 'x0x.wasip1.cjs')) : loadWasm(bytes, { pkgDir: dir, pkg: 'x0x' });
mark('glue');
if (core.coreVersion() === undefined) throw new Error('not loaded');
const r = (x) => Math.round(x * 10) / 10;
const out = {};
let prev = t0;
for (const [name, at] of marks) {
  out[name] = r(at - prev);
  prev = at;
}
out.total = r(prev - t0);
console.log(JSON.stringify(out));
