#!/usr/bin/env node
'use strict';
// Warm require('x0x') of two versions of the loader, A and B, interleaved sample by sample in one run (for a
// before/after figure on a loaded machine, where separate runs of warm.js differ by more than the change).
// Each side: that tree's scripts/pack.js packs the same binary from the same signed repository; the package is
// unpacked into its own project, the cache primed (its own HOME, default cache location, as warm.js), and every
// sample is a fresh `node` with process.hrtime.bigint() and process.cpuUsage() around `require('x0x')`, A and
// B alternating (ABBA: each round reverses the order). Both clocks are reported: on a machine shared with other
// work the wall clock also counts the time the process waited for a core; the CPU time (user + system, all
// threads) does not.
// Usage: node benches/loader/warm-ab.js --a OLD/loader/js --b loader/js [--runs 100] [--scenario first|later]
//          [--native dist/core/x0x.linux-x64-gnu.node]

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { h, options, median, sample, untarInto } = require('../lib');
const { spawnSync: run } = require('child_process');

const { opt, RUNS, NATIVE } = options(100);
const A = path.resolve(opt('--a', ''));
const B = path.resolve(opt('--b', path.join(__dirname, '..', '..', 'loader', 'js')));
const PRE = opt('--scenario', 'first') === 'later' ? "require('x0x-prelude'); " : '';

function side(d, repo, js, name) {
  const out = path.join(d, name);
  fs.mkdirSync(out);
  const r = spawnSync(process.execPath, [path.join(js, 'scripts', 'pack.js'), '--version', '0.1.0', '--root', path.join(d, 'root.json'), '--repo', repo.dir, '--out', out], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${js}: pack.js failed: ${r.stderr}`);
  const proj = path.join(out, 'project');
  untarInto(r.stdout.trim().split('\n').pop(), path.join(proj, 'node_modules', 'x0x'));
  const prelude = path.join(proj, 'node_modules', 'x0x-prelude');
  fs.mkdirSync(prelude, { recursive: true });
  fs.writeFileSync(path.join(prelude, 'package.json'), '{"name":"x0x-prelude","version":"0.1.0","main":"index.js"}\n');
  fs.writeFileSync(path.join(prelude, 'index.js'), "module.exports = require('./more');\n");
  fs.writeFileSync(path.join(prelude, 'more.js'), 'module.exports = 1;\n');
  const env = { ...process.env, HOME: path.join(out, 'home'), XDG_CACHE_HOME: '', X0X_DIST_CACHE: '', X0X_DIST_URL: `file://${repo.dir}` };
  sample(proj, "require('x0x')", env); // cold: fetch, verify, record
  const check = spawnSync(process.execPath, ['-e', "require('x0x'); const p = require('path').dirname(require.resolve('x0x')); const l = Object.keys(require.cache).filter((f) => f.startsWith(p)); if (l.length !== 1) throw new Error('not warm: ' + l.join(' '))"], { cwd: proj, env, encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`${name}: ${check.stderr}`);
  return { proj, env };
}

function main() {
  if (!fs.existsSync(path.join(A, 'scripts', 'pack.js'))) throw new Error('--a: a loader/js directory (with scripts/pack.js)');
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'x0x-warm-ab-'));
  try {
    const repo = new h.Repo(path.join(d, 'repo'));
    repo.publish({ 'x0x/0.1.0/x0x.linux-x64-gnu.node': { data: fs.readFileSync(NATIVE), custom: { glibc_floor: '2.17' } } });
    fs.writeFileSync(path.join(d, 'root.json'), repo.anchor);
    const a = side(d, repo, A, 'a');
    const b = side(d, repo, B, 'b');
    const xs = { a: [], b: [] };
    const cpu = { a: [], b: [] };
    const timed = `${PRE}const c0 = process.cpuUsage(); const t0 = process.hrtime.bigint(); require('x0x'); const t1 = process.hrtime.bigint(); const c1 = process.cpuUsage(c0); process.stdout.write(JSON.stringify([Number(t1 - t0) / 1e6, (c1.user + c1.system) / 1e3]))`;
    const one = (k, s) => {
      const r = run(process.execPath, ['-e', timed], { cwd: s.proj, env: s.env, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`benchmark run failed: ${r.stderr}`);
      const [w, c] = JSON.parse(r.stdout);
      xs[k].push(w);
      cpu[k].push(c);
    };
    const load0 = os.loadavg()[0].toFixed(1);
    for (let i = 0; i < RUNS; i += 1) {
      if (i % 2) {
        one('b', b);
        one('a', a);
      } else {
        one('a', a);
        one('b', b);
      }
    }
    const ma = median(xs.a);
    const mb = median(xs.b);
    const load = `${load0} -> ${os.loadavg()[0].toFixed(1)}`;
    console.log(`warm require('x0x'), ${PRE ? 'later' : 'first'} scenario, ${RUNS} alternating fresh processes each, load ${load}, ${new Date().toISOString()}`);
    console.log(`A ${A}: median ${ma.toFixed(3)} ms, min ${Math.min(...xs.a).toFixed(3)} ms; CPU median ${median(cpu.a).toFixed(3)} ms`);
    console.log(`B ${B}: median ${mb.toFixed(3)} ms, min ${Math.min(...xs.b).toFixed(3)} ms; CPU median ${median(cpu.b).toFixed(3)} ms`);
    console.log(`B / A (medians): ${(mb / ma).toFixed(3)}; B / A (minima): ${(Math.min(...xs.b) / Math.min(...xs.a)).toFixed(3)}; B / A (CPU medians): ${(median(cpu.b) / median(cpu.a)).toFixed(3)}`);
  } finally {
    fs.rmSync(d, { recursive: true, force: true });
  }
}

main();
