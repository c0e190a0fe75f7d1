'use strict';
// The one JS library of the benchmarks (benches/loader/*.js, benches/core/*.js; run them through benches/run.sh):
// the command line, medians, clocks, one statement timed in a fresh node process, and for the loader benches the
// real x0x package built by scripts/pack.js over a signed repository holding the native binary, and napi-rs's
// generated loader for the same binary as the peer.

const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const WS = path.join(__dirname, '..');
const JS = path.join(WS, 'loader', 'js');
/** The JS loader's WASM path (what `require('x0x')` runs for a WASM build). */
const LOADER_WASM = path.join(JS, 'lib', 'wasm.js');

/** The command line: `opt(key, default = null)` (the word after `key`), `flag(key)`, and the words themselves. */
function args(argv = process.argv.slice(2)) {
  return {
    argv,
    opt: (k, d = null) => (argv.includes(k) ? argv[argv.indexOf(k) + 1] : d),
    flag: (k) => argv.includes(k),
  };
}

/** The loader benches' command line: `args()` plus `--runs` (default `runs`) and `--native` (the core build). */
function options(runs) {
  const a = args();
  return {
    ...a,
    RUNS: Number(a.opt('--runs', runs)),
    NATIVE: path.resolve(a.opt('--native', path.join(WS, 'dist', 'core', 'x0x.linux-x64-gnu.node'))),
  };
}

/** The median (the mean of the middle two for an even count). */
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
/** Milliseconds on the monotonic clock. */
const now = () => Number(process.hrtime.bigint()) / 1e6;
/** One turn of the event loop (lets a WASM build's worker threads run between batches). */
const turn = () => new Promise((resolve) => setImmediate(resolve));

/**
 * Runs `code` in a fresh node process (in `cwd`, with exactly `env`; `pre` runs first, untimed; `prefix` is a
 * command to run node under, e.g. `unshare -n`) with process.hrtime.bigint() around it; returns milliseconds.
 */
function sample(cwd, code, env, { pre = '', prefix = [] } = {}) {
  const [exe, ...args] = [...prefix, process.execPath];
  const timed = `${pre}const t0 = process.hrtime.bigint(); ${code}; const t1 = process.hrtime.bigint(); process.stdout.write(String(Number(t1 - t0) / 1e6))`;
  const r = spawnSync(exe, [...args, '-e', timed], { cwd, env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`benchmark run failed (${code}): ${r.stderr}`);
  return Number(r.stdout);
}

/**
 * The real packages: a repository in `d/repo` with `native` published as x0x 0.1.0 (linux-x64-gnu, glibc floor
 * 2.17), its root in `d/root.json`, and scripts/pack.js (with `extra` arguments) over it writing into `d`.
 * Returns the repository and the tarballs pack.js wrote, in its order (x0x last).
 */
function packRelease(d, native, extra = []) {
  const repo = new (repoHelpers().Repo)(path.join(d, 'repo'));
  repo.publish({ 'x0x/0.1.0/x0x.linux-x64-gnu.node': { data: fs.readFileSync(native), custom: { glibc_floor: '2.17' } } });
  fs.writeFileSync(path.join(d, 'root.json'), repo.anchor);
  const packed = spawnSync(
    process.execPath,
    [path.join(JS, 'scripts', 'pack.js'), '--version', '0.1.0', '--root', path.join(d, 'root.json'), '--repo', repo.dir, ...extra, '--out', d],
    { encoding: 'utf8' },
  );
  if (packed.status !== 0) throw new Error(`pack.js failed: ${packed.stderr}`);
  return { repo, tgzs: packed.stdout.trim().split('\n') };
}

/** Unpacks an npm tarball as the directory `dest` (its `package/`, as npm installs it). */
function untarInto(tgz, dest) {
  const tmp = `${dest}.tmp`;
  fs.mkdirSync(tmp, { recursive: true });
  if (spawnSync('tar', ['xzf', tgz, '-C', tmp]).status !== 0) throw new Error(`tar ${tgz}`);
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  fs.renameSync(path.join(tmp, 'package'), dest);
  fs.rmSync(tmp, { recursive: true });
}

/**
 * napi-rs's own generated CommonJS loader for `native`'s exports (index.d.ts beside it), as `napi build
 * --platform` writes it with core's pinned CLI (writeJsBinding), into `dir`. Returns the path of its index.js.
 */
async function napiIndexJs(dir, native, packageName = 'x0x') {
  const cliPath = require.resolve('@napi-rs/cli', { paths: [path.join(WS, 'core')] });
  const { writeJsBinding } = await import(require('url').pathToFileURL(cliPath));
  const dts = fs.readFileSync(path.join(path.dirname(native), 'index.d.ts'), 'utf8');
  const idents = [...dts.matchAll(/export declare (?:class|function|const) (\w+)/g)].map((m) => m[1]);
  await writeJsBinding({ platform: true, outputDir: dir, binaryName: 'x0x', packageName, idents, version: '0.1.0', wasiFlavors: [] });
  return path.join(dir, 'index.js');
}

/** The JS loader's test helpers (a signed repository on disk), loaded on first use: the core benches never need them. */
function repoHelpers() {
  return require(path.join(JS, 'test', 'helpers', 'repo'));
}

module.exports = { WS, JS, LOADER_WASM, args, options, median, now, turn, sample, packRelease, untarInto, napiIndexJs };
Object.defineProperty(module.exports, 'h', { enumerable: true, get: repoHelpers });
