'use strict';
// Node tests of the x0x core, run against ALL THREE builds side by side (they must behave identically):
//   X0X_NATIVE=dist/core/x0x.linux-x64-gnu.node X0X_WASM=dist/core/x0x.wasip1.cjs \
//   X0X_WASM_THREADS=dist/core/x0x.wasi.cjs NODE_PATH=core/node_modules node --test core/test/core.test.js
// Every variable is required: a run that silently tested fewer builds would prove nothing about the others.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const fs = require('node:fs');
const { run, sha256 } = require('./scenario.js');

const vectors = JSON.parse(fs.readFileSync(path.join(__dirname, 'vectors.json'), 'utf8'));
const FILES = { native: 'X0X_NATIVE', wasm: 'X0X_WASM', 'wasm-threads': 'X0X_WASM_THREADS' };
const builds = {};
for (const [name, env] of Object.entries(FILES)) {
  const file = process.env[env];
  if (!file) throw new Error(`${env} is not set: point it at the ${name} build (see the header of this file)`);
  builds[name] = require(path.resolve(file));
}
const { native } = builds;
/** The WASM builds, each compared with the native one. */
const wasmBuilds = Object.entries(builds).filter(([n]) => n !== 'native');

/** A small deterministic PRNG (mulberry32), so a failing sequence can be replayed. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function codeOf(fn) {
  try {
    fn();
  } catch (e) {
    return e.code;
  }
  return null;
}

for (const [name, core] of Object.entries(builds)) {
  test(`${name}: the cross-platform scenario reproduces vectors.json`, () => {
    assert.deepEqual(run(core), vectors);
  });

  test(`${name}: key pairs and agent ids`, () => {
    const kp = core.AgentKeypair.generate();
    assert.equal(kp.publicKey.length, core.PUBLIC_KEY_LENGTH);
    assert.equal(core.PUBLIC_KEY_LENGTH, 1952);
    const id = kp.agentId;
    assert.equal(id.toString(), sha256(kp.publicKey));
    assert.equal(id.toBytes().toString('hex'), id.toString());
    assert.ok(core.AgentId.fromString(id.toString()).equals(id));
    assert.ok(core.AgentId.fromString(id.toString().toUpperCase()).equals(id));
    assert.ok(!core.AgentKeypair.generate().agentId.equals(id));
    for (const bad of ['', 'abc', id.toString().slice(1), `${id}0`, `g${id.toString().slice(1)}`]) {
      assert.equal(codeOf(() => core.AgentId.fromString(bad)), 'agent_id.invalid', bad);
    }
    const seed = kp.exportSeed();
    assert.equal(seed.length, 32);
    assert.ok(core.AgentKeypair.fromSeed(seed).publicKey.equals(kp.publicKey));
    assert.equal(codeOf(() => core.AgentKeypair.fromSeed(Buffer.alloc(31))), 'key.invalid_seed');
  });

  test(`${name}: sign and verify`, () => {
    const kp = core.AgentKeypair.generate();
    const msg = Buffer.from('hello agents');
    const sig = kp.sign(msg);
    assert.equal(sig.length, core.SIGNATURE_LENGTH);
    assert.equal(core.verify(kp.publicKey, msg, sig), true);
    assert.equal(core.verify(kp.publicKey, Buffer.from('hello agentz'), sig), false);
    const flipped = Buffer.from(sig);
    flipped[100] ^= 1;
    assert.equal(core.verify(kp.publicKey, msg, flipped), false);
    assert.equal(core.verify(kp.publicKey, msg, sig.subarray(1)), false);
    assert.equal(core.verify(core.AgentKeypair.generate().publicKey, msg, sig), false);
    assert.equal(codeOf(() => core.verify(Buffer.alloc(12), msg, sig)), 'key.invalid_public_key');
    assert.ok(kp.sign(Buffer.alloc(0)).length === 3309);
  });

  test(`${name}: signAsync resolves to the same signature, many at once`, async () => {
    const kp = core.AgentKeypair.fromSeed(Buffer.alloc(32, 3));
    const msgs = Array.from({ length: 8 }, (_, i) => Buffer.from(`message ${i}`));
    const sigs = await Promise.all(msgs.map((m) => kp.signAsync(m)));
    sigs.forEach((s, i) => {
      assert.ok(s.equals(kp.sign(msgs[i])));
      assert.ok(core.verify(kp.publicKey, msgs[i], s));
    });
  });

  test(`${name}: signMany gives sign's signatures in order, on any number of threads`, () => {
    const kp = core.AgentKeypair.fromSeed(Buffer.alloc(32, 4));
    const msgs = Array.from({ length: 9 }, (_, i) => Buffer.from(`many ${i}`));
    const want = msgs.map((m) => kp.sign(m));
    for (const threads of [undefined, 1, 2, 3, 16]) {
      const got = kp.signMany(msgs, threads);
      assert.equal(got.length, msgs.length);
      got.forEach((s, i) => assert.ok(s.equals(want[i]), `threads=${threads} message ${i}`));
    }
    assert.deepEqual(kp.signMany([]), []);
  });

  // Where the work runs: the threads build really spawns WASI threads and runs AsyncTask work (signAsync) on
  // one; wasm32-wasip1 runs both on the JavaScript thread.
  test(`${name}: threading() reports where work runs`, async () => {
    const t = await core.threading();
    const offThread = name !== 'wasm';
    assert.equal(t.asyncOffJsThread, offThread);
    assert.equal(t.spawn, offThread);
    if (name === 'native') assert.ok(t.parallelism >= 1);
    else assert.equal(t.parallelism ?? null, null); // available_parallelism is Unsupported under WASI
    assert.equal(t.signManyThreads, name === 'native' ? t.parallelism : 4);
  });

  // A panic on a spawned thread: an error with a stable code, and the process still exits (the threads build's
  // panicking thread aborts and its worker traps; joining it would wait forever). In a child process: the
  // trapped worker leaves the build in that process unusable, and the glue then raises the worker's trap as an
  // uncaught exception on the JavaScript thread (the process ends with an error, as a native abort would).
  test(`${name}: a panic on a thread is an error (thread.panicked), not a hang`, () => {
    // An AsyncTask rejects with napi's status as `code`; the core's code leads the message (core/src/error.rs).
    const script = `require(${JSON.stringify(path.resolve(process.env[FILES[name]]))}).threading(true).then(
      () => { console.log('resolved'); process.exit(3); },
      (e) => { console.log(e.message.split(':')[0]); process.exit(0); })`;
    const t0 = Date.now();
    const r = require('node:child_process').spawnSync(process.execPath, ['--no-warnings', '-e', script], { encoding: 'utf8', timeout: 60000 });
    assert.notEqual(r.signal, 'SIGTERM', `hung (killed after ${Date.now() - t0} ms)`);
    if (name === 'wasm') {
      // No threads: the panic happens on the JavaScript thread, where a wasm trap ends the process with an error.
      assert.notEqual(r.status, 3, 'resolved despite the panic');
      return;
    }
    if (name === 'wasm-threads' && r.status !== 0) {
      // The other order of the same two events: the glue (emnapi) rethrows the trapped worker's error on the
      // JavaScript thread as an uncaught exception, which can win the race with the rejection. Still an error.
      assert.notEqual(r.status, 3, 'resolved despite the panic');
      assert.match(r.stderr, /sent an error! unreachable[\s\S]*RuntimeError\]?: unreachable/);
      return;
    }
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'thread.panicked');
  });

  test(`${name}: TaskList intent checks and error codes`, () => {
    const a = core.AgentKeypair.fromSeed(Buffer.alloc(32, 1)).agentId;
    const b = core.AgentKeypair.fromSeed(Buffer.alloc(32, 2)).agentId;
    const l = new core.TaskList();
    l.addTask('t1', 'one');
    assert.equal(codeOf(() => l.addTask('t1', 'again')), 'task.exists');
    assert.equal(codeOf(() => l.addTask('', 'x')), 'task.invalid');
    assert.equal(codeOf(() => l.addTask('x'.repeat(257), 'x')), 'task.invalid');
    assert.equal(codeOf(() => l.claimTask('nope', a)), 'task.not_found');
    assert.equal(codeOf(() => l.completeTask('t1', a)), 'task.not_claimed');
    l.claimTask('t1', a);
    assert.equal(codeOf(() => l.claimTask('t1', b)), 'task.already_claimed');
    l.completeTask('t1', a);
    assert.equal(codeOf(() => l.claimTask('t1', a)), 'task.done');
    assert.deepEqual(l.listTasks(), [{ id: 't1', title: 'one', status: 'done', claimedBy: a.toString(), completedBy: a.toString() }]);
    const back = core.TaskList.fromBytes(l.toBytes());
    assert.ok(back.toBytes().equals(l.toBytes()));
    assert.equal(codeOf(() => core.TaskList.fromBytes(Buffer.from('nope'))), 'tasklist.malformed');
    assert.equal(codeOf(() => core.TaskList.fromBytes(l.toBytes().subarray(0, 20))), 'tasklist.malformed');
    l.merge(l); // merging with itself is a no-op
    assert.ok(l.toBytes().equals(back.toBytes()));
  });

  test(`${name}: TaskList merge converges (commutative, idempotent)`, () => {
    const agents = [1, 2, 3].map((n) => core.AgentKeypair.fromSeed(Buffer.alloc(32, n)).agentId);
    const rnd = prng(42);
    const replicas = [new core.TaskList(), new core.TaskList(), new core.TaskList()];
    for (let i = 0; i < 300; i++) {
      const r = replicas[Math.floor(rnd() * 3)];
      const id = `task-${Math.floor(rnd() * 20)}`;
      const who = agents[Math.floor(rnd() * 3)];
      const op = rnd();
      codeOf(() => (op < 0.4 ? r.addTask(id, `title ${i}`) : op < 0.7 ? r.claimTask(id, who) : op < 0.9 ? r.completeTask(id, who) : r.merge(replicas[Math.floor(rnd() * 3)])));
    }
    const [x, y, z] = replicas.map((r) => r.toBytes());
    const mergeAll = (order) => {
      const m = core.TaskList.fromBytes(order[0]);
      for (const b of order.slice(1)) m.merge(core.TaskList.fromBytes(b));
      return m.toBytes();
    };
    const ref = mergeAll([x, y, z]);
    for (const order of [[x, z, y], [y, x, z], [y, z, x], [z, x, y], [z, y, x], [x, y, z, x, y]]) {
      assert.ok(mergeAll(order).equals(ref));
    }
  });
}

for (const [wname, wasm] of wasmBuilds) {
  test(`cross: signatures are identical and verify across native and ${wname}`, () => {
    const msg = Buffer.from('across builds');
    for (const seed of [Buffer.alloc(32, 5), native.AgentKeypair.generate().exportSeed(), wasm.AgentKeypair.generate().exportSeed()]) {
      const n = native.AgentKeypair.fromSeed(seed);
      const w = wasm.AgentKeypair.fromSeed(seed);
      assert.ok(n.publicKey.equals(w.publicKey));
      assert.equal(n.agentId.toString(), w.agentId.toString());
      const sn = n.sign(msg);
      const sw = w.sign(msg);
      assert.ok(sn.equals(sw));
      assert.ok(wasm.verify(n.publicKey, msg, sn));
      assert.ok(native.verify(w.publicKey, msg, sw));
    }
    const wk = wasm.AgentKeypair.generate();
    assert.ok(native.verify(wk.publicKey, msg, wk.sign(msg)));
    assert.ok(!native.verify(wk.publicKey, Buffer.from('other'), wk.sign(msg)));
  });

  test(`cross: the same TaskList operations give identical bytes in native and ${wname}, and bytes move between them`, () => {
    const rnd = prng(7);
    const ids = [1, 2, 3, 4].map((n) => Buffer.alloc(32, n));
    const agents = { native: ids.map((s) => native.AgentKeypair.fromSeed(s).agentId), wasm: ids.map((s) => wasm.AgentKeypair.fromSeed(s).agentId) };
    const lists = { native: [new native.TaskList(), new native.TaskList()], wasm: [new wasm.TaskList(), new wasm.TaskList()] };
    for (let i = 0; i < 400; i++) {
      const which = Math.floor(rnd() * 2);
      const id = `t${Math.floor(rnd() * 30)}`;
      const a = Math.floor(rnd() * 4);
      const op = rnd();
      const codes = {};
      for (const b of ['native', 'wasm']) {
        const l = lists[b][which];
        codes[b] = codeOf(() =>
          op < 0.35 ? l.addTask(id, `title ${id} ${i}`)
            : op < 0.65 ? l.claimTask(id, agents[b][a])
              : op < 0.9 ? l.completeTask(id, agents[b][a])
                : l.merge(lists[b][1 - which]));
      }
      assert.equal(codes.native, codes.wasm, `operation ${i}`);
    }
    for (const which of [0, 1]) {
      assert.ok(lists.native[which].toBytes().equals(lists.wasm[which].toBytes()));
      assert.deepEqual(lists.native[which].listTasks(), lists.wasm[which].listTasks());
    }
    // Native replica 0 merges WASM replica 1 (through bytes) and vice versa: same result as within one build.
    const n = native.TaskList.fromBytes(lists.native[0].toBytes());
    n.merge(native.TaskList.fromBytes(lists.wasm[1].toBytes()));
    const w = wasm.TaskList.fromBytes(lists.wasm[1].toBytes());
    w.merge(wasm.TaskList.fromBytes(lists.native[0].toBytes()));
    assert.ok(n.toBytes().equals(w.toBytes()));
  });
}

/** The `min` pages of the module's imported memory (`env.memory`), read from the wasm import section. */
function importedMemoryMinPages(bytes) {
  let p = 8; // magic + version
  const u = () => {
    let r = 0;
    let s = 0;
    for (;;) {
      const b = bytes[p++];
      r += (b & 0x7f) * 2 ** s;
      s += 7;
      if (b < 0x80) return r;
    }
  };
  const str = () => {
    const n = u();
    p += n;
    return bytes.toString('utf8', p - n, p);
  };
  while (p < bytes.length) {
    const id = bytes[p++];
    const size = u();
    const end = p + size;
    if (id === 2) {
      for (let n = u(); n > 0; n--) {
        const mod = str();
        const name = str();
        const kind = bytes[p++];
        if (kind === 0) u(); // function: type index
        else if (kind === 1) { p++; const f = u(); u(); if (f & 1) u(); } // table
        else if (kind === 2) {
          const flags = u();
          const min = u();
          if (flags & 1) u();
          if (mod === 'env' && name === 'memory') return min;
        } else if (kind === 3) p += 2; // global: valtype, mutability
        else throw new Error(`import kind ${kind}`);
      }
    }
    p = end;
  }
  return null;
}

// .cargo/config.toml links the module with --initial-memory equal to the glue's memory: otherwise wasi-libc's
// malloc never uses the memory beyond the module's own floor and grows it (a V8 GC each time) for almost every
// large allocation, which made keygen 4x and TaskList merges 3x slower.
for (const [wname, env, file] of [['wasm', 'X0X_WASM', 'x0x.wasm32-wasip1.wasm'], ['wasm-threads', 'X0X_WASM_THREADS', 'x0x.wasm32-wasip1-threads.wasm']]) {
  test(`${wname}: the heap starts with the glue's whole initial memory, and allocation does not grow it`, () => {
    const glue = path.resolve(process.env[env]);
    const initial = Number(/new WebAssembly\.Memory\(\{\s*initial:\s*(\d+)/.exec(fs.readFileSync(glue, 'utf8'))[1]);
    const wasmFile = path.join(path.dirname(glue), file);
    assert.equal(importedMemoryMinPages(fs.readFileSync(wasmFile)), initial);
    // 300 key pairs (~65 KB of heap each) kept alive without yielding: no memory.grow.
    const script = `let mem; const M = WebAssembly.Memory;
      WebAssembly.Memory = class extends M { constructor(d) { super(d); mem = this; } };
      const core = require(${JSON.stringify(glue)}); const before = mem.buffer.byteLength; const keep = [];
      for (let i = 0; i < 300; i++) keep.push(core.AgentKeypair.fromSeed(Buffer.alloc(32, i)));
      process.stdout.write(JSON.stringify([before, mem.buffer.byteLength]));`;
    const r = require('node:child_process').spawnSync(process.execPath, ['--no-warnings', '-e', script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const [before, after] = JSON.parse(r.stdout);
    if (wname === 'wasm-threads') {
      // Known, not fixed: wasix-libc's malloc (the threads build's libc) takes new memory with memory.grow instead
      // of first using the glue's initial memory above the module's data, so the shared memory grows with the
      // heap (16 MiB for these 300 key pairs in the run that set this bound). Bounded, so a leak still fails.
      assert.ok(after - before <= 32 << 20, `memory grew from ${before} to ${after} bytes`);
    } else {
      assert.equal(after, before, `memory grew from ${before} to ${after} bytes`);
    }
  });
}
