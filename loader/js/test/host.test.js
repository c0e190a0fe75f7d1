'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const host = require('../lib/host');
const { table, BUILTIN, normalise } = require('../lib/platforms');
const fs = require('fs');
const path = require('path');

test('this host: libc evidence from process.report and the ELF interpreter agree', { skip: process.platform !== 'linux' }, () => {
  const h = host.detectHost();
  const interp = host.elfInterpreter(process.execPath);
  assert.ok(interp, 'node has a PT_INTERP');
  assert.equal(h.interpreter, interp);
  assert.equal(h.libc, host.libcFromInterpreter(interp));
  if (h.libc === 'gnu') assert.match(h.glibc, /^\d+\.\d+/);
});

test('interpreter names map to libc families', () => {
  assert.equal(host.libcFromInterpreter('/lib/ld-musl-x86_64.so.1'), 'musl');
  assert.equal(host.libcFromInterpreter('/lib64/ld-linux-x86-64.so.2'), 'gnu');
  assert.equal(host.libcFromInterpreter('/lib/ld-linux-aarch64.so.1'), 'gnu');
  assert.equal(host.libcFromInterpreter(null), null);
  assert.equal(host.elfInterpreter(__filename), null, 'not ELF');
});

test('musl evidence wins over a missing glibc version', () => {
  const h = host.detectHost({ platform: 'linux', arch: 'arm64', glibc: null, interpreter: '/lib/ld-musl-aarch64.so.1' });
  assert.equal(h.libc, 'musl');
  const names = host.rankCandidates(h, table()).map((c) => c.name);
  assert.equal(names[0], 'linux-arm64-musl');
  assert.deepEqual(names.slice(-1), ['wasm32-wasip1']);
});

test('ranking: exact native, then wasip1-threads where shared memory works, then wasip1', () => {
  const gnu = { platform: 'linux', arch: 'x64', libc: 'gnu', glibc: '2.36', wasmThreads: true };
  assert.deepEqual(host.rankCandidates(gnu, table()).map((c) => c.name), ['linux-x64-gnu', 'wasm32-wasip1-threads', 'wasm32-wasip1']);
  assert.deepEqual(host.rankCandidates({ ...gnu, wasmThreads: false }, table()).map((c) => c.name), ['linux-x64-gnu', 'wasm32-wasip1']);
  assert.deepEqual(host.rankCandidates(gnu, table(), 'force').map((c) => c.name), ['wasm32-wasip1-threads', 'wasm32-wasip1']);
  assert.deepEqual(host.rankCandidates(gnu, table(), 'forbid').map((c) => c.name), ['linux-x64-gnu']);
  assert.deepEqual(host.rankCandidates(gnu, table(), 'prefer').map((c) => c.name), ['wasm32-wasip1-threads', 'wasm32-wasip1', 'linux-x64-gnu']);
  assert.deepEqual(host.rankCandidates(gnu, table(), 'force-threads').map((c) => c.name), ['wasm32-wasip1-threads']);
  assert.deepEqual(host.rankCandidates(gnu, table(), 'force-wasip1').map((c) => c.name), ['wasm32-wasip1']);
  // The threads flavour requested where shared memory does not work: nothing (the error says why).
  assert.deepEqual(host.rankCandidates({ ...gnu, wasmThreads: false }, table(), 'force-threads'), []);
  const win = { platform: 'win32', arch: 'x64', libc: null, wasmThreads: true };
  assert.deepEqual(host.rankCandidates(win, table()).map((c) => c.name).slice(0, 2), ['win32-x64-msvc', 'win32-x64-gnu']);
  const mac = { platform: 'darwin', arch: 'arm64', libc: null, wasmThreads: true };
  assert.equal(host.rankCandidates(mac, table())[0].name, 'darwin-arm64');
});

test('the WASM flavour decision carries its reason (X0X_DIST_DEBUG, doctor)', () => {
  const h = host.detectHost();
  assert.equal(h.wasmThreads, true, 'Node >= 16.4 on Linux has shared WebAssembly.Memory');
  assert.match(host.describeWasm(h), /^wasm32-wasip1-threads preferred over wasm32-wasip1 \(shared WebAssembly\.Memory/);
  assert.match(host.describeWasm({ wasmThreads: false, wasmThreadsReason: 'no shared WebAssembly.Memory: x' }), /^wasm32-wasip1 only, .*: x\)$/);
  // A Node without SharedArrayBuffer: the threads glue could not run there, so wasip1 only, and why.
  const script = `const h = require(${JSON.stringify(require.resolve('../lib/host'))}); const d = h.detectHost();
    console.log(JSON.stringify([d.wasmThreads, h.describeWasm(d)]));`;
  const r = require('node:child_process').spawnSync(process.execPath, ['--no-harmony-sharedarraybuffer', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), [false, 'wasm32-wasip1 only, not wasm32-wasip1-threads (SharedArrayBuffer is not available)']);
});

test('glibc floors compare numerically', () => {
  assert.equal(host.cmpVersion('2.17', '2.36'), -1);
  assert.equal(host.cmpVersion('2.39', '2.36'), 1);
  assert.equal(host.cmpVersion('2.2.5', '2.17'), -1);
  assert.equal(host.cmpVersion('2.36', '2.36.0'), 0);
  assert.equal(host.glibcFloor({ glibc_floor: '2.28' }), '2.28');
  assert.equal(host.glibcFloor({ glibc_floor: 'GLIBC_2.28' }), '2.28');
  assert.equal(host.glibcFloor({ libc: 'musl' }), null);
});

test('the built-in table agrees with manifests/vectors/platforms.json (the single source of truth)', () => {
  const file = path.join(__dirname, '..', '..', '..', 'manifests', 'vectors', 'platforms.json');
  const rows = JSON.parse(fs.readFileSync(file, 'utf8')).platforms.map(normalise);
  const key = (r) => JSON.stringify([r.name, r.triple, r.os, r.arch, r.libc, r.kind, Boolean(r.threads)]);
  assert.deepEqual(rows.map(key).sort(), BUILTIN.map(key).sort());
  for (const r of JSON.parse(fs.readFileSync(file, 'utf8')).platforms) {
    if (r.file_name) assert.equal(require('../lib/platforms').fileName('x0x', normalise(r)), r.file_name);
  }
  return undefined;
});

test('node started through an explicit musl loader: /proc/self/maps decides', () => {
  const maps = '7f00-7f01 r-xp 0 08:01 1 /opt/musl/usr/lib/x86_64-linux-musl/libc.so\n7f02-7f03 r-xp 0 08:01 2 /opt/node/bin/node\n';
  const h = host.detectHost({ platform: 'linux', arch: 'x64', glibc: null, interpreter: null, maps });
  assert.equal(h.libc, 'musl');
  assert.equal(host.rankCandidates(h, table())[0].name, 'linux-x64-musl');
  assert.equal(host.libcFromMaps('7f00 r-xp 0 0 1 /lib/ld-musl-aarch64.so.1\n'), 'musl');
  assert.equal(host.libcFromMaps('7f00 r-xp 0 0 1 /usr/lib/x86_64-linux-gnu/libc.so.6\n'), 'gnu');
  assert.equal(host.libcFromMaps(''), null);
});
