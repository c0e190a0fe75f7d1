'use strict';
// Issue 11: the loader's modules form no import cycle. Every `require('./x')` / `require('../lib/x')` with a
// literal path counts, lazy ones inside functions included (a lazy require still ties the two modules together).
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');

const ROOT = path.join(__dirname, '..');

/** Module graph: file (relative to loader/js) -> files it requires. */
function graph() {
  const files = ['index.js', 'postinstall.js', ...fs.readdirSync(path.join(ROOT, 'lib')).map((f) => `lib/${f}`), ...fs.readdirSync(path.join(ROOT, 'bin')).map((f) => `bin/${f}`)].filter((f) => /\.(c?js|mjs)$/.test(f));
  const g = new Map();
  for (const f of files) {
    const src = fs.readFileSync(path.join(ROOT, f), 'utf8');
    const deps = new Set();
    for (const m of src.matchAll(/require\((['"])(\.{1,2}\/[^'"]+)\1\)/g)) {
      let dep = path.relative(ROOT, path.resolve(path.dirname(path.join(ROOT, f)), m[2]));
      if (!/\.(c?js|mjs|json)$/.test(dep)) dep += '.js';
      if (!dep.endsWith('.json')) deps.add(dep);
    }
    g.set(f, [...deps]);
  }
  return g;
}

/** The first cycle found, as a list of files, or null. */
function findCycle(g) {
  const state = new Map(); // 1: on the stack, 2: done
  const stack = [];
  const visit = (n) => {
    state.set(n, 1);
    stack.push(n);
    for (const d of g.get(n) || []) {
      if (state.get(d) === 1) return [...stack.slice(stack.indexOf(d)), d];
      if (!state.has(d)) {
        const c = visit(d);
        if (c) return c;
      }
    }
    stack.pop();
    state.set(n, 2);
    return null;
  };
  for (const n of g.keys()) {
    if (!state.has(n)) {
      const c = visit(n);
      if (c) return c;
    }
  }
  return null;
}

test('every required module exists', () => {
  const g = graph();
  for (const [f, deps] of g) for (const d of deps) assert.ok(fs.existsSync(path.join(ROOT, d)), `${f} requires ${d}, which does not exist`);
});

test('the loader has no import cycle', () => {
  const cycle = findCycle(graph());
  assert.equal(cycle, null, `import cycle: ${cycle && cycle.join(' -> ')}`);
});

test('the cycle finder finds a cycle', () => {
  // The check above must be able to fail.
  const g = new Map([
    ['a.js', ['b.js']],
    ['b.js', ['c.js']],
    ['c.js', ['a.js']],
    ['d.js', []],
  ]);
  assert.deepEqual(findCycle(g), ['a.js', 'b.js', 'c.js', 'a.js']);
  assert.equal(findCycle(new Map([['a.js', ['b.js']], ['b.js', []]])), null);
});

test('the warm path does not pull in the resolver', () => {
  // lib/warm.js is loaded on every require('x0x'); the resolver (lib/loader.js and its TUF client) only when cold.
  const g = graph();
  const reach = new Set();
  const walk = (n) => {
    for (const d of g.get(n) || []) if (!reach.has(d)) reach.add(d) && walk(d);
  };
  walk('lib/warm.js');
  for (const heavy of ['lib/loader.js', 'lib/trust.js', 'lib/tuf.js', 'lib/fetch.js']) assert.ok(!reach.has(heavy), `lib/warm.js reaches ${heavy}`);
});
