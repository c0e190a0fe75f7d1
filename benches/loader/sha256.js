#!/usr/bin/env node
'use strict';
// SHA-256 throughput of the JS loader's hashing paths vs `openssl speed -evp sha256`, same run, interleaved.
//
//   benches/run.sh loader-sha256 [--rounds 5] [--mib 64]
//
// Rows (each timed by the wall clock, like everything the loader does):
//   whole    crypto.createHash over one Buffer (what lib/loader.js does for a cached or platform-package blob)
//   file     read a page-cached file in 1 MiB chunks and hash each (FileRepo / bundle path)
//   stream   64 KiB updates, the size of HTTP chunks from the socket (HttpRepo path)
//   openssl  `openssl speed -elapsed -evp sha256 -bytes 1048576`: -elapsed makes openssl divide by wall-clock
//            time too; its default CPU-time divisor flatters it whenever the machine is loaded.
// Prints medians (GB/s, 1e9 bytes/s), the ratio of each JS row to openssl, and one Markdown row per path.
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { args, median } = require('../lib');

const { opt } = args();
const ROUNDS = Number(opt('--rounds', 5));
const MIB = Number(opt('--mib', 64));
const SIZE = MIB * 1048576;

const data = crypto.randomBytes(SIZE);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'x0x-sha-bench-'));
const file = path.join(dir, 'blob');
fs.writeFileSync(file, data);
fs.readFileSync(file); // page cache

function gbps(fn) {
  const t0 = process.hrtime.bigint();
  fn();
  return SIZE / Number(process.hrtime.bigint() - t0);
}

const rows = {
  whole: () => crypto.createHash('sha256').update(data).digest(),
  file: () => {
    const h = crypto.createHash('sha256');
    const buf = Buffer.allocUnsafe(1 << 20);
    const fd = fs.openSync(file, 'r');
    try {
      for (;;) {
        const n = fs.readSync(fd, buf, 0, buf.length, null);
        if (!n) break;
        h.update(n === buf.length ? buf : buf.subarray(0, n));
      }
    } finally {
      fs.closeSync(fd);
    }
    return h.digest();
  },
  stream: () => {
    const h = crypto.createHash('sha256');
    for (let o = 0; o < SIZE; o += 65536) h.update(data.subarray(o, o + 65536));
    return h.digest();
  },
};

function openssl() {
  const r = spawnSync('openssl', ['speed', '-elapsed', '-seconds', '2', '-mr', '-bytes', '1048576', '-evp', 'sha256'], { encoding: 'utf8' });
  const line = String(r.stdout).split('\n').find((l) => l.startsWith('+F:'));
  if (!line) throw new Error(`openssl speed printed no +F line: ${r.stderr}`);
  return Number(line.split(':').pop()) / 1e9;
}

const got = { whole: [], file: [], stream: [], openssl: [] };
for (const f of Object.values(rows)) f(); // warm-up
for (let i = 0; i < ROUNDS; i += 1) {
  for (const [k, f] of Object.entries(rows)) got[k].push(gbps(f));
  got.openssl.push(openssl());
}
fs.rmSync(dir, { recursive: true, force: true });
const o = median(got.openssl);
const load = os.loadavg().map((x) => x.toFixed(1)).join(' ');
console.log(`node ${process.version}, openssl ${process.versions.openssl} in node; ${ROUNDS} rounds of ${MIB} MiB; load ${load}`);
for (const k of Object.keys(got)) {
  console.log(`${k.padEnd(8)} median ${median(got[k]).toFixed(2)} GB/s  runs ${got[k].map((x) => x.toFixed(2)).join(' ')}`);
}
const label = { whole: 'one Buffer (cache / platform package)', file: 'file, 1 MiB reads (file:// / bundle)', stream: '64 KiB updates (HTTP download)' };
for (const k of Object.keys(rows)) {
  console.log(`| SHA-256, JS, ${label[k]} | ${median(got[k]).toFixed(2)} GB/s | openssl -elapsed ${o.toFixed(2)} GB/s | ${(median(got[k]) / o).toFixed(2)}x |`);
}
