'use strict';
// The napi-generated WASI glue is fed the verified bytes, never the files next to it.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const h = require('./helpers/repo');
const { loadWasm } = require('../lib/wasm');

// The shape of napi-rs's x0x.wasip1.cjs where it matters: prefers a .debug.wasm, checks existence, reads the
// file next to itself, requires the runtime from the package's dependencies.
const GLUE = `
const __nodeFs = require('node:fs')
const __nodePath = require('node:path')
const { instantiateNapiModuleSync } = require('@napi-rs/wasm-runtime')
let __wasmFilePath = __nodePath.join(__dirname, 'x0x.wasm32-wasip1.wasm')
const __wasmDebugFilePath = __nodePath.join(__dirname, 'x0x.wasm32-wasip1.debug.wasm')
if (__nodeFs.existsSync(__wasmDebugFilePath)) { __wasmFilePath = __wasmDebugFilePath }
else if (!__nodeFs.existsSync(__wasmFilePath)) { throw new Error('missing wasm') }
module.exports = instantiateNapiModuleSync(__nodeFs.readFileSync(__wasmFilePath))
module.exports.pkgJson = JSON.parse(__nodeFs.readFileSync(__nodePath.join(__dirname, 'package.json'), 'utf8')).name
`;

function pkg() {
  const d = h.tmpdir();
  fs.writeFileSync(path.join(d, 'package.json'), '{"name":"x0x","version":"0.3.1"}');
  fs.writeFileSync(path.join(d, 'x0x.wasip1.cjs'), GLUE);
  const rt = path.join(d, 'node_modules', '@napi-rs', 'wasm-runtime');
  fs.mkdirSync(rt, { recursive: true });
  fs.writeFileSync(path.join(rt, 'package.json'), '{"name":"@napi-rs/wasm-runtime","version":"1.2.7","main":"index.js"}');
  fs.writeFileSync(path.join(rt, 'index.js'), 'exports.instantiateNapiModuleSync = (b) => ({ loaded: Buffer.from(b).toString() })');
  return d;
}

test('the glue gets the verified bytes, not a planted .wasm or .debug.wasm next to it', () => {
  const d = pkg();
  fs.writeFileSync(path.join(d, 'x0x.wasm32-wasip1.wasm'), 'planted');
  fs.writeFileSync(path.join(d, 'x0x.wasm32-wasip1.debug.wasm'), 'planted debug');
  const out = loadWasm(Buffer.from('verified'), { pkgDir: d, pkg: 'x0x' });
  assert.equal(out.loaded, 'verified');
  assert.equal(out.pkgJson, 'x0x', 'other reads go to the real fs');
});

test('missing runtime or glue → loader.load_failed naming what is missing', () => {
  const d = pkg();
  fs.rmSync(path.join(d, 'node_modules'), { recursive: true });
  assert.throws(() => loadWasm(Buffer.from('x'), { pkgDir: d, pkg: 'x0x' }), (e) => e.code === 'loader.load_failed' && /wasm-runtime/.test(e.message));
  assert.throws(() => loadWasm(Buffer.from('x'), { pkgDir: d, pkg: 'x0x', threads: true }), (e) => e.code === 'loader.load_failed' && /x0x\.wasi\.cjs/.test(e.message));
});

// The runtime's require of @tybys/wasm-util (a WASI polyfill the Node glue never uses) is deferred, not skipped:
// it loads when its WASI is constructed or any other export is read, and the real class is what you get.
test('the runtime loads with @tybys/wasm-util deferred until used', () => {
  const d = pkg();
  const rt = path.join(d, 'node_modules', '@napi-rs', 'wasm-runtime');
  fs.writeFileSync(path.join(rt, 'package.json'), JSON.stringify({
    name: '@napi-rs/wasm-runtime', version: '1.2.7', exports: { '.': { require: './runtime.cjs' } },
  }));
  fs.writeFileSync(path.join(rt, 'runtime.cjs'), `const { WASI } = require('@tybys/wasm-util')
const util = require('@tybys/wasm-util')
exports.WASI = WASI
exports.util = util
exports.instantiateNapiModuleSync = (b) => ({ loaded: Buffer.from(b).toString(), runtime: exports })`);
  const wu = path.join(d, 'node_modules', '@tybys', 'wasm-util');
  fs.mkdirSync(wu, { recursive: true });
  fs.writeFileSync(path.join(wu, 'package.json'), '{"name":"@tybys/wasm-util","version":"0.10.5","main":"index.js"}');
  fs.writeFileSync(path.join(wu, 'index.js'), `globalThis.__wasmUtilLoads = (globalThis.__wasmUtilLoads || 0) + 1
exports.WASI = class WASI { constructor(o) { this.options = o } }
exports.version = '0.10.5'`);
  globalThis.__wasmUtilLoads = 0;
  const out = loadWasm(Buffer.from('verified'), { pkgDir: d, pkg: 'x0x' });
  assert.equal(out.loaded, 'verified');
  assert.equal(globalThis.__wasmUtilLoads, 0, 'not loaded while loading the runtime');
  const wasi = new out.runtime.WASI({ version: 'preview1' });
  assert.equal(globalThis.__wasmUtilLoads, 1);
  assert.equal(wasi.constructor.name, 'WASI');
  assert.deepEqual(wasi.options, { version: 'preview1' });
  assert.equal(out.runtime.util.version, '0.10.5', 'other exports come from the real module');
  assert.ok('WASI' in out.runtime.util);
  assert.equal(globalThis.__wasmUtilLoads, 1, 'loaded once');
  // A second load reuses the runtime already loaded.
  const again = loadWasm(Buffer.from('again'), { pkgDir: d, pkg: 'x0x' });
  assert.equal(again.runtime, out.runtime);
});

test('the runtime is not a dependency of the packed package: found in a WASM platform package, else the error says what to install', () => {
  const d = h.tmpdir();
  const x0x = path.join(d, 'node_modules', 'x0x');
  fs.mkdirSync(x0x, { recursive: true });
  fs.writeFileSync(path.join(x0x, 'package.json'), JSON.stringify({
    name: 'x0x', version: '0.3.1',
    peerDependencies: { '@napi-rs/wasm-runtime': '1.2.7', '@emnapi/core': '2.0.0-beta.2' },
    optionalDependencies: { '@x0x/core-linux-x64-gnu': '0.3.1' },
  }));
  fs.writeFileSync(path.join(x0x, 'release.json'), '{"package":"x0x","version":"0.3.1","scope":"x0x"}');
  fs.writeFileSync(path.join(x0x, 'x0x.wasip1.cjs'), GLUE);
  // Nothing installed: the message names the platform package that brings the runtime, and the pins.
  assert.throws(
    () => loadWasm(Buffer.from('x'), { pkgDir: x0x, pkg: 'x0x' }),
    (e) => e.code === 'loader.load_failed' &&
      e.message.includes('npm install @x0x/core-wasm32-wasip1@0.3.1 (or @napi-rs/wasm-runtime@1.2.7 @emnapi/core@2.0.0-beta.2)'),
  );
  // The runtime nested under the WASM platform package (npm did not hoist it): the glue still finds it there.
  const plat = path.join(d, 'node_modules', '@x0x', 'core-wasm32-wasip1');
  const rt = path.join(plat, 'node_modules', '@napi-rs', 'wasm-runtime');
  fs.mkdirSync(rt, { recursive: true });
  fs.writeFileSync(path.join(plat, 'package.json'), '{"name":"@x0x/core-wasm32-wasip1","version":"0.3.1"}');
  fs.writeFileSync(path.join(rt, 'package.json'), '{"name":"@napi-rs/wasm-runtime","version":"1.2.7","main":"index.js"}');
  fs.writeFileSync(path.join(rt, 'index.js'), 'exports.instantiateNapiModuleSync = (b) => ({ loaded: "nested " + Buffer.from(b) })');
  assert.equal(loadWasm(Buffer.from('verified'), { pkgDir: x0x, pkg: 'x0x' }).loaded, 'nested verified');
});

test('pack.js: x0x lists the runtime as optional peers only; the WASM platform packages depend on it', () => {
  const { PINS, platformPackageJson } = require('../scripts/pack');
  const wasmPkg = platformPackageJson({ name: 'x0x', scope: 'x0x', version: '0.3.1', platform: { name: 'wasm32-wasip1', kind: 'wasm', triple: 'wasm32-wasip1' }, file: 'x0x.wasm32-wasip1.wasm' });
  assert.deepEqual(wasmPkg.dependencies, PINS);
  const native = platformPackageJson({ name: 'x0x', scope: 'x0x', version: '0.3.1', platform: { name: 'linux-x64-gnu', kind: 'native', triple: 'x86_64-unknown-linux-gnu', os: 'linux', arch: 'x64', libc: 'glibc' }, file: 'x0x.linux-x64-gnu.node' });
  assert.equal(native.dependencies, undefined);
  for (const v of Object.values(PINS)) assert.doesNotMatch(v, /[~^<>*]/, 'exact pins');
});
