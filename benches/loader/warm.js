#!/usr/bin/env node
'use strict';
// Warm require('x0x') against its peers, alternating, in one run (results in BENCHMARKS.md, "Loader").
//
// Every sample is a fresh `node` process with process.hrtime.bigint() around the one statement; rows are
// interleaved round by round (ours, napi-rs, dlopen, floors) so machine load hits all of them alike.
// Rows, each required by package name from a project's node_modules, as a user would:
//   x0x       the real package from loader/js/scripts/pack.js, warm cache (record primed)
//   napi      napi-rs's generated index.js (writeJsBinding, as `napi build --platform`) next to the same binary
//   dlopen    bare process.dlopen of the same binary (absolute path)
//   node      require() of the .node file by absolute path (Node's own extension loader)
//   empty     require() of an empty package in node_modules (what any JS entry file costs)
//   floor     require() of a package whose index.js is a bare process.dlopen (the floor of any JS loader)
// Two scenarios, each its own table (both by default, alternating within a round as well):
//   first     require('x0x') is the first user-land require of the process (`node -e "require('x0x')"`)
//   later     the module system is already warm: the process has first required another package from
//             node_modules (`x0x-prelude`: package.json main, index.js requiring a second file of its own,
//             as almost every app does before it gets to x0x); only the require of the row is timed
// --steps: afterwards, where ours spends its time, per scenario: a copy of the packed index.js with
// process.hrtime.bigint() marks between the steps of the inlined warm path (fails if the code no longer has the
// statements it marks); medians of --runs fresh processes. The marks cost a little: the steps add up to
// slightly more than the uninstrumented row.
// Usage: node benches/loader/warm.js [--native dist/core/x0x.linux-x64-gnu.node] [--runs 25]
//          [--scenario first|later|both] [--steps] [--json] [--keep]

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { h, options, median, sample: sampleIn, packRelease, untarInto, napiIndexJs } = require('../lib');

const { argv, opt, RUNS, NATIVE } = options(25);

const SCENARIOS = { first: '', later: "require('x0x-prelude'); " };

const sample = (cwd, code, env, pre = '') => sampleIn(cwd, code, { ...process.env, ...env }, { pre });

/** The packed index.js of node_modules/x0x with hrtime marks between the warm path's steps, as x0x-steps. */
function instrumented(nm) {
  let src = fs.readFileSync(path.join(nm, 'x0x', 'index.js'), 'utf8');
  const M = (n) => `globalThis.__marks.push(['${n}', process.hrtime.bigint()]);`;
  const edits = [
    ["const fs = require('fs');", `${M('resolve x0x, read and compile index.js (Node)')}const fs = require('fs');`],
    ['const __warm = ', `${M('require fs and path, define the functions')}const __warm = `],
    ['  if (!safeDirs(cacheDir)) return null;', `${M('settings: bypasses, cache directory, anchor, force mode')}if (!safeDirs(cacheDir)) return null;${M('cache directory, blobs/, resolved/: 3 stats (this user\'s alone)')}`],
    [
      "rec = JSON.parse(fs.readFileSync(recordPath(cacheDir, anchorFile, release.pkg, release.version, forceWasm), 'utf8'));",
      `const __p = recordPath(cacheDir, anchorFile, release.pkg, release.version, forceWasm);${M('record name (JSON + FNV-1a + safe name)')}` +
        `const __t = fs.readFileSync(__p, 'utf8');${M('read the record')}rec = JSON.parse(__t);${M('parse the record')}`,
    ],
    ['return checkRecord(rec, anchorFile, release.version, cacheDir);', `const __r = checkRecord(rec, anchorFile, release.version, cacheDir);${M('checks: 3 stats (anchor, node, ELF interpreter) and fields')}return __r;`],
    ['  const fd = openChecked(rec.blob, rec.blobId);\n', (x) => `${x}${M('blob: open (O_NOFOLLOW), fstat against the record')}`],
    ["    process.dlopen(m, process.platform === 'linux' ? '/proc/self/fd/' + fd : rec.blob);\n", (x) => `${x}${M('process.dlopen of /proc/self/fd/N')}`],
    ['    fs.closeSync(fd);\n  }\n', (x) => `${x}${M('close the descriptor')}`],
  ];
  for (const [from, to] of edits) {
    if (!src.includes(from)) throw new Error(`--steps: the packed index.js no longer contains ${JSON.stringify(from)}`);
    src = src.replace(from, to);
  }
  src = src.replace('__hot.exports.fastLoad(__dirname,', `__hot.exports.fastLoad(${JSON.stringify(path.join(nm, 'x0x'))},`);
  fs.mkdirSync(path.join(nm, 'x0x-steps'));
  fs.writeFileSync(path.join(nm, 'x0x-steps', 'package.json'), '{"name":"x0x-steps","version":"0.1.0","main":"index.js"}\n');
  fs.writeFileSync(path.join(nm, 'x0x-steps', 'index.js'), src);
}

function steps(nm, cwd, env, scenarios) {
  instrumented(nm);
  const xs = Object.fromEntries(scenarios.map((sc) => [sc, {}]));
  for (let i = 0; i < RUNS; i += 1) {
    for (const sc of scenarios) {
      const code = `${SCENARIOS[sc]}globalThis.__marks = []; const t0 = process.hrtime.bigint(); const x = require('x0x-steps'); const t1 = process.hrtime.bigint();
        if (!x || !Object.keys(x).length) throw new Error('the warm path did not load');
        let prev = t0; const out = [];
        for (const [n, t] of __marks) { out.push([n, Number(t - prev) / 1e6]); prev = t; }
        out.push(['return to the caller', Number(t1 - prev) / 1e6], ['total (instrumented)', Number(t1 - t0) / 1e6]);
        process.stdout.write(JSON.stringify(out))`;
      const r = spawnSync(process.execPath, ['-e', code], { cwd, env: { ...process.env, ...env }, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`--steps run failed: ${r.stderr}`);
      for (const [n, v] of JSON.parse(r.stdout)) (xs[sc][n] ||= []).push(v);
    }
  }
  console.log(`\nwhere ours spends its time (medians of ${RUNS} instrumented fresh processes)`);
  console.log(`| Step | ${scenarios.join(' ms | ')} ms |`);
  console.log(`|---|${scenarios.map(() => '---|').join('')}`);
  for (const n of Object.keys(xs[scenarios[0]])) console.log(`| ${n} | ${scenarios.map((sc) => median(xs[sc][n]).toFixed(3)).join(' | ')} |`);
}

async function main() {
  if (!fs.existsSync(NATIVE)) throw new Error(`${NATIVE} missing: cargo xtask build --targets host --out dist/core`);
  const d = h.tmpdir('x0x-warm-bench-');
  const { repo, tgzs } = packRelease(d, NATIVE);
  const nm = path.join(d, 'project', 'node_modules');
  untarInto(tgzs[0], path.join(nm, 'x0x'));
  const napiDir = path.join(nm, 'x0x-napi');
  fs.mkdirSync(napiDir);
  fs.copyFileSync(NATIVE, path.join(napiDir, 'x0x.linux-x64-gnu.node'));
  fs.writeFileSync(path.join(napiDir, 'package.json'), '{"name":"x0x-napi","version":"0.1.0","main":"index.js"}\n');
  await napiIndexJs(napiDir, NATIVE);
  const emptyDir = path.join(nm, 'x0x-empty');
  fs.mkdirSync(emptyDir);
  fs.writeFileSync(path.join(emptyDir, 'package.json'), '{"name":"x0x-empty","version":"0.1.0","main":"index.js"}\n');
  fs.writeFileSync(path.join(emptyDir, 'index.js'), '');
  const plain = path.join(d, 'plain');
  fs.mkdirSync(plain);
  fs.copyFileSync(NATIVE, path.join(plain, 'x0x.node'));
  // The floor of any loader in node_modules: a package whose index.js only dlopens the binary.
  const floorDir = path.join(nm, 'x0x-floor');
  fs.mkdirSync(floorDir);
  fs.writeFileSync(path.join(floorDir, 'package.json'), '{"name":"x0x-floor","version":"0.1.0","main":"index.js"}\n');
  fs.writeFileSync(path.join(floorDir, 'index.js'), `'use strict';\nconst m = { exports: {} };\nprocess.dlopen(m, ${JSON.stringify(path.join(plain, 'x0x.node'))});\nmodule.exports = m.exports;\n`);
  // What an app has usually required before x0x: a package whose index.js requires a file of its own.
  const preludeDir = path.join(nm, 'x0x-prelude');
  fs.mkdirSync(path.join(preludeDir, 'lib'), { recursive: true });
  fs.writeFileSync(path.join(preludeDir, 'package.json'), '{"name":"x0x-prelude","version":"0.1.0","main":"index.js"}\n');
  fs.writeFileSync(path.join(preludeDir, 'index.js'), "'use strict';\nconst { join } = require('path');\nmodule.exports = { ...require('./lib/util'), join };\n");
  fs.writeFileSync(path.join(preludeDir, 'lib', 'util.js'), "'use strict';\nexports.twice = (x) => 2 * x;\n");
  const cwd = path.join(d, 'project');
  // The default cache location ($HOME/.cache/x0x-dist), as most users run it.
  const env = { HOME: path.join(d, 'home'), XDG_CACHE_HOME: '', X0X_DIST_CACHE: '', X0X_DIST_URL: `file://${repo.dir}` };
  sample(cwd, "require('x0x')", env); // prime: download, verify, cache, warm record
  for (const pre of Object.values(SCENARIOS)) {
    const check = spawnSync(process.execPath, ['-e', `${pre}require('x0x'); console.log(Object.keys(require.cache).join('\\n'))`], { cwd, env: { ...process.env, ...env }, encoding: 'utf8' });
    const own = check.stdout.split('\n').filter((f) => f.startsWith(path.join(nm, 'x0x') + path.sep));
    if (check.status !== 0 || own.length !== 1) throw new Error(`the inlined warm path was not taken (${pre || 'first'}): ${own.join(' ')} ${check.stderr}`);
  }

  const rows = {
    x0x: ["require('x0x')", env],
    napi: ["require('x0x-napi')", {}],
    dlopen: [`process.dlopen({ exports: {} }, ${JSON.stringify(path.join(plain, 'x0x.node'))})`, {}],
    node: [`require(${JSON.stringify(path.join(plain, 'x0x.node'))})`, {}],
    empty: ["require('x0x-empty')", {}],
    floor: ["require('x0x-floor')", {}],
  };
  const which = opt('--scenario', 'both');
  const scenarios = which === 'both' ? Object.keys(SCENARIOS) : [which];
  if (!scenarios.every((sc) => sc in SCENARIOS)) throw new Error(`--scenario: first, later or both (got ${which})`);
  const xs = Object.fromEntries(scenarios.map((sc) => [sc, Object.fromEntries(Object.keys(rows).map((k) => [k, []]))]));
  const load0 = os.loadavg()[0];
  for (let i = 0; i < RUNS; i += 1) {
    for (const [k, [code, e]] of Object.entries(rows)) for (const sc of scenarios) xs[sc][k].push(sample(cwd, code, e, SCENARIOS[sc]));
  }
  const load1 = os.loadavg()[0];
  const stats = (v) => ({ median: median(v), min: Math.min(...v) });
  const ms = Object.fromEntries(scenarios.map((sc) => [sc, Object.fromEntries(Object.entries(xs[sc]).map(([k, v]) => [k, stats(v)]))]));
  const result = {
    machine: `${os.cpus().length} cores, ${os.cpus()[0].model}, node ${process.version}, load ${load0.toFixed(1)} -> ${load1.toFixed(1)}`,
    date: new Date().toISOString(),
    binary: `${path.basename(NATIVE)} (${fs.statSync(NATIVE).size} bytes)`,
    runs: RUNS,
    // `ms` stays the first-require table (earlier readers of --json); `scenarios` holds every table.
    ms: ms.first || ms[scenarios[0]],
    scenarios: ms,
  };
  if (argv.includes('--json')) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else {
    console.log(`${result.machine}; ${result.date}; ${result.binary}; ${RUNS} fresh processes per row and scenario, alternating`);
    const label = {
      x0x: "**x0x loader, warm `require('x0x')`**",
      napi: "napi-rs generated `index.js`, `require('x0x-napi')`",
      dlopen: 'bare `process.dlopen` (absolute path)',
      node: '`require()` of the `.node` file (absolute path)',
      empty: '`require()` of an empty package in node_modules',
      floor: '`require()` of a package whose `index.js` only dlopens the binary (floor)',
    };
    const title = { first: 'first user require of the process', later: "after `require('x0x-prelude')` (module system warm)" };
    for (const sc of scenarios) {
      const m = ms[sc];
      console.log(`\n${title[sc]}`);
      console.log('| Row | median ms | min ms | x0x / row (median) |');
      console.log('|---|---|---|---|');
      for (const k of Object.keys(rows)) console.log(`| ${label[k]} | ${m[k].median.toFixed(3)} | ${m[k].min.toFixed(3)} | ${(m.x0x.median / m[k].median).toFixed(2)} |`);
    }
  }
  if (argv.includes('--steps')) steps(nm, cwd, env, scenarios);
  if (argv.includes('--keep')) console.error(`kept ${d}`);
  else fs.rmSync(d, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
