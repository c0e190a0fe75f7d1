'use strict';
// MEASUREMENT PROTOTYPE, not the loader: loader/js/lib/wasm.js with the runtime's JavaScript compiled from a V8
// code cache (BENCHMARKS.md, "Load time of the WASM builds": ~20% less CPU per WASM load). Run it beside the real
// loader with `node benches/core/load.js DIR --ab benches/core/wasm-codecache-variant.js` (the first sample
// writes the cache; X0X_BENCH_CODE_CACHE picks its directory, default $TMPDIR/x0x-bench-code-cache).
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
const { err } = require('../../loader/js/lib/errors');


// The code-cache variant: every file of the runtime and the glue compiled as CommonJS (the emnapi ES modules
// rewritten line for line by esmToCjs) through vm.Script with a V8 code cache (CODE_CACHE, one file per source
// SHA-256, written at process exit when missing or rejected). No checks: V8 in release builds verifies only the
// cache's version, flags and source length, not a checksum, so a cache must be as trusted as the code itself.
const vm = require('vm');
const crypto = require('crypto');
function esmToCjs(src) {
  const lines = src.split('\n'); const own = []; const stars = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]; if (!/^(?:import|export)\b/.test(line)) continue; let m;
    if ((m = /^import \{([^}]*)\} from '([^']+)';?$/.exec(line))) lines[i] = `const {${m[1].replace(/ as /g, ': ')}} = require(${JSON.stringify(m[2])});`;
    else if ((m = /^export \* from '([^']+)';?$/.exec(line))) { stars.push(`__s${i}`); lines[i] = `const __s${i} = require(${JSON.stringify(m[1])});`; }
    else if ((m = /^export \{([^}]*)\} from '([^']+)';?$/.exec(line))) { lines[i] = `const __f${i} = require(${JSON.stringify(m[2])});`; for (const x of m[1].split(',')) { const [a, b = a] = x.trim().split(/\s+as\s+/); own.push([b, `__f${i}[${JSON.stringify(a)}]`]); } }
    else if ((m = /^export \{([^}]*)\};?$/.exec(line))) { lines[i] = ''; for (const x of m[1].split(',')) { const [a, b = a] = x.trim().split(/\s+as\s+/); own.push([b, a]); } }
    else return null;
  }
  const props = own.map(([n, e]) => `${JSON.stringify(n)}: { enumerable: true, get: () => ${e} }`);
  return `'use strict';${lines.join('\n')}\n;{ const ns = Object.create(null, { ${props.join(', ')} }); for (const f of [${stars.join(',')}]) for (const k of Object.keys(f)) if (k !== 'default' && !(k in ns)) Object.defineProperty(ns, k, { enumerable: true, get: () => f[k] }); module.exports = ns; }`;
}
const CODE_CACHE = process.env.X0X_BENCH_CODE_CACHE || path.join(require('os').tmpdir(), 'x0x-bench-code-cache');
fs.mkdirSync(CODE_CACHE, { recursive: true });
const produced = [];
function cachedRun(module, code, filename) {
  const key = crypto.createHash('sha256').update(code).digest('hex').slice(0, 32);
  const cf = path.join(CODE_CACHE, key);
  let cachedData; try { cachedData = fs.readFileSync(cf); } catch {}
  const script = new vm.Script(Module.wrap(code), { filename, cachedData });
  if (!cachedData || script.cachedDataRejected) produced.push([script, cf]);
  const fn = script.runInThisContext();
  const req = (id) => module.require(id); req.resolve = (r, o) => Module._resolveFilename(r, module, false, o); req.cache = Module._cache;
  fn.call(module.exports, module.exports, req, module, filename, path.dirname(filename));
}
process.on('exit', () => { for (const [s, f] of produced) try { fs.writeFileSync(f, s.createCachedData()); } catch {} });
function install() {
  const js = Module._extensions['.js']; const cjs = Module._extensions['.cjs'] || js;
  Module._extensions['.js'] = function (module, filename) {
    if (/[\\/]@emnapi[\\/]/.test(filename)) { const code = esmToCjs(fs.readFileSync(filename, 'utf8')); if (code) return cachedRun(module, code, filename); }
    return js.call(this, module, filename);
  };
  Module._extensions['.cjs'] = function (module, filename) {
    if (/[\\/](@emnapi|@napi-rs)[\\/]/.test(filename)) return cachedRun(module, fs.readFileSync(filename, 'utf8'), filename);
    return cjs.call(this, module, filename);
  };
  return () => { Module._extensions['.js'] = js; Module._extensions['.cjs'] = cjs; };
}

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
function requireRuntime(id, parent, realRequire) {
  const file = Module._resolveFilename(id, parent);
  if (Module._cache[file]) return Module._cache[file].exports;
  if (!file.endsWith('.cjs')) return realRequire(id);
  const m = new Module(file, parent);
  m.filename = file;
  m.paths = Module._nodeModulePaths(path.dirname(file));
  const own = m.require.bind(m);
  m.require = (dep) => (DEFERRED.has(dep) ? deferredModule(() => own(dep)) : own(dep));
  Module._cache[file] = m;
  try {
    cachedRun(m, fs.readFileSync(file, 'utf8'), file);
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
  m.require = (id) => {
    if (id === 'fs' || id === 'node:fs') return fsView;
    if (id === '@napi-rs/wasm-runtime') return requireRuntime(id, m, realRequire);
    return realRequire(id);
  };
  const undo = install();
  try {
    cachedRun(m, fs.readFileSync(glue, 'utf8'), glue);
    undo();
  } catch (e) {
    throw err('loader.load_failed', `the WASM build failed to instantiate`, { cause: e });
  }
  return m.exports;
}

module.exports = { loadWasm, gluePath };
