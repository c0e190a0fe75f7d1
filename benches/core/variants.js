'use strict';
// Build variants of the WASM core against each other and native, alternating in one process (not part of CI):
//   NODE_PATH=core/node_modules node benches/core/variants.js NATIVE.node NAME=DIR/x0x.wasip1.cjs ... [--rounds N]
// Each round runs one batch of each operation on every build in turn; prints per build the median ms per
// operation and the median of the per-round ratios to native. benches/core/variants.sh builds the variants.
const path = require('node:path');
const { args: cli, median, now } = require('../lib');

const { argv: args, opt } = cli();
const ROUNDS = Number(opt('--rounds', 15));
const specs = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--rounds');
const builds = specs.map((s, i) => {
  const [name, file] = i === 0 ? ['native', s] : s.split('=');
  return { name, core: require(path.resolve(file)) };
});

function ops(core) {
  const msgs = Array.from({ length: 16 }, (_, i) => Buffer.alloc(1024, i));
  const kp = core.AgentKeypair.fromSeed(Buffer.alloc(32, 1));
  const sigs = msgs.map((m) => kp.sign(m));
  const list = new core.TaskList();
  for (let i = 0; i < 5000; i++) list.addTask(`task-${i}`, `title ${i}`);
  const bytes = list.toBytes();
  return {
    keygen: [() => { for (let i = 0; i < 8; i++) core.AgentKeypair.fromSeed(Buffer.alloc(32, i)); }, 8],
    sign: [() => { for (const m of msgs) kp.sign(m); }, 16],
    verify: [() => { for (let i = 0; i < 16; i++) core.verify(kp.publicKey, msgs[i], sigs[i]); }, 16],
    merge5k: [() => core.TaskList.fromBytes(bytes).merge(core.TaskList.fromBytes(bytes)), 1],
  };
}
for (const b of builds) b.ops = ops(b.core);
const names = Object.keys(builds[0].ops);
const res = builds.map(() => Object.fromEntries(names.map((n) => [n, []])));
for (let r = -1; r < ROUNDS; r++) {
  for (const n of names) {
    builds.forEach((b, i) => {
      const [fn, per] = b.ops[n];
      const t0 = now();
      fn();
      if (r >= 0) res[i][n].push((now() - t0) / per);
    });
  }
}
console.log(`| build | ${names.map((n) => `${n} ms (× native)`).join(' | ')} |`);
console.log(`|---|${names.map(() => '---').join('|')}|`);
builds.forEach((b, i) => {
  const cells = names.map((n) => {
    const ms = median(res[i][n]);
    const ratio = median(res[i][n].map((x, k) => x / res[0][n][k]));
    return i === 0 ? ms.toFixed(3) : `${ms.toFixed(3)} (${ratio.toFixed(2)}×)`;
  });
  console.log(`| ${b.name} | ${cells.join(' | ')} |`);
});
