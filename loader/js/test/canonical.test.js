'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { canonicalize, parseStrict } = require('../lib/canonical');

const cases = [
  [{ b: 1, a: [true, false, null], c: 'x' }, '{"a":[true,false,null],"b":1,"c":"x"}'],
  [{ s: 'quote " backslash \\ newline \n tab \t ctrl \u0001' }, '{"s":"quote \\" backslash \\\\ newline \n tab \t ctrl \u0001"}'],
  [{ 'é': 1, z: 2, '\u{1F600}': 3, '\uFFFF': 4 }, '{"z":2,"é":1,"\uFFFF":4,"\u{1F600}":3}'],
  [[], '[]'],
  [{}, '{}'],
  [-17, '-17'],
];

test('canonical JSON: securesystemslib rules', () => {
  for (const [v, want] of cases) assert.equal(canonicalize(v).toString('utf8'), want);
  assert.throws(() => canonicalize({ a: 1.5 }), (e) => e.code === 'metadata.malformed');
});

test('strict parsing rejects duplicate keys and floats', () => {
  assert.throws(() => parseStrict('{"a":1,"a":1}'), (e) => e.code === 'metadata.malformed');
  assert.throws(() => parseStrict('{"a":1.0}'), (e) => e.code === 'metadata.malformed');
  assert.throws(() => parseStrict('{"a":1e2}'), (e) => e.code === 'metadata.malformed');
  assert.throws(() => parseStrict('{"a":1} x'), (e) => e.code === 'metadata.malformed');
  assert.deepEqual(parseStrict(' {"a" : [1, "\\u00e9\\n"] } '), { a: [1, 'é\n'] });
  assert.equal(Object.getPrototypeOf(parseStrict('{"__proto__": {"x": 1}}')).x, undefined, 'no prototype pollution');
});

// Independent implementation: securesystemslib (python-tuf's canonical encoder), when installed.
const PY = path.join(__dirname, '..', '..', '..', '.toolchains', 'venv', 'bin', 'python');
const hasPy = fs.existsSync(PY) && spawnSync(PY, ['-c', 'import securesystemslib.formats'], { stdio: 'ignore' }).status === 0;

test('byte-identical to securesystemslib.formats.encode_canonical', { skip: !hasPy && !process.env.CI && 'python-tuf venv not installed' }, () => {
  const docs = [
    ...cases.map(([v]) => v),
    { signed: { _type: 'root', keys: { b: { keyval: { public: 'ab' } }, a: {} }, roles: { x: { keyids: ['k2', 'k1'], threshold: 2 } } } },
    { 'snow☃man': ['\u0000\u001f', '"\\/'], n: [0, -1, 9007199254740991] },
  ];
  const r = spawnSync(
    PY,
    ['-c', 'import json,sys\nfrom securesystemslib.formats import encode_canonical\nfor d in json.load(sys.stdin): sys.stdout.buffer.write(encode_canonical(d).encode("utf-8") + b"\\n\\x00")'],
    { input: JSON.stringify(docs) },
  );
  assert.equal(r.status, 0, String(r.stderr));
  const outs = r.stdout.toString('utf8').split('\n\u0000').slice(0, -1);
  docs.forEach((d, i) => assert.equal(canonicalize(d).toString('utf8'), outs[i]));
});
