'use strict';
// The fixed scenario every build of the core must reproduce bit for bit (native on every platform, and WASM):
// deterministic keys and signatures from a fixed seed, and a TaskList built by a fixed sequence of operations.
// Its expected digests are core/test/vectors.json, which the Rust unit tests check too
// (the `vectors` module in core/src/lib.rs), so Rust, every native build and the WASM build agree.
const { createHash } = require('node:crypto');

const sha256 = (b) => createHash('sha256').update(b).digest('hex');
const SEED = Buffer.alloc(32, 7);
const OTHER_SEED = Buffer.alloc(32, 9);
const MESSAGE = Buffer.from('x0x cross-platform vector');

/** Runs the scenario against a loaded core module; returns the digests (what vectors.json holds). */
function run(core) {
  const kp = core.AgentKeypair.fromSeed(SEED);
  const other = core.AgentKeypair.fromSeed(OTHER_SEED);
  const sig = kp.sign(MESSAGE);
  if (!core.verify(kp.publicKey, MESSAGE, sig)) throw new Error('own signature does not verify');
  if (core.verify(other.publicKey, MESSAGE, sig)) throw new Error('signature verifies under another key');
  const list = new core.TaskList();
  list.addTask('t1', 'build every platform');
  list.addTask('t2', 'sign the release');
  list.addTask('t3', 'publish');
  list.claimTask('t1', kp.agentId);
  list.completeTask('t1', kp.agentId);
  const replica = new core.TaskList();
  replica.addTask('t2', 'sign the release');
  replica.claimTask('t2', other.agentId);
  list.merge(replica);
  return {
    publicKeySha256: sha256(kp.publicKey),
    agentId: kp.agentId.toString(),
    signatureSha256: sha256(sig),
    taskListSha256: sha256(list.toBytes()),
    tasks: list.listTasks().map((t) => `${t.id}:${t.status}`).join(','),
  };
}

module.exports = { run, sha256, SEED, OTHER_SEED, MESSAGE };
