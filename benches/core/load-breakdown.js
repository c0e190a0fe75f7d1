'use strict';
// Where the WASM build's load time goes, in a fresh process (run it a few times):
//   NODE_PATH=core/node_modules node --no-warnings benches/core/load-breakdown.js dist/core
// Prints ms for: requiring the WASI runtime's JavaScript, reading the module, compiling it, and the napi glue
// (WASI + emnapi context + instantiate; it compiles the module again, cached by V8 at most partially).
const path = require('node:path');
const fs = require('node:fs');

const dir = path.resolve(process.argv[2] || 'dist/core');
const t = () => Number(process.hrtime.bigint()) / 1e6;
const a = t();
require('@napi-rs/wasm-runtime');
require('@emnapi/runtime');
const b = t();
const bytes = fs.readFileSync(path.join(dir, 'x0x.wasm32-wasip1.wasm'));
const c = t();
new WebAssembly.Module(bytes); // eslint-disable-line no-new
const d = t();
require(path.join(dir, 'x0x.wasip1.cjs'));
const e = t();
const r = (x) => Math.round(x * 10) / 10;
console.log(JSON.stringify({ runtimeJs: r(b - a), read: r(c - b), compile: r(d - c), glue: r(e - d), total: r(e - a) }));
