'use strict';
// Issue 11: one retry policy. lib/retry.js must equal the Rust policy (manifests/src/retry.rs, written out in
// manifests/vectors/retry.json) for every status from 100 to 599, and HttpRepo must act on it against a real
// server: a retryable status is asked again, any other is not, and a Retry-After is waited for.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const http = require('http');
const path = require('path');
const retry = require('../lib/retry');
const { HttpRepo } = require('../lib/fetch');
const { DEFAULTS } = require('../lib/constants');

const VECTOR = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'manifests', 'vectors', 'retry.json'), 'utf8'));

test('the JS policy equals the Rust one for every status and delay', () => {
  const js = [];
  for (let s = 100; s <= 599; s += 1) if (retry.retryableStatus(s)) js.push(s);
  assert.deepEqual(js, VECTOR.retryable);
  assert.equal(retry.RETRIES, VECTOR.retries);
  assert.equal(DEFAULTS.RETRIES, VECTOR.retries, 'X0X_DIST_RETRIES default');
  assert.equal(retry.FIRST_DELAY_MS, VECTOR.first_delay_ms);
  assert.equal(retry.MAX_DELAY_MS, VECTOR.max_delay_ms);
  assert.deepEqual(VECTOR.delays_ms.map((_, r) => retry.delayMs(retry.FIRST_DELAY_MS, r, 1.0)), VECTOR.delays_ms);
  assert.equal(retry.delayMs(retry.FIRST_DELAY_MS, 0, 1.0, 60000), VECTOR.delay_ms_with_retry_after_60);
  // Spot checks that do not come from the vector: a full disk is not retried, an overloaded server is.
  assert.equal(retry.retryableStatus(507), false);
  assert.equal(retry.retryableStatus(503), true);
  assert.equal(retry.retryableStatus(404), false);
  assert.equal(retry.delayMs(250, 0, 0), 125, 'jitter is clamped');
  assert.equal(retry.retryAfterMs('3'), 3000);
  assert.equal(retry.retryAfterMs('Wed, 21 Oct 2015 07:28:00 GMT'), null);
});

/** A server that answers `status` to the first request and 200 after; counts requests. */
async function flaky(status, headers = {}) {
  const s = { requests: 0 };
  s.server = http.createServer((req, res) => {
    s.requests += 1;
    if (s.requests === 1) {
      res.writeHead(status, headers);
      res.end('{"code":"x","detail":"first attempt fails"}');
    } else {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    }
  });
  await new Promise((r) => s.server.listen(0, '127.0.0.1', r));
  s.url = `http://127.0.0.1:${s.server.address().port}`;
  return s;
}

test('HttpRepo retries exactly the statuses of the policy (real server)', async () => {
  for (const status of [400, 401, 403, 408, 409, 410, 413, 416, 425, 429, 500, 501, 502, 503, 504, 505, 507, 511, 599]) {
    const s = await flaky(status);
    try {
      const repo = new HttpRepo(s.url, { retries: 1, backoffMs: 1, timeoutMs: 5000 });
      let got = null;
      let failure = null;
      try {
        got = await repo.getMetadata('timestamp.json', 1000);
      } catch (e) {
        failure = e;
      }
      if (retry.retryableStatus(status)) {
        assert.equal(s.requests, 2, `${status} is retried`);
        assert.equal(String(got), '{"ok":true}', `${status}: the retry's answer is used`);
      } else {
        assert.equal(s.requests, 1, `${status} is not retried`);
        assert.equal(failure && failure.code, 'network.http_status', `${status} fails with network.http_status`);
      }
    } finally {
      s.server.close();
    }
  }
});

test('HttpRepo waits for Retry-After (capped by the policy)', async () => {
  const s = await flaky(503, { 'retry-after': '1' });
  try {
    const repo = new HttpRepo(s.url, { retries: 1, backoffMs: 1, timeoutMs: 5000 });
    const t0 = process.hrtime.bigint();
    await repo.getMetadata('timestamp.json', 1000);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    assert.equal(s.requests, 2);
    assert.ok(ms >= 990, `waited ${ms} ms for Retry-After: 1`);
  } finally {
    s.server.close();
  }
});
