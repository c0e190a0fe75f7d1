'use strict';
// The one retry policy of every x0x-dist client, mirrored from the Rust one (manifests/src/retry.rs: the
// reasons are written there). test/retry.test.js checks both against manifests/vectors/retry.json.
//   retried: a failure to connect or a broken transfer; HTTP 408, 425, 429; every 5xx except 501, 505, 506,
//            507 (a full disk stays full), 508, 510, 511
//   delays:  FIRST_DELAY_MS doubling per retry, capped at MAX_DELAY_MS, times a jitter in [0.5, 1.5), raised to
//            a Retry-After in seconds (never above MAX_DELAY_MS)

const RETRIES = 3;
const FIRST_DELAY_MS = 250;
const MAX_DELAY_MS = 8000;
const NOT_RETRIED_5XX = new Set([501, 505, 506, 507, 508, 510, 511]);

/** Whether a failed response with this HTTP status is worth another attempt. */
function retryableStatus(status) {
  return status === 408 || status === 425 || status === 429 || (status >= 500 && status <= 599 && !NOT_RETRIED_5XX.has(status));
}

/** Delay (ms) before retry `retry` (0 for the first), from `firstMs`; jitter clamped to [0.5, 1.5]. */
function delayMs(firstMs, retry, jitter, retryAfterMs = null) {
  const base = Math.min(firstMs * 2 ** Math.min(retry, 16), MAX_DELAY_MS);
  const d = Math.min(Math.floor(base * Math.min(Math.max(jitter, 0.5), 1.5)), MAX_DELAY_MS);
  return retryAfterMs == null ? d : Math.max(d, Math.min(retryAfterMs, MAX_DELAY_MS));
}

/** A Retry-After header value in delta-seconds, in ms; an HTTP date or anything else: null. */
function retryAfterMs(value) {
  if (typeof value !== 'string' || !/^\s*\d+\s*$/.test(value)) return null;
  return Number(value.trim()) * 1000;
}

const jitter = () => 0.5 + Math.random();

module.exports = { RETRIES, FIRST_DELAY_MS, MAX_DELAY_MS, retryableStatus, delayMs, retryAfterMs, jitter };
