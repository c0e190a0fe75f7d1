'use strict';
// Issue 22, item 4: the JS cache's records and the rollback reference (trust.js persists the trusted metadata
// through cache.writeAtomic) are durable as in Rust (durable/): the file is fsynced before its rename, and the
// directory after it, so a crash cannot bring back an older trusted timestamp (a rollback) or lose a blob. Read
// from the real system calls with strace.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

const CACHE = path.join(__dirname, '..', 'lib', 'cache.js');
const haveStrace = spawnSync('strace', ['-V']).status === 0;

/** The system calls `script` makes (strace -f: openat, fsync, rename), one a line. */
function traced(script) {
  const t = fs.mkdtempSync(path.join(os.tmpdir(), 'x0x-durable-'));
  const log = path.join(t, 'strace.log');
  const r = spawnSync('strace', ['-f', '-qq', '-e', 'trace=openat,fsync,rename,renameat,renameat2', '-o', log, process.execPath, '-e', script], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  const lines = fs.readFileSync(log, 'utf8').split('\n');
  fs.rmSync(t, { recursive: true, force: true });
  return lines;
}

/** Asserts: `dest` was renamed into place after an fsync of its file, and its directory was fsynced after. */
function assertDurable(lines, dir, dest) {
  const renameAt = lines.findIndex((l) => /rename/.test(l) && l.includes(JSON.stringify(dest)));
  assert.ok(renameAt > 0, `no rename to ${dest}:\n${lines.join('\n')}`);
  assert.ok(lines.slice(0, renameAt).some((l) => /fsync\(/.test(l)), 'the file is fsynced before its rename');
  const dirOpen = lines.slice(renameAt).find((l) => /openat\(/.test(l) && l.includes(JSON.stringify(dir)) && /O_DIRECTORY/.test(l));
  assert.ok(dirOpen, `the directory ${dir} is opened after the rename:\n${lines.slice(renameAt).join('\n')}`);
  const fd = /= (\d+)\s*$/.exec(dirOpen)[1];
  assert.ok(
    lines.slice(lines.indexOf(dirOpen)).some((l) => new RegExp(`fsync\\(${fd}\\)`).test(l)),
    `fsync of the directory's descriptor ${fd} after the rename`
  );
}

test('a record (mode 0644, e.g. trusted metadata) and a blob (0444) are durable: file, rename, directory', { skip: !haveStrace && 'strace is not installed (scripts/setup.d/70-mirror.sh installs it)' }, () => {
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'x0x-durable-cache-'));
  try {
    for (const d of ['tmp', 'metadata', 'blobs']) fs.mkdirSync(path.join(cacheDir, d), { mode: 0o700 });
    const meta = path.join(cacheDir, 'metadata', 'timestamp.json');
    const blob = path.join(cacheDir, 'blobs', `${'ab'.repeat(32)}.node`);
    const lines = traced(`
      const cache = require(${JSON.stringify(CACHE)});
      cache.writeAtomic(${JSON.stringify(cacheDir)}, ${JSON.stringify(meta)}, Buffer.from('{"signed":{}}'), 0o644);
      cache.writeAtomic(${JSON.stringify(cacheDir)}, ${JSON.stringify(blob)}, Buffer.from('bytes'));`);
    assertDurable(lines, path.dirname(meta), meta);
    assertDurable(lines, path.dirname(blob), blob);
    assert.equal(fs.readFileSync(meta, 'utf8'), '{"signed":{}}');
    assert.equal(fs.statSync(blob).mode & 0o777, 0o444);
  } finally {
    fs.rmSync(cacheDir, { recursive: true, force: true });
  }
});

/** Asserts: `dir` was created, then its parent directory was opened and fsynced (its new entry is durable). */
function assertDirDurable(lines, dir) {
  const made = lines.findIndex((l) => /mkdir/.test(l) && l.includes(JSON.stringify(dir)));
  assert.ok(made >= 0, `no mkdir of ${dir}:\n${lines.join('\n')}`);
  const parent = path.dirname(dir);
  const open = lines.slice(made).find((l) => /openat\(/.test(l) && l.includes(`${JSON.stringify(parent)},`) && /O_DIRECTORY/.test(l));
  assert.ok(open, `the parent ${parent} of the new directory ${dir} is opened after the mkdir`);
  const fd = /= (\d+)\s*$/.exec(open)[1];
  assert.ok(lines.slice(lines.indexOf(open)).some((l) => new RegExp(`fsync\\(${fd}\\)`).test(l)), `fsync of ${parent} after creating ${dir}`);
}

test('the rollback reference: trust.refresh into a new directory makes the directory and every record durable', { skip: !haveStrace && 'strace is not installed (scripts/setup.d/70-mirror.sh installs it)' }, () => {
  const h = require('./helpers/repo');
  const repo = new h.Repo(path.join(h.tmpdir(), 'repo'));
  repo.publish({ 'x0x/0.3.1/x0x.wasm32-wasip1.wasm': { data: Buffer.from('one') } });
  const cacheDir = h.tmpdir();
  fs.mkdirSync(path.join(cacheDir, 'tmp'));
  // Two levels that do not exist yet: both entries must be synced into their parents.
  const persistDir = path.join(cacheDir, 'metadata', 'x0x');
  const anchor = path.join(cacheDir, 'anchor.json');
  fs.writeFileSync(anchor, repo.anchor);
  const LIB = path.join(__dirname, '..', 'lib');
  const log = path.join(cacheDir, 'strace.log');
  const script = `
    const fs = require('fs');
    const trust = require(${JSON.stringify(path.join(LIB, 'trust.js'))});
    const { FileRepo } = require(${JSON.stringify(path.join(LIB, 'fetch.js'))});
    trust.refresh({ repo: new FileRepo(${JSON.stringify(repo.dir)}), anchorBytes: fs.readFileSync(${JSON.stringify(anchor)}),
      persistDir: ${JSON.stringify(persistDir)}, embeddedDir: null, cacheDir: ${JSON.stringify(cacheDir)} })
      .then(() => {}, (e) => { console.error(e); process.exit(1); });`;
  const r = spawnSync('strace', ['-f', '-qq', '-e', 'trace=openat,fsync,rename,renameat,renameat2,mkdir,mkdirat', '-o', log, process.execPath, '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const lines = fs.readFileSync(log, 'utf8').split('\n');
  assertDirDurable(lines, path.join(cacheDir, 'metadata'));
  assertDirDurable(lines, persistDir);
  const saved = fs.readdirSync(persistDir).sort();
  assert.deepEqual(saved.filter((f) => !/^\d+\.(snapshot|targets)\.json$/.test(f)), ['timestamp.json']);
  assert.equal(saved.length, 3, saved.join(' ')); // timestamp, N.snapshot, N.targets
  for (const f of saved) assertDurable(lines, persistDir, path.join(persistDir, f));
});
