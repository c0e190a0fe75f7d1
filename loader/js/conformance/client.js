#!/usr/bin/env node
'use strict';
// tuf-conformance client-under-test for the JS loader's TUF client (protocol: the suite's CLIENT-CLI.md;
// how to run it: docs/conformance.md). Node built-ins only.
//
// It drives the loader's own code, unchanged: trust.refresh (the §5 workflow over lib/tuf.js TrustedSet,
// persisting what it accepts), trust.findTargetOnline (delegation search) and fetch.js HttpRepo (every HTTP
// request, retries and size limits included). What the adapter adds is only what the protocol needs and our
// loader does differently:
// - the loader persists metadata under the names the repository uses (`N.root.json`, `N.snapshot.json`) in
//   its cache; the suite reads `ROLE.json` files in METADATA_DIR. The loader's store is METADATA_DIR/x0x/
//   (a folder, so the suite's `*.json` listing ignores it) and after each command the adapter copies what our
//   client trusts into METADATA_DIR under unversioned names: from the TrustedSet refresh returned, or, when
//   the command failed, from trust.loadLocal over the store (what the client would start from next time);
// - the loader's repository layout is `<base>/tuf/metadata/`, the suite's `<base>/metadata/`: the adapter sets
//   HttpRepo#base to the suite's base;
// - the loader names a downloaded target by its SHA-256 in its cache; the adapter stores it in TARGET_DIR
//   under the target path encoded as one segment (as python-tuf does) and skips the download when that file
//   already verifies against the signed length and hashes.
// - the loader's package-path rule (checkTargetPath on the path a caller asks for, lib/worker.js) is a rule of
//   the loader's package workflow, not of TUF: the adapter does not apply it to the suite's target names
//   (the safety rule, checkTargetName, applies to every path a targets role lists, in lib/tuf.js parse).
// - the loader requires a sha256 (its cache is content-addressed by it); a generic TUF target may list only
//   sha512: the adapter checks every listed hash (lib/tuf.js TargetHasher, through HttpRepo#getTarget) and,
//   with consistent snapshots, fetches DIR/HASH.NAME with the sha256 if listed, else the first listed hash.

const fs = require('fs');
const path = require('path');
const lib = path.join(__dirname, '..', 'lib');
const trust = require(path.join(lib, 'trust'));
const { HttpRepo } = require(path.join(lib, 'fetch'));
const { encodeRoleName, checkTarget } = require(path.join(lib, 'tuf'));
const cache = require(path.join(lib, 'cache'));

function usage(msg) {
  process.stderr.write(`x0x js conformance client: ${msg}\n`);
  process.exit(1);
}

function parseArgs(argv) {
  const a = { targetNames: [] };
  for (let i = 0; i < argv.length; i += 1) {
    const k = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) usage(`${k} needs a value`);
      i += 1;
      return argv[i];
    };
    if (k === '--metadata-dir') a.metadataDir = val();
    else if (k === '--metadata-url') a.metadataUrl = val();
    else if (k === '--target-name') a.targetNames.push(val());
    else if (k === '--target-base-url') a.targetBaseUrl = val();
    else if (k === '--target-dir') a.targetDir = val();
    else if (k === 'init') {
      a.cmd = 'init';
      a.trustedRoot = val();
    } else if (k === 'refresh' || k === 'download') a.cmd = k;
    else if (k === '-v' || k === '--verbose') a.verbose = true;
    else usage(`unknown argument ${k}`);
  }
  if (!a.metadataDir || !a.cmd) usage('needs --metadata-dir and a command (init, refresh, download)');
  return a;
}

/** An HttpRepo whose `metadata/` and `targets/` live next to each other under the parent of `url`. */
function repoAt(url) {
  const u = new URL(url.endsWith('/') ? url : `${url}/`);
  const repo = new HttpRepo(u.toString());
  repo.base = new URL('../', u);
  return repo;
}

function write(file, bytes) {
  fs.writeFileSync(file, bytes);
}

/** Copy the client's trusted metadata into METADATA_DIR under unversioned names. */
function mirror(ctx, ts) {
  const { mdDir } = ctx;
  let set = ts;
  if (!set) {
    const store = new trust.DirStore(ctx.persistDir);
    set = trust.loadLocal(ctx.anchorBytes, [store], store).ts;
  }
  if (!set) return;
  write(path.join(mdDir, 'root.json'), set.root.bytes);
  if (set.timestamp) write(path.join(mdDir, 'timestamp.json'), set.timestamp.bytes);
  if (set.snapshot) write(path.join(mdDir, 'snapshot.json'), set.snapshot.bytes);
  if (set.targets) write(path.join(mdDir, 'targets.json'), set.targets.bytes);
  for (const [role, md] of set.delegated || []) write(path.join(mdDir, `${encodeRoleName(role)}.json`), md.bytes);
}

function context(a) {
  const mdDir = path.resolve(a.metadataDir);
  const persistDir = path.join(mdDir, 'x0x', 'persist');
  const cacheDir = path.join(mdDir, 'x0x', 'cache');
  const anchorBytes = fs.readFileSync(path.join(mdDir, 'x0x', 'anchor.json'));
  cache.ensureDirs(cacheDir);
  return { mdDir, persistDir, cacheDir, anchorBytes };
}

async function refresh(a, ctx) {
  if (!a.metadataUrl) usage('refresh needs --metadata-url');
  return trust.refresh({
    repo: repoAt(a.metadataUrl),
    anchorBytes: ctx.anchorBytes,
    persistDir: ctx.persistDir,
    embeddedDir: null,
    cacheDir: ctx.cacheDir,
  });
}

/** Whether `file` exists and verifies against the signed `info`. */
function verifies(file, info, label) {
  let bytes;
  try {
    bytes = fs.readFileSync(file);
  } catch {
    return false;
  }
  try {
    checkTarget(bytes, info, label);
    return true;
  } catch {
    return false;
  }
}

async function download(a, ctx, ts) {
  if (!a.targetBaseUrl || !a.targetDir || !a.targetNames.length) {
    usage('download needs --target-name, --target-base-url and --target-dir');
  }
  const repo = repoAt(a.metadataUrl);
  const targets = repoAt(a.targetBaseUrl);
  for (const name of a.targetNames) {
    const info = await trust.findTargetOnline(ts, repo, ctx.persistDir, null, ctx.cacheDir, name);
    if (!info) throw new Error(`${name}: no verified metadata lists it`);
    const dest = path.join(a.targetDir, encodeRoleName(name));
    if (verifies(dest, info, name)) continue;
    // As lib/worker.js: with consistent snapshots the file is fetched as DIR/HASH.NAME (parse checked that
    // the sha256 and sha512 values are lower-case hex; another algorithm's value is never verified, so it is
    // not used in a URL).
    const hash = info.hashes.sha256 || info.hashes.sha512;
    if (ts.root.signed.consistent_snapshot && !hash) throw new Error(`${name}: no sha256 or sha512 in its signed metadata`);
    const slash = name.lastIndexOf('/');
    const urlPath = ts.root.signed.consistent_snapshot ? `${name.slice(0, slash + 1)}${hash}.${name.slice(slash + 1)}` : name;
    const tmp = cache.tmpPath(ctx.cacheDir);
    try {
      await targets.getTarget(urlPath, { length: info.length, hashes: info.hashes }, tmp);
      fs.renameSync(tmp, dest);
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  if (a.cmd === 'init') {
    const bytes = fs.readFileSync(a.trustedRoot);
    fs.mkdirSync(path.join(a.metadataDir, 'x0x'), { recursive: true });
    write(path.join(a.metadataDir, 'x0x', 'anchor.json'), bytes);
    write(path.join(a.metadataDir, 'root.json'), bytes);
    return;
  }
  const ctx = context(a);
  let ts = null;
  try {
    ts = await refresh(a, ctx);
    if (a.cmd === 'download') await download(a, ctx, ts);
  } finally {
    mirror(ctx, ts);
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    const chain = [];
    for (let c = e; c; c = c.cause) chain.push(c.code ? `${c.code}: ${c.message}` : String(c.message || c));
    process.stderr.write(`x0x js conformance client: ${chain.join('\n  caused by: ')}\n`);
    process.exit(1);
  },
);
