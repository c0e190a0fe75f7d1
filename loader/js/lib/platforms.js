'use strict';
// The platform table: napi platform name ↔ Rust triple ↔ (os, arch, libc), plus the two WASM flavours.
// The single source of truth is manifests/ (exported to manifests/vectors/platforms.json); the package ships
// a copy as `platforms.json` next to the loader, and this built-in copy is used only when that file is
// absent (running from the source tree). test/host.test.js checks the two agree.

const fs = require('fs');
const path = require('path');

/** @typedef {{name: string, triple: string, os: string|null, arch: string|null, libc: string|null, kind: 'native'|'wasm', threads?: boolean}} Platform */

/** @type {Platform[]} */
const BUILTIN = [
  { name: 'darwin-arm64', triple: 'aarch64-apple-darwin', os: 'darwin', arch: 'arm64', libc: null, kind: 'native' },
  { name: 'darwin-x64', triple: 'x86_64-apple-darwin', os: 'darwin', arch: 'x64', libc: null, kind: 'native' },
  { name: 'linux-x64-gnu', triple: 'x86_64-unknown-linux-gnu', os: 'linux', arch: 'x64', libc: 'gnu', kind: 'native' },
  { name: 'linux-arm64-gnu', triple: 'aarch64-unknown-linux-gnu', os: 'linux', arch: 'arm64', libc: 'gnu', kind: 'native' },
  { name: 'linux-x64-musl', triple: 'x86_64-unknown-linux-musl', os: 'linux', arch: 'x64', libc: 'musl', kind: 'native' },
  { name: 'linux-arm64-musl', triple: 'aarch64-unknown-linux-musl', os: 'linux', arch: 'arm64', libc: 'musl', kind: 'native' },
  { name: 'win32-x64-msvc', triple: 'x86_64-pc-windows-msvc', os: 'win32', arch: 'x64', libc: null, kind: 'native' },
  { name: 'linux-arm-gnueabihf', triple: 'armv7-unknown-linux-gnueabihf', os: 'linux', arch: 'arm', libc: 'gnu', kind: 'native' },
  { name: 'win32-x64-gnu', triple: 'x86_64-pc-windows-gnu', os: 'win32', arch: 'x64', libc: null, kind: 'native' },
  { name: 'wasm32-wasip1-threads', triple: 'wasm32-wasip1-threads', os: null, arch: 'wasm32', libc: null, kind: 'wasm', threads: true },
  { name: 'wasm32-wasip1', triple: 'wasm32-wasip1', os: null, arch: 'wasm32', libc: null, kind: 'wasm', threads: false },
];

const pick = (o, ...keys) => {
  for (const k of keys) if (o[k] !== undefined) return o[k];
  return undefined;
};

/** Normalise one row of manifests/vectors/platforms.json: {name, triple, platform, arch, libc: glibc|musl|none, kind, threads}. */
function normalise(row) {
  const name = pick(row, 'name', 'napi');
  const triple = pick(row, 'triple', 'rust_triple', 'target');
  const kind = pick(row, 'kind') || (String(triple).startsWith('wasm32') ? 'wasm' : 'native');
  const libc = pick(row, 'libc');
  return {
    name,
    triple,
    os: kind === 'wasm' ? null : pick(row, 'os', 'platform') || String(name).split('-')[0],
    arch: kind === 'wasm' ? 'wasm32' : pick(row, 'arch', 'node_arch') || String(name).split('-')[1],
    libc: libc === undefined || libc === 'none' || libc === '' ? null : libc === 'glibc' ? 'gnu' : libc,
    kind,
    threads: kind === 'wasm' ? Boolean(pick(row, 'threads')) || String(triple).endsWith('-threads') : undefined,
  };
}

let cached = null;
/** The table: `platforms.json` next to the package root if present, else the built-in copy. */
function table(file = path.join(__dirname, '..', 'platforms.json')) {
  if (cached && cached.file === file) return cached.rows;
  let rows = BUILTIN;
  try {
    const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
    const list = Array.isArray(doc) ? doc : doc.platforms;
    if (Array.isArray(list) && list.length) rows = list.map(normalise);
  } catch {
    rows = BUILTIN;
  }
  cached = { file, rows };
  return rows;
}

/** File name of a platform's binary, napi convention: `x0x.linux-x64-gnu.node`, `x0x.wasm32-wasip1.wasm`. */
function fileName(pkg, p) {
  return p.kind === 'wasm' ? `${pkg}.${p.triple}.wasm` : `${pkg}.${p.name}.node`;
}

/** The platform of a napi name (or triple for WASM); throws platform.unknown. */
function fromName(name, rows = table()) {
  const p = rows.find((r) => r.name === name);
  if (!p) throw require('./errors').err('platform.unknown', `unknown platform ${JSON.stringify(String(name).slice(0, 80))}`);
  return p;
}

/** Parse an artifact file name (`x0x.linux-x64-gnu.node`) into {pkg, platform}; throws platform.unknown. */
function parseFileName(file, rows = table()) {
  const unknown = () => require('./errors').err('platform.unknown', `${JSON.stringify(String(file).slice(0, 128))} is not an artifact file name of the platform table`);
  const m = /^([^.]+)\.(.+)\.(node|wasm)$/.exec(file);
  if (!m) throw unknown();
  const kind = m[3] === 'node' ? 'native' : 'wasm';
  const p = rows.find((r) => r.kind === kind && (kind === 'wasm' ? r.triple : r.name) === m[2]);
  if (!p) throw unknown();
  return { pkg: m[1], platform: p };
}

module.exports = { BUILTIN, table, normalise, fileName, fromName, parseFileName };
