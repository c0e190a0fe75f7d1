'use strict';
// `node loader/js/scripts/pack.js --help` (the README's publishing walkthrough runs pack.js) prints its usage,
// every flag included, and exits 0; it used to fail with "--help needs a value".

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('path');
const { spawnSync } = require('child_process');

const PACK = path.join(__dirname, '..', 'scripts', 'pack.js');

test('pack.js --help and -h print the usage and exit 0', () => {
  for (const flag of ['--help', '-h']) {
    const r = spawnSync(process.execPath, [PACK, flag], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Assemble the `x0x` npm package/);
    for (const f of ['--version', '--root', '--repo', '--release', '--platform-packages', '--scope', '--out']) {
      assert.ok(r.stdout.includes(f), `${flag}: usage lacks ${f}`);
    }
    assert.doesNotMatch(r.stdout, /^\/\//m, 'comment markers stripped');
    assert.doesNotMatch(r.stdout, /use strict|require\(/, 'stops at the end of the header comment');
  }
});
