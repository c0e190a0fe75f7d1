#!/usr/bin/env node
'use strict';
// Assemble the `x0x` npm package (and, with --platform-packages, one `@<scope>/core-<platform>` package per
// binary of the release) and run `npm pack`.
//
//   node loader/js/scripts/pack.js --version 0.3.1 --root ROOT.json --repo URL|DIR
//        [--release DIR] [--platform-packages] [--scope S] [--glue FILE] [--types FILE] [--platforms FILE]
//        [--out DIR] [--name x0x]
//
// --root      the trusted root.json shipped in the package (the trust anchor; normally 1.root.json)
// --repo      the repository the release was published to (http(s):// server or a file:// / plain directory):
//             its metadata is verified from --root with the same TUF workflow as the loader, and the signed
//             metadata of this release (root chain, timestamp, snapshot, targets, x0x) is embedded under
//             metadata/, so that a binary already present (cache, platform package) verifies offline. An
//             http(s):// URL is also recorded in release.json as the package's default repository: a first
//             load of the package fetches from it when X0X_DIST_URL / X0X_DIST_BUNDLE are unset (a directory is
//             a path on the packing machine: not recorded)
// --release   a `cargo xtask build --out DIR` directory: the glue (x0x.wasip1.cjs) and index.d.ts come from
//             there unless --glue/--types say otherwise, and so do the platform packages' binaries
// --platform-packages
//             also build the platform packages, napi-rs / esbuild style: for every target of the signed
//             release, `@<scope>/core-<napi platform>` holding that one file (`x0x.linux-x64-gnu.node`),
//             with npm's `os`, `cpu` and (Linux) `libc` fields, no scripts, the same exact version. The bytes
//             come from --release when it has the file, else they are downloaded from --repo; either way they
//             must match the signed SHA-256 and length (target.digest_mismatch / target.length_mismatch
//             otherwise: a package the loader would refuse is never produced). `x0x` then lists every native
//             one in `optionalDependencies`, pinned to the exact version, so `npm install x0x` pulls exactly
//             the one matching the host. WASM targets (`@<scope>/core-wasm32-wasip1`, `-threads`) get a package
//             with no os/cpu/libc (it runs anywhere) that is NOT an optional dependency: a user installs it
//             explicitly where no native build fits (docs/loader.md, "Platform packages").
// --scope     npm scope of the platform packages (default: the package name, so `x0x` → `@x0x/core-…`);
//             written to release.json, where the loader reads it
// Output: one .tgz path per line on stdout: the platform packages first, `x0x` last (publish in that order,
// so x0x's optionalDependencies resolve the moment it appears). Without --platform-packages, only the x0x
// line, as before. Fails if the release is not published (no target for --version).

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

const HERE = path.join(__dirname, '..');
// The WASM runtime (the napi WASI glue requires it; 3.2 MB of node_modules). Only WASM loads use it, so `x0x`
// lists it as OPTIONAL peer dependencies (npm, pnpm, yarn install no optional peer by default: native hosts never
// get it, but when present its version is checked); the WASM platform packages depend on it, so installing one
// (`npm install @x0x/core-wasm32-wasip1`) brings it. Without platform packages, WASM users install these pins
// (the loader's loader.load_failed message prints the command). Exact pins: the WASM module is built against
// emnapi 2.0.0-beta.2 (core/package.json), and @emnapi/core must match the emnapi it was built with. One file
// (npm-pins.json) for this script and the server's /npm/ registry view (server/src/npm/contents.rs).
const PINS = require('./npm-pins.json');

/** `peerDependenciesMeta` making every pin optional. */
const OPTIONAL_PEERS = Object.fromEntries(Object.keys(PINS).map((k) => [k, { optional: true }]));

/** Flags that take no value. */
const SWITCHES = new Set(['platform-packages']);

function args(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 1) {
    const m = /^--([a-z-]+)$/.exec(argv[i]);
    if (!m) throw new Error(`unexpected argument ${argv[i]}`);
    if (SWITCHES.has(m[1])) {
      out[m[1]] = true;
      continue;
    }
    if (i + 1 >= argv.length) throw new Error(`--${m[1]} needs a value`);
    out[m[1]] = argv[i + 1];
    i += 1;
  }
  return out;
}

/** npm's name for a platform package: `@x0x/core-linux-x64-gnu`, `@x0x/core-wasm32-wasip1`. */
function platformPackageName(scope, p) {
  return `@${scope}/core-${p.name}`;
}

/**
 * npm's install constraints for a platform (package.json `os`, `cpu`, `libc`): what makes `npm install x0x`
 * (and pnpm, yarn) install exactly the optional dependency matching the host. WASM runs anywhere: none.
 */
function npmConstraints(p) {
  if (p.kind === 'wasm') return {};
  const c = { os: [p.os], cpu: [p.arch] };
  if (p.os === 'linux') c.libc = [p.libc === 'musl' ? 'musl' : 'glibc'];
  return c;
}

/** package.json of `@<scope>/core-<platform>`: one file, no scripts, the release's exact version. */
function platformPackageJson({ name, scope, version, platform: p, file }) {
  const pkgName = platformPackageName(scope, p);
  const what = p.kind === 'wasm' ? `WebAssembly (${p.triple}) build` : `${p.name} binary (${p.triple})`;
  return {
    name: pkgName,
    version,
    description: `The ${name} core, ${what}. Loaded and verified by \`${name}\` (require('${name}')), which checks it against the signed TUF hashes it ships; do not require it directly.`,
    license: 'MIT OR Apache-2.0',
    ...npmConstraints(p),
    main: file,
    files: [file],
    // The WASM build brings the runtime that loads it; native packages need nothing.
    dependencies: p.kind === 'wasm' ? PINS : undefined,
    publishConfig: { access: 'public' },
  };
}

function platformReadme({ name, scope, version, platform: p, file }) {
  const pkgName = platformPackageName(scope, p);
  const how =
    p.kind === 'wasm'
      ? `It is not an optional dependency of \`${name}\`: install it explicitly (\`npm install ${pkgName}@${version}\`) on hosts\n` +
        'where no native build fits; `require(\'' + name + '\')` then loads it when no native binary loads. It depends on the\n' +
        `WASM runtime (${Object.entries(PINS).map(([k, v]) => `\`${k}@${v}\``).join(', ')}), which \`${name}\` itself does not install.\n`
      : `\`npm install ${name}\` installs it on ${p.name} hosts only (it is an optional dependency of \`${name}\` with\n` +
        'npm\'s `os`/`cpu`/`libc` fields).\n';
  return (
    `# ${pkgName}\n\n\`${file}\`: the ${name} core for ${p.kind === 'wasm' ? p.triple : p.name}, version ${version}.\n\n` +
    `This package is loaded and verified by \`${name}\`: \`require('${name}')\` hashes \`${file}\` and loads it only if its\n` +
    `SHA-256 and length match the signed TUF metadata shipped inside \`${name}\` ${version}. ${how}`
  );
}

/** `npm pack` of a staged package directory into `out`; returns the .tgz path. */
function npmPack(dir, out) {
  const r = spawnSync('npm', ['pack', '--silent', '--pack-destination', out], { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm pack of ${dir} failed: ${r.stderr}`);
  return path.join(out, r.stdout.trim().split('\n').pop());
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

/**
 * index.js with lib/hot.js inlined: a warm require('x0x') compiles this one small module, checks the record
 * and dlopens, loading nothing from lib/ (each further module load costs ~0.3-0.5 ms, more than the checks).
 * Same code as the sources; anything else (cold, WASM, debug, a stale record) goes through lib/entry.js (lib/warm.js, then lib/loader.js).
 */
function singleFileIndex(release) {
  // lib/hot.js up to its "// HOT-END" line: the warm path only (what lies below is for lib/, every byte compiled
  // here costs a warm require time).
  const hot = fs.readFileSync(path.join(HERE, 'lib', 'hot.js'), 'utf8').replace(/^'use strict';\n/, '').split('\n// HOT-END')[0];
  return `'use strict';
// require('x0x'): generated by scripts/pack.js. The warm path is lib/hot.js inlined (one module load, no lib/
// requires); everything else is lib/warm.js and lib/loader.js. Sources: loader/js in x0x-dist.
const __hot = { exports: {} };
(function (module, exports, require) {${hot}})(__hot, __hot.exports, require);
const __release = ${JSON.stringify(release)};
const __warm = __hot.exports.fastLoad(__dirname, __release);
module.exports = __warm !== null ? __warm : require('./lib/entry').load(__dirname, __release);
`;
}

/**
 * The bytes of one signed target, for its platform package: from the release directory when it has the file,
 * else downloaded from the repository; checked against the signed length and SHA-256 either way.
 */
async function targetBytes({ info, file, targetPath, release, repo, ts, stage }) {
  const { err } = require('../lib/errors');
  const sha256 = (b) => require('crypto').createHash('sha256').update(b).digest('hex');
  const local = release && path.join(release, file);
  if (local && fs.existsSync(local)) {
    const bytes = fs.readFileSync(local);
    if (bytes.length !== info.length) {
      throw err('target.length_mismatch', `${local} is ${bytes.length} bytes, the signed ${targetPath} is ${info.length}`);
    }
    const got = sha256(bytes);
    if (got !== info.hashes.sha256) {
      throw err('target.digest_mismatch', `${local} has SHA-256 ${got}, the signed ${targetPath} has ${info.hashes.sha256}`);
    }
    return { bytes, from: local };
  }
  const sha = info.hashes.sha256;
  const dir = targetPath.split('/').slice(0, -1).join('/');
  const urlPath = ts.root.signed.consistent_snapshot ? `${dir}/${sha}.${file}` : targetPath;
  const dest = path.join(stage, `download-${sha}`);
  await repo.getTarget(urlPath, { length: info.length, sha256: sha }, dest); // verifies length and SHA-256
  return { bytes: fs.readFileSync(dest), from: repo.describe };
}

/** `--help`: the header comment of this file is the usage text (one source of truth). */
function usage() {
  const lines = fs.readFileSync(__filename, 'utf8').split('\n').slice(2);
  return `${lines.slice(0, lines.findIndex((l) => !l.startsWith('//'))).map((l) => l.replace(/^\/\/ ?/, '')).join('\n')}\n`;
}

async function main() {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(usage());
    return;
  }
  const a = args(process.argv.slice(2));
  const name = a.name || 'x0x';
  const scope = a.scope || name;
  if (!a.version || !a.root || !a.repo) {
    throw new Error('usage: pack.js --version V --root ROOT.json --repo URL|DIR [--release DIR] [--platform-packages] [--scope S] [--out DIR]');
  }
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(scope)) throw new Error(`--scope ${JSON.stringify(scope)} is not an npm scope name`);
  const out = path.resolve(a.out || '.');
  const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'x0x-pack-'));
  try {
    const tgzs = await assemble(a, { name, scope, out, stage });
    for (const t of tgzs) process.stdout.write(`${t}\n`);
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}

async function assemble(a, { name, scope, out, stage }) {
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
  const platformsFile = a.platforms || path.join(HERE, '..', '..', 'manifests', 'vectors', 'platforms.json');
  const rows = table(platformsFile);
  const found = [];
  const targets = [];
  for (const p of rows) {
    const file = fileName(name, p);
    const t = `${name}/${a.version}/${file}`;
    const info = await trust.findTargetOnline(ts, repo, metaDir, null, scratch, t);
    if (info) {
      found.push(`${p.name} (${info.length} bytes, sha256 ${info.hashes.sha256.slice(0, 12)}…)`);
      targets.push({ platform: p, file, targetPath: t, info });
    }
  }
  if (!found.length) throw new Error(`${repo.describe} has no target of ${name} ${a.version}`);
  // Roots the anchor chains to are embedded too (refresh persisted only the ones it fetched).
  for (const f of fs.readdirSync(metaDir)) fs.chmodSync(path.join(metaDir, f), 0o644);
  fs.mkdirSync(out, { recursive: true });

  // 2. Platform packages: one per signed target, bytes checked against the signed hashes.
  const tgzs = [];
  const optional = {};
  const taken = new Map();
  if (a['platform-packages']) {
    if (a.release) {
      const signed = new Set(targets.map((t) => t.file));
      for (const f of fs.readdirSync(a.release).filter((x) => /\.(node|wasm)$/.test(x) && !x.endsWith('.debug.wasm'))) {
        if (!signed.has(f)) process.stderr.write(`pack: note: ${f} in ${a.release} is not a signed target of ${name} ${a.version}: no package for it\n`);
      }
    }
    for (const t of targets) {
      const dir = path.join(stage, `core-${t.platform.name}`);
      fs.mkdirSync(dir);
      const { bytes, from } = await targetBytes({ ...t, release: a.release, repo, ts, stage });
      fs.writeFileSync(path.join(dir, t.file), bytes);
      const meta = { name, scope, version: a.version, platform: t.platform, file: t.file };
      fs.writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(platformPackageJson(meta), null, 2)}\n`);
      fs.writeFileSync(path.join(dir, 'README.md'), platformReadme(meta));
      tgzs.push(npmPack(dir, out));
      // One optional dependency per set of npm constraints: two packages npm would install on the same hosts
      // (win32-x64-msvc and win32-x64-gnu) would both be downloaded; the first in table order is the one the
      // loader prefers (host.rankCandidates), the other stays installable explicitly.
      const key = JSON.stringify(npmConstraints(t.platform));
      const twin = t.platform.kind === 'native' && taken.get(key);
      if (t.platform.kind === 'native' && !twin) {
        optional[platformPackageName(scope, t.platform)] = a.version;
        taken.set(key, platformPackageName(scope, t.platform));
      }
      const note = twin ? `; not an optional dependency: npm would install it alongside ${twin}` : '';
      process.stderr.write(`pack: ${platformPackageName(scope, t.platform)}@${a.version} (${t.file} from ${from}, verified${note})\n`);
    }
  }

  // 3. Loader, glue, types, table, trust anchor.
  copyDir(path.join(HERE, 'lib'), path.join(pkgDir, 'lib'));
  fs.rmSync(path.join(pkgDir, 'lib', 'worker.js.map'), { force: true });
  copyDir(path.join(HERE, 'bin'), path.join(pkgDir, 'bin'));
  fs.chmodSync(path.join(pkgDir, 'bin', 'x0x.js'), 0o755);
  fs.copyFileSync(path.join(HERE, 'postinstall.js'), path.join(pkgDir, 'postinstall.js'));
  fs.writeFileSync(path.join(pkgDir, 'index.js'), singleFileIndex({ pkg: name, version: a.version, scope }));
  fs.writeFileSync(path.join(pkgDir, 'root.json'), anchorBytes);
  fs.copyFileSync(platformsFile, path.join(pkgDir, 'platforms.json'));
  const glue = a.glue || (a.release && path.join(a.release, `${name}.wasip1.cjs`));
  if (glue && fs.existsSync(glue)) fs.copyFileSync(glue, path.join(pkgDir, `${name}.wasip1.cjs`));
  else process.stderr.write(`pack: warning: no WASI glue (${name}.wasip1.cjs): the WASM fallback will be unavailable\n`);
  // The wasm32-wasip1-threads flavour's glue and its worker, when the release has them.
  for (const f of [`${name}.wasi.cjs`, 'wasi-worker.mjs']) {
    if (a.release && fs.existsSync(path.join(a.release, f))) fs.copyFileSync(path.join(a.release, f), path.join(pkgDir, f));
  }
  const types = a.types || (a.release && path.join(a.release, 'index.d.ts'));
  if (types && fs.existsSync(types)) fs.copyFileSync(types, path.join(pkgDir, 'index.d.ts'));
  const repository = /^https?:\/\//i.test(repoUrl) ? repoUrl : undefined;
  fs.writeFileSync(path.join(pkgDir, 'release.json'), `${JSON.stringify({ package: name, version: a.version, scope, repository }, null, 2)}\n`);
  const wasmPkgs = a['platform-packages'] ? targets.filter((t) => t.platform.kind === 'wasm').map((t) => platformPackageName(scope, t.platform)) : [];
  const platformNote = Object.keys(optional).length
    ? `\nThe native binary comes from the optional dependency \`@${scope}/core-<platform>\` npm installs for this host (no network\n` +
      `at require time; checked against the signed hashes like every other source). Without it (\`--omit=optional\`),\n` +
      `from the repository (X0X_DIST_URL) or a bundle.${wasmPkgs.length ? ` ${wasmPkgs.map((w) => `\`${w}\``).join(' / ')} adds the WASM build where no native\none fits (install it explicitly).` : ''}\n`
    : '';
  fs.writeFileSync(
    path.join(pkgDir, 'README.md'),
    `# ${name}\n\nThe ${name} core for Node.js. \`require('${name}')\` loads the prebuilt binary for this host (or the WebAssembly build),\n` +
      'verified against signed TUF metadata before it is loaded. Configuration: X0X_DIST_URL, X0X_DIST_BUNDLE, X0X_DIST_CACHE,\n' +
      `X0X_DIST_OFFLINE, X0X_DIST_ROOT, X0X_NATIVE_PATH, X0X_FORCE_WASM, X0X_DIST_VERIFY (see docs/loader.md in x0x-dist).\n${platformNote}` +
      `\nThe WebAssembly build needs its runtime, which native hosts never install (optional peer dependencies):\n` +
      `\`npm install ${Object.entries(PINS).map(([k, v]) => `${k}@${v}`).join(' ')}\`${wasmPkgs.length ? ` (or install ${wasmPkgs.map((w) => `\`${w}\``).join(' / ')}, which brings it)` : ''}.\n`,
  );
  const pkgJson = {
    name,
    version: a.version,
    description: `The ${name} core: prebuilt native binaries with a WebAssembly fallback, verified with TUF`,
    license: 'MIT OR Apache-2.0',
    main: 'index.js',
    types: fs.existsSync(path.join(pkgDir, 'index.d.ts')) ? 'index.d.ts' : undefined,
    engines: { node: '>=18' },
    // No lifecycle script (npm 12, pnpm 10+, yarn 4 and Bun run none of a dependency's by default, and an
    // allow-list entry is a liability): resolution happens at the first require('x0x'); `npx x0x prefetch`
    // does it at install time for those who want that (docs/loader.md, "Installing").
    bin: { [name]: 'bin/x0x.js' },
    peerDependencies: PINS,
    peerDependenciesMeta: OPTIONAL_PEERS,
    optionalDependencies: Object.keys(optional).length ? optional : undefined,
    files: ['index.js', 'index.d.ts', 'postinstall.js', 'bin/', 'lib/', 'metadata/', 'root.json', 'platforms.json', 'release.json', `${name}.wasip1.cjs`, `${name}.wasi.cjs`, 'wasi-worker.mjs'],
  };
  fs.writeFileSync(path.join(pkgDir, 'package.json'), `${JSON.stringify(pkgJson, null, 2)}\n`);

  // 4. npm pack.
  tgzs.push(npmPack(pkgDir, out));
  process.stderr.write(`pack: ${name} ${a.version} with targets: ${found.join(', ')}\n`);
  return tgzs;
}

module.exports = { PINS, args, platformPackageName, npmConstraints, platformPackageJson };

if (require.main === module) {
  main().catch((e) => {
    process.stderr.write(`pack: ${e.code ? `[${e.code}] ` : ''}${e.message}\n`);
    process.exit(1);
  });
}
