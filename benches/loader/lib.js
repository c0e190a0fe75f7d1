'use strict';
// What the loader benchmarks share (benches/loader/warm.js, benches/loader/platform-package.js,
// loader/js/bench/require.js): their options, medians, one statement timed in a fresh node process, the real
// x0x package built by scripts/pack.js over a signed repository holding the native binary, and napi-rs's
// generated loader for the same binary as the peer.

const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const WS = path.join(__dirname, '..', '..');
const JS = path.join(WS, 'loader', 'js');
const h = require(path.join(JS, 'test', 'helpers', 'repo'));

/** The command line: `opt(key, default)`, `flag(key)`, `--runs` (default `runs`) and `--native` (the core build). */
function options(runs) {
  const argv = process.argv.slice(2);
  const opt = (k, d) => (argv.includes(k) ? argv[argv.indexOf(k) + 1] : d);
  return {
    argv,
    opt,
    flag: (k) => argv.includes(k),
    RUNS: Number(opt('--runs', runs)),
    NATIVE: path.resolve(opt('--native', path.join(WS, 'dist', 'core', 'x0x.linux-x64-gnu.node'))),
  };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

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
  const repo = new h.Repo(path.join(d, 'repo'));
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

module.exports = { WS, JS, h, options, median, sample, packRelease, untarInto, napiIndexJs };
