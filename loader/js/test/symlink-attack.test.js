'use strict';
// Issue 25, finding 1 (high): another user must never get code run by a victim's require('x0x') through the
// cache path. The attack as it was run: X0X_DIST_CACHE in a shared sticky directory (/tmp-like), the path
// created beforehand by another uid as a symbolic link that she flips between the victim's cache and her own
// directory, where she plants a shared object (a constructor that writes a marker file), a record naming it,
// and swaps whatever the victim writes there for it. With fs.protected_symlinks=0 (as on the attacked machine;
// macOS has no such protection) her .so ran as the victim in 4 of 7 tries.
//
// Two real uids: the victim is this process (root in CI), the attacker the user `x0xattacker`, created here
// when missing (useradd). Without root the test is skipped with a loud message. fs.protected_symlinks is set
// to 0 for the run (and restored) so that the loader's own defence is what is exercised, not the kernel's.
// The victim requires the real packed package (scripts/pack.js: the inlined warm path, then lib/) in fresh
// `node` processes; its verified binary is a real N-API addon.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn, spawnSync } = require('child_process');
const h = require('./helpers/repo');
const { buildAddon } = require('./helpers/addon');
const { recordPath } = require('../lib/hot');

const ROOT = process.getuid && process.getuid() === 0;
const ATTACKER = 'x0xattacker';
const NATIVE = 'x0x/0.3.1/x0x.linux-x64-gnu.node';

function loud(msg) {
  process.stderr.write(`\n*** ${msg} ***\n\n`);
}

/** The attacker's uid/gid, creating the user if needed (idempotent); null when that is impossible. */
function attacker() {
  const id = () => spawnSync('id', ['-u', ATTACKER], { encoding: 'utf8' });
  let r = id();
  if (r.status !== 0) {
    const add = spawnSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', ATTACKER], { encoding: 'utf8' });
    r = id();
    if (r.status !== 0) return { error: `useradd ${ATTACKER} failed: ${add.stderr || add.error}` };
  }
  const gid = Number(spawnSync('id', ['-g', ATTACKER], { encoding: 'utf8' }).stdout);
  return { uid: Number(r.stdout), gid };
}

const who = ROOT && process.platform === 'linux' ? attacker() : null;
const addonDir = h.tmpdir();
const addon = who && !who.error ? buildAddon(addonDir) : null;
const skip = !ROOT
  ? 'needs root: a second real uid (x0xattacker) and fs.protected_symlinks=0'
  : process.platform !== 'linux'
    ? 'Linux only'
    : who.error || (!addon && 'no C compiler / node headers for the victim addon');
if (skip) loud(`symlink-attack.test.js SKIPPED: ${skip} — the two-uid regression test of issue 25 finding 1 did not run`);

// Kernel protection off for the run (restored after): with it on, following her link from a sticky
// directory fails in the kernel (EACCES) before the loader's own check is reached.
const PROTECTED = '/proc/sys/fs/protected_symlinks';
let protectedBefore = null;
if (!skip) {
  try {
    protectedBefore = fs.readFileSync(PROTECTED, 'utf8').trim();
    if (protectedBefore !== '0') fs.writeFileSync(PROTECTED, '0');
  } catch (e) {
    loud(`cannot set fs.protected_symlinks=0 (${e.message}): the kernel may refuse her link before the loader does`);
  }
  process.on('exit', () => {
    if (protectedBefore && protectedBefore !== '0') {
      try {
        fs.writeFileSync(PROTECTED, protectedBefore);
      } catch {
        /* reported above */
      }
    }
  });
}

/**
 * The world: a sticky world-writable directory (like /tmp) holding the victim's project (world-readable, so
 * that she can copy the identities the record needs), the victim's own cache, her directory and her link.
 */
function world() {
  const shared = fs.mkdtempSync(path.join(os.tmpdir(), 'x0x-shared-'));
  process.on('exit', () => fs.rmSync(shared, { recursive: true, force: true }));
  fs.chmodSync(shared, 0o1777);
  const victim = path.join(shared, 'victim');
  fs.mkdirSync(victim, { mode: 0o755 });
  const repo = new h.Repo(path.join(victim, 'repo'));
  repo.publish({ [NATIVE]: { data: fs.readFileSync(addon), custom: { glibc_floor: '2.2.5', libc: 'glibc' } } });
  fs.writeFileSync(path.join(victim, 'root.json'), repo.anchor);
  const packed = spawnSync(process.execPath, [path.join(h.LOADER, 'scripts', 'pack.js'), '--version', '0.3.1', '--root', path.join(victim, 'root.json'), '--repo', repo.dir, '--out', victim], { encoding: 'utf8' });
  assert.equal(packed.status, 0, packed.stderr);
  const nm = path.join(victim, 'project', 'node_modules');
  fs.mkdirSync(nm, { recursive: true });
  assert.equal(spawnSync('tar', ['xzf', packed.stdout.trim(), '-C', nm]).status, 0);
  fs.renameSync(path.join(nm, 'package'), path.join(nm, 'x0x'));
  spawnSync('chmod', ['-R', 'a+rX', victim]);
  const sha = h.sha(fs.readFileSync(addon));
  const w = {
    shared,
    repo,
    project: path.join(victim, 'project'),
    pkgDir: path.join(nm, 'x0x'),
    sha,
    own: path.join(shared, 'victim-cache'), // the victim's real cache directory
    evil: path.join(shared, 'evil'), // hers
    link: path.join(shared, 'cache'), // X0X_DIST_CACHE: her symbolic link
    marker: path.join(shared, 'marker'),
  };
  // Her shared object: a constructor that leaves the marker (what "her code ran as the victim" looks like).
  const src = path.join(shared, 'evil.c');
  fs.writeFileSync(src, `#include <fcntl.h>\n#include <unistd.h>\n__attribute__((constructor)) static void pwn(void) { int fd = open(${JSON.stringify(w.marker)}, O_WRONLY | O_CREAT | O_APPEND, 0666); if (fd >= 0) { write(fd, "pwned\\n", 6); close(fd); } }\n`);
  const so = path.join(shared, 'evil.so');
  const cc = spawnSync('cc', ['-shared', '-fPIC', '-o', so, src], { encoding: 'utf8' });
  assert.equal(cc.status, 0, cc.stderr);
  fs.chownSync(so, who.uid, who.gid);
  fs.chmodSync(so, 0o755);
  w.so = so;
  return w;
}

/** The victim's require of the packed package in a fresh node: {ok, code, hello}. */
function victimRequire(w, env = {}) {
  return new Promise((resolve) => {
    const code = `try { const x = require('x0x'); process.stdout.write(JSON.stringify({ ok: true, hello: x.hello() })); } catch (e) { process.stdout.write(JSON.stringify({ ok: false, code: e.code, message: e.message })); }`;
    const p = spawn(process.execPath, ['-e', code], { cwd: w.project, env: { ...process.env, X0X_DIST_URL: `file://${w.repo.dir}`, X0X_DIST_OFFLINE: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let errOut = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { errOut += d; });
    p.on('exit', () => {
      try {
        resolve(JSON.parse(out));
      } catch {
        resolve({ ok: false, code: 'no answer', message: errOut });
      }
    });
  });
}

/** Runs `script` (JavaScript) as the attacker; resolves when it exits. */
function asAttacker(w, script, args = []) {
  const file = path.join(w.shared, `attacker-${Math.random().toString(16).slice(2)}.js`);
  fs.writeFileSync(file, script, { mode: 0o644 });
  return spawn(process.execPath, [file, ...args], { uid: who.uid, gid: who.gid, cwd: w.shared, env: { PATH: process.env.PATH }, stdio: ['ignore', 'inherit', 'inherit'] });
}

function exited(p) {
  return new Promise((resolve) => (p.exitCode !== null ? resolve(p.exitCode) : p.on('exit', resolve)));
}

/**
 * Her directory, as she prepares it: blobs/<sha>.node is her .so, resolved/<record name> a record in the
 * loader's own format naming it under X0X_DIST_CACHE, with the identities (anchor, node, interpreter, her
 * blob) she can read herself. Returns the attacker script's source; `flip` makes it flip the link and
 * re-plant for `ms` milliseconds.
 */
function attackerScript(w, { flip = 0 } = {}) {
  const anchorFile = path.join(w.pkgDir, 'root.json');
  const rec = recordPath(w.link, anchorFile, 'x0x', '0.3.1', 'auto');
  let interp = '/lib64/ld-linux-x86-64.so.2';
  try {
    interp = fs.realpathSync(interp);
  } catch {
    /* as recorded */
  }
  return `'use strict';
const fs = require('fs');
const path = require('path');
const W = ${JSON.stringify({ evil: w.evil, link: w.link, own: w.own, so: w.so, sha: w.sha, rec: path.basename(rec), anchorFile, interp, exec: process.execPath })};
const id = (p) => { const st = fs.statSync(p); return { size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino, dev: st.dev }; };
const me = process.getuid();
function plant() {
  for (const d of ['', 'blobs', 'resolved', 'tmp', 'locks', 'tuf']) {
    const p = path.join(W.evil, d);
    try { fs.mkdirSync(p); } catch {}
    try { fs.chmodSync(p, 0o777); } catch {}
  }
  const blob = path.join(W.evil, 'blobs', W.sha + '.node');
  // Whatever the victim wrote in her directory is swapped for her .so (the issue's attack).
  let st; try { st = fs.lstatSync(blob); } catch {}
  if (!st || st.uid !== me) { fs.copyFileSync(W.so, blob + '.new'); fs.chmodSync(blob + '.new', 0o755); fs.renameSync(blob + '.new', blob); }
  const rec = { v: 3, anchorFile: W.anchorFile, anchorFileId: id(W.anchorFile), pkg: 'x0x', version: '0.3.1', platform: 'linux-x64-gnu', kind: 'native',
    target: 'x0x/0.3.1/x0x.linux-x64-gnu.node', sha256: W.sha, blob: path.join(W.link, 'blobs', W.sha + '.node'), blobId: id(blob),
    host: { exec: W.exec, execId: id(W.exec), interp: W.interp, interpId: id(W.interp) } };
  const rp = path.join(W.evil, 'resolved', W.rec);
  let rst; try { rst = fs.lstatSync(rp); } catch {}
  if (!rst || rst.uid !== me) { fs.writeFileSync(rp + '.new', JSON.stringify(rec)); fs.renameSync(rp + '.new', rp); }
}
function point(target) {
  const tmp = W.link + '.' + process.pid;
  try { fs.unlinkSync(tmp); } catch {}
  fs.symlinkSync(target, tmp);
  fs.renameSync(tmp, W.link); // atomic: the path is always a link, hers
}
plant();
point(W.own);
const end = Date.now() + ${flip};
let n = 0;
while (Date.now() < end) {
  point(n % 2 ? W.own : W.evil);
  if (n % 8 === 0) plant();
  n += 1;
}
if (${flip}) process.stdout.write('attacker: ' + n + ' flips\\n');
`;
}

/** Files in her directory that the victim (uid 0 here) created: the victim must write nothing through her link. */
function victimFilesIn(dir) {
  const out = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (fs.lstatSync(p).uid === process.getuid()) out.push(p);
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

test("issue 25: X0X_DIST_CACHE is another user's symlink: refused (cache.foreign_symlink) whether it points at the victim's cache or hers; her .so never runs", { skip, timeout: 120000 }, async () => {
  const w = world();
  // The victim's own cache, warm: verified and recorded through its real path.
  const direct = await victimRequire(w, { X0X_DIST_CACHE: w.own });
  assert.deepEqual(direct, { ok: true, hello: 'hello from native' });
  assert.equal((await victimRequire(w, { X0X_DIST_CACHE: w.own, X0X_DIST_URL: 'http://127.0.0.1:9' })).hello, 'hello from native', 'warm');
  // She creates the path the victim will use as a link to the victim's cache, her directory prepared beside it.
  assert.equal(await exited(asAttacker(w, attackerScript(w))), 0);
  assert.equal(fs.lstatSync(w.link).uid, who.uid, 'the link is hers');
  assert.equal(fs.readlinkSync(w.link), w.own);
  let r = await victimRequire(w, { X0X_DIST_CACHE: w.link });
  assert.equal(r.code, 'cache.foreign_symlink', JSON.stringify(r));
  assert.match(r.message, new RegExp(`${w.link.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is a symbolic link owned by uid ${who.uid}`));
  assert.match(r.message, /next: set X0X_DIST_CACHE to a directory of your own/);
  // Pointed at her directory (her record, her .so as the blob): refused the same way, by the warm path too.
  const flipTo = `const fs = require('fs'); fs.symlinkSync(${JSON.stringify(w.evil)}, ${JSON.stringify(`${w.link}.x`)}); fs.renameSync(${JSON.stringify(`${w.link}.x`)}, ${JSON.stringify(w.link)});`;
  assert.equal(await exited(asAttacker(w, flipTo)), 0);
  r = await victimRequire(w, { X0X_DIST_CACHE: w.link });
  assert.equal(r.code, 'cache.foreign_symlink', JSON.stringify(r));
  r = await victimRequire(w, { X0X_DIST_CACHE: w.link, X0X_DIST_VERIFY: 'always' });
  assert.equal(r.code, 'cache.foreign_symlink', JSON.stringify(r));
  // A parent of the cache directory that is her link is refused too.
  r = await victimRequire(w, { X0X_DIST_CACHE: path.join(w.link, 'sub') });
  assert.equal(r.code, 'cache.foreign_symlink', JSON.stringify(r));
  assert.equal(fs.existsSync(w.marker), false, 'her constructor never ran');
  assert.deepEqual(victimFilesIn(w.evil), [], 'the victim wrote nothing into her directory');
  // The victim's own link (same place, owned by the victim) is followed: the loader resolves it once and
  // works in the directory it names.
  fs.rmSync(w.link);
  fs.symlinkSync(w.own, w.link);
  r = await victimRequire(w, { X0X_DIST_CACHE: w.link });
  assert.deepEqual(r, { ok: true, hello: 'hello from native' });
});

test('issue 25: her process flips the link between the caches while the victim requires: her .so never runs, nothing is written through her link', { skip, timeout: 180000 }, async () => {
  const w = world();
  assert.deepEqual(await victimRequire(w, { X0X_DIST_CACHE: w.own }), { ok: true, hello: 'hello from native' });
  const flipper = asAttacker(w, attackerScript(w, { flip: 60000 }));
  try {
    // Let her create the link first.
    for (let i = 0; i < 200 && !fs.existsSync(w.link); i += 1) await new Promise((r) => setTimeout(r, 50));
    const codes = {};
    for (let i = 0; i < 30; i += 1) {
      const r = await victimRequire(w, { X0X_DIST_CACHE: w.link });
      const k = r.ok ? `loaded: ${r.hello}` : r.code;
      codes[k] = (codes[k] || 0) + 1;
      assert.equal(fs.existsSync(w.marker), false, `her constructor ran as the victim (require ${i + 1}: ${JSON.stringify(r)})`);
    }
    // Every require refused her link (a flip never lands the victim in a state where it follows it).
    assert.deepEqual(codes, { 'cache.foreign_symlink': 30 });
  } finally {
    flipper.kill('SIGKILL');
    await exited(flipper);
  }
  assert.equal(fs.existsSync(w.marker), false, 'her constructor never ran');
  assert.deepEqual(victimFilesIn(w.evil), [], 'the victim wrote nothing into her directory');
  // The victim's own cache is intact and warm.
  assert.deepEqual(await victimRequire(w, { X0X_DIST_CACHE: w.own, X0X_DIST_URL: 'http://127.0.0.1:9' }), { ok: true, hello: 'hello from native' });
});

test("this user's own symbolic links in the cache path are followed, once: records name the resolved directory, the inlined warm path steps aside for lib/", { skip: process.platform === 'win32' }, () => {
  const { resolveCacheDir, warmRecord } = require('../lib/hot');
  const { Resolver } = require('../lib/loader');
  const d = fs.realpathSync(h.tmpdir());
  fs.mkdirSync(path.join(d, 'real', 'deeper'), { recursive: true });
  fs.mkdirSync(path.join(d, 'c'));
  // Absolute, relative, chained, with `..` after a link (resolved against the link's target, as the kernel does).
  fs.symlinkSync(path.join(d, 'real'), path.join(d, 'abs'));
  fs.symlinkSync('real/deeper', path.join(d, 'rel'));
  fs.symlinkSync('rel/..', path.join(d, 'up'));
  fs.symlinkSync('abs', path.join(d, 'chain'));
  assert.equal(resolveCacheDir(path.join(d, 'abs', 'cache')), path.join(d, 'real', 'cache'));
  assert.equal(resolveCacheDir(path.join(d, 'rel')), path.join(d, 'real', 'deeper'));
  assert.equal(resolveCacheDir(path.join(d, 'up', 'x')), path.join(d, 'real', 'x'));
  assert.equal(resolveCacheDir(path.join(d, 'chain', 'deeper', 'missing', 'more')), path.join(d, 'real', 'deeper', 'missing', 'more'));
  assert.equal(resolveCacheDir(path.join(d, 'c')), path.join(d, 'c'));
  fs.symlinkSync('loop', path.join(d, 'loop'));
  assert.throws(() => resolveCacheDir(path.join(d, 'loop')), (e) => e.code === 'io.error' && /too many symbolic links/.test(e.message));

  const repo = new h.Repo(path.join(d, 'repo'));
  repo.publish({ [NATIVE]: { data: Buffer.from('native bytes'), custom: { glibc_floor: '2.17', libc: 'glibc' } } });
  const pkg = h.makePackage(path.join(d, 'pkg'), repo, { embed: true });
  const env = { X0X_DIST_CACHE: path.join(d, 'abs', 'cache'), X0X_DIST_URL: `file://${repo.dir}` };
  const resolver = () => new Resolver({ pkgDir: pkg, env, host: { platform: 'linux', arch: 'x64', glibc: '2.36', interpreter: '/lib64/ld-linux-x86-64.so.2' }, loadNative: (f) => ({ f }) });
  const cold = resolver().resolve();
  assert.equal(cold.file.startsWith(path.join(d, 'real', 'cache', 'blobs') + path.sep), true, cold.file);
  assert.equal(resolver().resolve().warm, true, 'warm through lib/warm.js');
  assert.equal(warmRecord(pkg, { pkg: 'x0x', version: '0.3.1' }, env), null, 'no record matches a path with a link in it: the inlined path steps aside');
  assert.notEqual(warmRecord(pkg, { pkg: 'x0x', version: '0.3.1' }, { X0X_DIST_CACHE: path.join(d, 'real', 'cache') }), null, 'the resolved path is warm inline');
});
