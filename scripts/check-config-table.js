#!/usr/bin/env node
'use strict';
// Checks README.md's configuration table against the loaders' own lists, so the docs cannot drift:
// - every setting in the JS loader's SETTINGS (loader/js/lib/constants.js) and every variable the Rust loader
//   names in loader/src/env.rs has a row;
// - each row's "Read by" column is true: `JS` iff the name is a string in loader/js/lib/*.js, `Rust` iff it is a
//   string in loader/src/env.rs;
// - the names SPEC.md gives are all there.
// Exit 1 with one line per problem.
const fs = require('fs');
const path = require('path');

const ws = path.join(__dirname, '..');
const readme = fs.readFileSync(path.join(ws, 'README.md'), 'utf8');
const m = /<!-- config-table -->([\s\S]*?)<!-- \/config-table -->/.exec(readme);
const problems = [];
if (!m) {
  console.error('README.md has no <!-- config-table --> section');
  process.exit(1);
}
const rows = new Map();
for (const line of m[1].split('\n')) {
  const cells = line.split('|').map((c) => c.trim());
  if (cells.length < 4 || !cells[1].startsWith('`')) continue;
  const readers = new Set(cells[2].split(',').map((s) => s.trim()));
  for (const name of cells[1].match(/`([A-Z0-9_]+)`/g) || []) rows.set(name.slice(1, -1), readers);
}

const jsSrc = fs
  .readdirSync(path.join(ws, 'loader/js/lib'))
  .filter((f) => f.endsWith('.js'))
  .map((f) => fs.readFileSync(path.join(ws, 'loader/js/lib', f), 'utf8'))
  .join('\n');
const rustSrc = fs.readFileSync(path.join(ws, 'loader/src/env.rs'), 'utf8');
const strings = (src) => new Set([...src.matchAll(/['"`]([A-Z][A-Z0-9_]{3,})['"`]/g)].map((x) => x[1]));
const jsNames = strings(jsSrc);
for (const x of jsSrc.matchAll(/\benv\.([A-Z][A-Z0-9_]{3,})\b/g)) jsNames.add(x[1]);
// Node itself applies NODE_EXTRA_CA_CERTS to the default CA store the loader's https requests use.
jsNames.add('NODE_EXTRA_CA_CERTS');
const rustNames = strings(rustSrc);
const { SETTINGS } = require(path.join(ws, 'loader/js/lib/constants.js'));
for (const k of Object.keys(SETTINGS)) jsNames.add(k);

const spec = ['X0X_DIST_URL', 'X0X_DIST_BUNDLE', 'X0X_DIST_CACHE', 'X0X_DIST_OFFLINE', 'X0X_DIST_ROOT',
  'X0X_NATIVE_PATH', 'X0X_FORCE_WASM', 'HTTPS_PROXY', 'NO_PROXY', 'NODE_EXTRA_CA_CERTS'];
for (const n of spec) if (!rows.has(n)) problems.push(`${n}: named by SPEC.md but missing from the README table`);
for (const k of Object.keys(SETTINGS)) if (!rows.has(k)) problems.push(`${k}: a JS loader setting missing from the README table`);
for (const n of rustNames) if (/^X0X_/.test(n) && !rows.has(n)) problems.push(`${n}: read by the Rust loader but missing from the README table`);
for (const [name, readers] of rows) {
  if (readers.has('JS') !== jsNames.has(name)) problems.push(`${name}: README says JS ${readers.has('JS') ? 'reads' : 'does not read'} it; loader/js/lib disagrees`);
  if (readers.has('Rust') !== rustNames.has(name)) problems.push(`${name}: README says Rust ${readers.has('Rust') ? 'reads' : 'does not read'} it; loader/src/env.rs disagrees`);
}
if (problems.length) {
  for (const p of problems) console.error(`config table: ${p}`);
  process.exit(1);
}
console.log(`config table ok: ${rows.size} variables match loader/js and loader/src/env.rs`);
