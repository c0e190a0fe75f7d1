#!/usr/bin/env node
'use strict';
// Assemble the `x0x` npm package and run `npm pack`.
//
//   node loader/js/scripts/pack.js --version 0.3.1 --root ROOT.json --repo URL|DIR
//        [--release DIR] [--glue FILE] [--types FILE] [--platforms FILE] [--out DIR] [--name x0x]
//
// --root      the trusted root.json shipped in the package (the trust anchor; normally 1.root.json)
// --repo      the repository the release was published to (http(s):// server or a file:// / plain directory):
//             its metadata is verified from --root with the same TUF workflow as the loader, and the signed
//             metadata of this release (root chain, timestamp, snapshot, targets, x0x) is embedded under
//             metadata/, so that a binary already present (cache, platform package) verifies offline
// --release   a `cargo xtask build --out DIR` directory: the glue (x0x.wasip1.cjs) and index.d.ts come from
//             there unless --glue/--types say otherwise
// Output: the path of the .tgz on stdout. Fails if the release is not published (no target for --version).

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

const HERE = path.join(__dirname, '..');
const PINS = {
  '@napi-rs/wasm-runtime': '1.2.7',
  '@emnapi/core': '2.0.0-beta.2',
  '@emnapi/runtime': '2.0.0-beta.2',
};

function args(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 1) {
    const m = /^--([a-z-]+)$/.exec(argv[i]);
    if (!m) throw new Error(`unexpected argument ${argv[i]}`);
    out[m[1]] = argv[i + 1];
    i += 1;
  }
  return out;
}

function copyDir(src, dst) {
  fs.mkdirSync(dst, { recursive: true });
  for (const e of fs.readdirSync(src, { withFileTypes: true })) {
    const s = path.join(src, e.name);
    const d = path.join(dst, e.name);
    if (e.isDirectory()) copyDir(s, d);
    else fs.copyFileSync(s, d);
  }
}

async function main() {
  const a = args(process.argv.slice(2));
  const name = a.name || 'x0x';
  if (!a.version || !a.root || !a.repo) {
    throw new Error('usage: pack.js --version V --root ROOT.json --repo URL|DIR [--release DIR] [--out DIR]');
  }
  const out = path.resolve(a.out || '.');
  const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'x0x-pack-'));
  const pkgDir = path.join(stage, 'package');
  fs.mkdirSync(pkgDir);

  // 1. Verify the release from the trust anchor and collect its signed metadata.
  const { openRepo } = require('../lib/fetch');
  const trust = require('../lib/trust');
  const { table, fileName } = require('../lib/platforms');
  const repoUrl = /^[a-z]+:\/\//i.test(a.repo) ? a.repo : `file://${path.resolve(a.repo)}`;
  const repo = openRepo({ url: repoUrl, timeoutMs: 30000, retries: 3 });
  const anchorBytes = fs.readFileSync(a.root);
  const metaDir = path.join(pkgDir, 'metadata');
  const scratch = path.join(stage, 'scratch');
  fs.mkdirSync(path.join(scratch, 'tmp'), { recursive: true });
  const ts = await trust.refresh({ repo, anchorBytes, persistDir: metaDir, embeddedDir: null, cacheDir: scratch });
  const rows = table(a.platforms || path.join(HERE, '..', '..', 'manifests', 'vectors', 'platforms.json'));
  const found = [];
  for (const p of rows) {
    const t = `${name}/${a.version}/${fileName(name, p)}`;
    const info = await trust.findTargetOnline(ts, repo, metaDir, null, scratch, t);
    if (info) found.push(`${p.name} (${info.length} bytes, sha256 ${info.hashes.sha256.slice(0, 12)}…)`);
  }
  if (!found.length) throw new Error(`${repo.describe} has no target of ${name} ${a.version}`);
  // Roots the anchor chains to are embedded too (refresh persisted only the ones it fetched).
  for (const f of fs.readdirSync(metaDir)) fs.chmodSync(path.join(metaDir, f), 0o644);

  // 2. Loader, glue, types, table, trust anchor.
  copyDir(path.join(HERE, 'lib'), path.join(pkgDir, 'lib'));
  fs.rmSync(path.join(pkgDir, 'lib', 'worker.js.map'), { force: true });
  for (const f of ['index.js', 'postinstall.js']) fs.copyFileSync(path.join(HERE, f), path.join(pkgDir, f));
  fs.writeFileSync(path.join(pkgDir, 'root.json'), anchorBytes);
  fs.copyFileSync(a.platforms || path.join(HERE, '..', '..', 'manifests', 'vectors', 'platforms.json'), path.join(pkgDir, 'platforms.json'));
  const glue = a.glue || (a.release && path.join(a.release, `${name}.wasip1.cjs`));
  if (glue && fs.existsSync(glue)) fs.copyFileSync(glue, path.join(pkgDir, `${name}.wasip1.cjs`));
  else process.stderr.write(`pack: warning: no WASI glue (${name}.wasip1.cjs): the WASM fallback will be unavailable\n`);
  // The wasm32-wasip1-threads flavour's glue and its worker, when the release has them.
  for (const f of [`${name}.wasi.cjs`, 'wasi-worker.mjs']) {
    if (a.release && fs.existsSync(path.join(a.release, f))) fs.copyFileSync(path.join(a.release, f), path.join(pkgDir, f));
  }
  const types = a.types || (a.release && path.join(a.release, 'index.d.ts'));
  if (types && fs.existsSync(types)) fs.copyFileSync(types, path.join(pkgDir, 'index.d.ts'));
  fs.writeFileSync(path.join(pkgDir, 'release.json'), `${JSON.stringify({ package: name, version: a.version, scope: name }, null, 2)}\n`);
  fs.writeFileSync(
    path.join(pkgDir, 'README.md'),
    `# ${name}\n\nThe ${name} core for Node.js. \`require('${name}')\` loads the prebuilt binary for this host (or the WebAssembly build),\n` +
      'verified against signed TUF metadata before it is loaded. Configuration: X0X_DIST_URL, X0X_DIST_BUNDLE, X0X_DIST_CACHE,\n' +
      'X0X_DIST_OFFLINE, X0X_DIST_ROOT, X0X_NATIVE_PATH, X0X_FORCE_WASM, X0X_DIST_VERIFY (see docs/loader.md in x0x-dist).\n',
  );
  const pkgJson = {
    name,
    version: a.version,
    description: `The ${name} core: prebuilt native binaries with a WebAssembly fallback, verified with TUF`,
    license: 'MIT OR Apache-2.0',
    main: 'index.js',
    types: fs.existsSync(path.join(pkgDir, 'index.d.ts')) ? 'index.d.ts' : undefined,
    engines: { node: '>=18' },
    scripts: { postinstall: 'node postinstall.js' },
    dependencies: PINS,
    files: ['index.js', 'index.d.ts', 'postinstall.js', 'lib/', 'metadata/', 'root.json', 'platforms.json', 'release.json', `${name}.wasip1.cjs`, `${name}.wasi.cjs`, 'wasi-worker.mjs'],
  };
  fs.writeFileSync(path.join(pkgDir, 'package.json'), `${JSON.stringify(pkgJson, null, 2)}\n`);

  // 3. npm pack.
  fs.mkdirSync(out, { recursive: true });
  const r = spawnSync('npm', ['pack', '--silent', '--pack-destination', out], { cwd: pkgDir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm pack failed: ${r.stderr}`);
  const tgz = path.join(out, r.stdout.trim().split('\n').pop());
  process.stderr.write(`pack: ${name} ${a.version} with targets: ${found.join(', ')}\n`);
  fs.rmSync(stage, { recursive: true, force: true });
  process.stdout.write(`${tgz}\n`);
}

main().catch((e) => {
  process.stderr.write(`pack: ${e.code ? `[${e.code}] ` : ''}${e.message}\n`);
  process.exit(1);
});
