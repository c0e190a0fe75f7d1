'use strict';
// Loading the WASM build through @napi-rs/wasm-runtime with the napi-generated glue (x0x.wasip1.cjs).
//
// The glue reads `x0x.wasm32-wasip1.wasm` from its own directory (preferring a `.debug.wasm` if present). We
// never let it: the glue is compiled as a CommonJS module whose `require('fs')` returns a view of `fs` where
// reading any `.wasm` path yields the bytes this loader already hashed and matched against signed metadata,
// `existsSync` says the plain `.wasm` exists and no `.debug.wasm` does. Nothing next to the glue is read.

const fs = require('fs');
const path = require('path');
const Module = require('module');
const { err } = require('./errors');

function verifiedFs(bytes) {
  const view = Object.create(fs);
  view.existsSync = (p) => {
    const s = String(p);
    if (s.endsWith('.debug.wasm')) return false;
    if (s.endsWith('.wasm')) return true;
    return fs.existsSync(p);
  };
  view.readFileSync = (p, ...rest) => (String(p).endsWith('.wasm') ? Buffer.from(bytes) : fs.readFileSync(p, ...rest));
  return view;
}

/**
 * The glue shipped in the package for a flavour: `x0x.wasip1.cjs` (wasm32-wasip1) or `x0x.wasi.cjs`
 * (wasm32-wasip1-threads, with its `wasi-worker.mjs`), as napi-rs names them.
 */
function gluePath(pkgDir, pkg, threads = false) {
  const p = path.join(pkgDir, threads ? `${pkg}.wasi.cjs` : `${pkg}.wasip1.cjs`);
  return fs.existsSync(p) ? p : null;
}

/** Instantiate verified WASM `bytes`; returns the addon's exports. */
function loadWasm(bytes, { pkgDir, pkg, threads = false }) {
  const glue = gluePath(pkgDir, pkg, threads);
  if (!glue) throw err('loader.load_failed', `no WASI glue (${threads ? `${pkg}.wasi.cjs` : `${pkg}.wasip1.cjs`}) in ${pkgDir}`);
  try {
    require.resolve('@napi-rs/wasm-runtime', { paths: [pkgDir] });
  } catch (e) {
    throw err('loader.load_failed', `@napi-rs/wasm-runtime is not installed next to ${pkgDir} (it is a dependency of ${pkg}: reinstall without --omit=prod)`, { cause: e });
  }
  const fsView = verifiedFs(bytes);
  const m = new Module(glue, module);
  m.filename = glue;
  m.paths = Module._nodeModulePaths(path.dirname(glue));
  const realRequire = m.require.bind(m);
  m.require = (id) => (id === 'fs' || id === 'node:fs' ? fsView : realRequire(id));
  try {
    m._compile(fs.readFileSync(glue, 'utf8'), glue);
  } catch (e) {
    throw err('loader.load_failed', `the WASM build failed to instantiate`, { cause: e });
  }
  return m.exports;
}

module.exports = { loadWasm, gluePath };
