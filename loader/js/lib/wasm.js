'use strict';
// Loading the WASM build through @napi-rs/wasm-runtime with the napi-generated glue (x0x.wasip1.cjs).
//
// The glue reads `x0x.wasm32-wasip1.wasm` from its own directory (preferring a `.debug.wasm` if present). We
// never let it: the glue is compiled as a CommonJS module whose `require('fs')` returns a view of `fs` where
// reading any `.wasm` path yields the bytes this loader already hashed and matched against signed metadata,
// `existsSync` says the plain `.wasm` exists and no `.debug.wasm` does. Nothing next to the glue is read.
//
// Load time: the glue requires @napi-rs/wasm-runtime, whose runtime.cjs requires @tybys/wasm-util (and tslib)
// only to re-export its `WASI` class, a polyfill for hosts without one: the glue uses `node:wasi`. Loading that
// polyfill was 20-30% of the WASM load (BENCHMARKS.md, "Core: native vs WASM"), so we load the runtime ourselves
// and hand it a stand-in whose `WASI` constructs the real class on first use and whose every other property
// loads the real module. Nothing is skipped, only deferred; a runtime already loaded by someone is reused.

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

/** Modules the runtime requires at load but (in Node) only uses on demand; see the header. */
const DEFERRED = new Set(['@tybys/wasm-util']);

/** A stand-in for a module: `WASI` constructs the real one's on use, anything else loads the real module. */
function deferredModule(load) {
  let real;
  const get = () => (real ??= load());
  function WASI(...args) {
    return new (get().WASI)(...args);
  }
  return new Proxy({}, {
    get: (_, k) => (k === 'WASI' ? WASI : get()[k]),
    has: (_, k) => k in get(),
    ownKeys: () => Reflect.ownKeys(get()),
    getOwnPropertyDescriptor: (_, k) => {
      const d = Reflect.getOwnPropertyDescriptor(get(), k);
      return d && { ...d, configurable: true };
    },
  });
}

/**
 * `@napi-rs/wasm-runtime` as the glue would get it, but with [`DEFERRED`] modules deferred. Falls back to a plain
 * require when the runtime's CommonJS entry is not a `.cjs` file (a layout this was not written for).
 */
function requireRuntime(file, parent, realRequire) {
  if (Module._cache[file]) return Module._cache[file].exports;
  if (!file.endsWith('.cjs')) return realRequire(file);
  const m = new Module(file, parent);
  m.filename = file;
  m.paths = Module._nodeModulePaths(path.dirname(file));
  const own = m.require.bind(m);
  m.require = (dep) => (DEFERRED.has(dep) ? deferredModule(() => own(dep)) : own(dep));
  Module._cache[file] = m;
  try {
    m._compile(fs.readFileSync(file, 'utf8'), file);
  } catch (e) {
    delete Module._cache[file];
    throw e;
  }
  m.loaded = true;
  return m.exports;
}

/**
 * The glue shipped in the package for a flavour: `x0x.wasip1.cjs` (wasm32-wasip1) or `x0x.wasi.cjs`
 * (wasm32-wasip1-threads, with its `wasi-worker.mjs`), as napi-rs names them.
 */
function gluePath(pkgDir, pkg, threads = false) {
  const p = path.join(pkgDir, threads ? `${pkg}.wasi.cjs` : `${pkg}.wasip1.cjs`);
  return fs.existsSync(p) ? p : null;
}

const RUNTIME = '@napi-rs/wasm-runtime';

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

/**
 * Where the WASM runtime is looked up: the package itself (a runtime the project installed, hoisted next to it),
 * then the WASM platform packages (`@<scope>/core-wasm32-wasip1`, `-threads`), which depend on it. The packed
 * package only lists it as optional peer dependencies, so native hosts never install it (docs/loader.md, "WASM").
 */
function runtimeDirs(pkgDir, pkg) {
  const dirs = [pkgDir];
  const scope = (readJson(path.join(pkgDir, 'release.json')) || {}).scope || pkg;
  for (const flavour of ['wasm32-wasip1', 'wasm32-wasip1-threads']) {
    try {
      dirs.push(path.dirname(require.resolve(`@${scope}/core-${flavour}/package.json`, { paths: [pkgDir] })));
    } catch {
      // not installed
    }
  }
  return { dirs, scope };
}

/** The `npm install` that brings the runtime: the WASM platform package when one was packed, else the pins. */
function runtimeInstall(pkgDir, pkg, scope, threads) {
  const pj = readJson(path.join(pkgDir, 'package.json')) || {};
  const pins = Object.entries(pj.peerDependencies || {}).map(([k, v]) => `${k}@${v}`);
  const platform = pj.optionalDependencies && pj.version ? `@${scope}/core-${threads ? 'wasm32-wasip1-threads' : 'wasm32-wasip1'}@${pj.version}` : null;
  const all = pins.length ? pins.join(' ') : RUNTIME;
  return platform ? `npm install ${platform} (or ${all})` : `npm install ${all}`;
}

/** Instantiate verified WASM `bytes`; returns the addon's exports. */
function loadWasm(bytes, { pkgDir, pkg, threads = false }) {
  const glue = gluePath(pkgDir, pkg, threads);
  if (!glue) throw err('loader.load_failed', `no WASI glue (${threads ? `${pkg}.wasi.cjs` : `${pkg}.wasip1.cjs`}) in ${pkgDir}`);
  const { dirs, scope } = runtimeDirs(pkgDir, pkg);
  let cause;
  let runtimeFile;
  for (const d of dirs) {
    try {
      // Resolved from that directory (under Yarn PnP: as a dependency of that package), then loaded by path.
      runtimeFile = require.resolve(RUNTIME, { paths: [d] });
      break;
    } catch (e) {
      cause ??= e;
    }
  }
  if (!runtimeFile) {
    throw err(
      'loader.load_failed',
      `the WASM build needs its runtime (${RUNTIME}), which ${pkg} does not install by default (native hosts never need it): ${runtimeInstall(pkgDir, pkg, scope, threads)}`,
      { cause },
    );
  }
  const fsView = verifiedFs(bytes);
  const m = new Module(glue, module);
  m.filename = glue;
  m.paths = Module._nodeModulePaths(path.dirname(glue));
  const realRequire = m.require.bind(m);
  m.require = (id) => {
    if (id === 'fs' || id === 'node:fs') return fsView;
    if (id === RUNTIME) return requireRuntime(runtimeFile, m, realRequire);
    return realRequire(id);
  };
  try {
    m._compile(fs.readFileSync(glue, 'utf8'), glue);
  } catch (e) {
    throw err('loader.load_failed', `the WASM build failed to instantiate`, { cause: e });
  }
  return m.exports;
}

module.exports = { loadWasm, gluePath };
