'use strict';
// Repositories: where metadata and target bytes come from. One interface, three transports:
//   HttpRepo   http(s)://host[/prefix]  →  <prefix>/tuf/metadata/<name>, <prefix>/tuf/targets/<path>
//   FileRepo   file:///dir               →  <dir>/metadata/<name> (or <dir>/tuf/metadata/<name>), same for targets
//   BundleRepo X0X_DIST_BUNDLE           →  the seam for air-gapped bundles (format defined by the mirror work)
// getMetadata(name, maxBytes) → Buffer | null (null: 404 / absent). getTarget(urlPath, want, dest) streams
// into `dest` (a file path), hashing as it goes (`want`: {length, sha256}, or {length, hashes} to check every
// listed hash as lib/tuf.js TargetHasher does); it resumes with Range after a dropped connection and
// fails with target.length_mismatch / target.digest_mismatch without leaving a partial file behind.
//
// HTTP: built-in http/https only; per-request inactivity timeout (X0X_DIST_TIMEOUT_MS) and a total deadline per
// file, every attempt included (X0X_DIST_DEADLINE_MS, scaled by size for targets: a server that drips one byte
// at a time is cut off there with network.timeout naming the URL, issue 25); retries under the shared policy (lib/retry.js: network
// errors, timeouts, 408/425/429 and most 5xx, not 507; exponential backoff with jitter, Retry-After);
// HTTPS_PROXY/HTTP_PROXY (CONNECT tunnel for https) honouring NO_PROXY;
// NODE_EXTRA_CA_CERTS is applied by Node itself to the default CA store. Redirects (301/302/303/307/308, e.g.
// a server offloading targets to a CDN) are followed up to MAX_REDIRECTS hops, never from https to http; the
// bytes are verified against signed metadata either way, the downgrade is refused so that a redirect cannot
// expose what the client asks for.

const fs = require('fs');
const path = require('path');
const http = require('http');
const https = require('https');
const tls = require('tls');
const { err } = require('./errors');
const { RETRIES, FIRST_DELAY_MS, retryableStatus, retryAfterMs, delayMs, jitter } = require('./retry');
const { TargetHasher } = require('./tuf');
const { DEFAULTS, targetDeadlineMs } = require('./constants');

/** The check of a download against `want` (see the header). */
function hasherFor(want) {
  return new TargetHasher({ length: want.length, hashes: want.hashes || { sha256: want.sha256 } });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function redact(u) {
  try {
    const x = new URL(u);
    if (x.username || x.password) {
      x.username = '***';
      x.password = '';
    }
    return x.toString();
  } catch {
    return '<invalid url>';
  }
}

/** NO_PROXY matching as curl: `*`, exact host, `.suffix` / `suffix` domain match, optional `:port`. */
function bypassProxy(url, env = process.env) {
  const list = env.NO_PROXY || env.no_proxy;
  if (!list) return false;
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return list
    .split(/[\s,]+/)
    .filter(Boolean)
    .some((entry) => {
      if (entry === '*') return true;
      let [h, p] = entry.toLowerCase().split(/:(?=\d+$)/);
      if (p && p !== port) return false;
      h = h.replace(/^\*?\./, '');
      return host === h || host.endsWith(`.${h}`);
    });
}

function proxyFor(url, env = process.env) {
  const raw =
    url.protocol === 'https:'
      ? env.HTTPS_PROXY || env.https_proxy || env.ALL_PROXY || env.all_proxy
      : env.HTTP_PROXY || env.http_proxy || env.ALL_PROXY || env.all_proxy;
  if (!raw || bypassProxy(url, env)) return null;
  try {
    return new URL(raw.includes('://') ? raw : `http://${raw}`);
  } catch {
    throw err('config.invalid', `invalid proxy URL ${redact(raw)}`);
  }
}

function proxyAuth(proxy) {
  if (!proxy.username) return {};
  const cred = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
  return { 'proxy-authorization': `Basic ${Buffer.from(cred).toString('base64')}` };
}

/**
 * The total time one file may take, every attempt, redirect and byte of the body included: `ms` from now, or
 * `at` (an absolute time: what is left of the worker's whole budget) if that comes first. `guard(stream)`
 * destroys the request or response in flight with network.timeout when it passes.
 */
class Deadline {
  constructor(url, ms, why, at = Infinity) {
    this.url = url;
    this.ms = ms;
    this.why = why;
    this.start = Date.now();
    this.at = Math.min(this.start + ms, at);
  }

  remaining() {
    return this.at - Date.now();
  }

  error(cause) {
    const e = err('network.timeout', `GET ${redact(this.url)} did not complete within ${Date.now() - this.start} ms: ${this.why}`, cause ? { cause } : undefined);
    e.retry = false;
    return e;
  }

  guard(stream) {
    const t = setTimeout(() => stream.destroy(this.error()), Math.max(0, this.remaining()));
    if (t.unref) t.unref();
    return () => clearTimeout(t);
  }
}

/** One HTTP request; resolves with the response (status checked by the caller). */
function request(url, { headers = {}, timeoutMs, method = 'GET', deadline }) {
  return new Promise((resolve, reject) => {
    // Before the response the request is cut off at the deadline, after it the response (its body).
    const guarded = (req) => {
      if (!deadline) return;
      const cancel = deadline.guard(req);
      req.on('close', cancel);
      req.on('response', (res) => {
        cancel();
        res.on('close', deadline.guard(res));
      });
    };
    const proxy = proxyFor(url);
    const isHttps = url.protocol === 'https:';
    const opts = { method, headers: { 'user-agent': 'x0x-loader', ...headers }, timeout: timeoutMs };
    let req;
    const onTimeout = () => req.destroy(err('network.unreachable', `timed out after ${timeoutMs} ms: ${redact(url)}`));
    if (proxy && isHttps) {
      const connect = (proxy.protocol === 'https:' ? https : http).request({
        host: proxy.hostname,
        port: proxy.port || (proxy.protocol === 'https:' ? 443 : 80),
        method: 'CONNECT',
        path: `${url.hostname}:${url.port || 443}`,
        headers: { host: `${url.hostname}:${url.port || 443}`, ...proxyAuth(proxy) },
        timeout: timeoutMs,
      });
      if (deadline) connect.on('close', deadline.guard(connect));
      connect.on('timeout', () => connect.destroy(err('network.unreachable', `proxy CONNECT timed out: ${redact(proxy)}`)));
      connect.on('error', (e) => reject(err('network.unreachable', `proxy ${redact(proxy)} unreachable`, { cause: e })));
      connect.on('connect', (res, socket) => {
        if (res.statusCode !== 200) {
          socket.destroy();
          reject(err('network.http_status', `proxy CONNECT answered ${res.statusCode}`));
          return;
        }
        req = https.request(url, {
          ...opts,
          headers: { ...opts.headers, connection: 'close' },
          createConnection: () => tls.connect({ socket, servername: url.hostname }),
          agent: false,
        });
        guarded(req);
        req.on('timeout', onTimeout);
        req.on('error', (e) => reject(e.code && e.code.includes('.') ? e : err('network.unreachable', `request to ${redact(url)} failed`, { cause: e })));
        req.on('response', (res) => {
          // One tunnel per request: close it with the response so no socket keeps the process alive.
          res.on('close', () => socket.destroy());
          resolve(res);
        });
        req.end();
      });
      connect.end();
      return;
    }
    if (proxy) {
      req = http.request({
        host: proxy.hostname,
        port: proxy.port || 80,
        path: url.toString(),
        ...opts,
        headers: { ...opts.headers, host: url.host, ...proxyAuth(proxy) },
      });
    } else {
      req = (isHttps ? https : http).request(url, opts);
    }
    guarded(req);
    req.on('timeout', onTimeout);
    req.on('error', (e) => reject(e.code && String(e.code).includes('.') ? e : err('network.unreachable', `request to ${redact(url)} failed`, { cause: e })));
    req.on('response', resolve);
    req.end();
  });
}

const MAX_REDIRECTS = 5;
const REDIRECT = new Set([301, 302, 303, 307, 308]);

/**
 * Where a redirect response points, or an error: relative Locations resolve against `from`; only http(s);
 * https → http is refused (a network.http_status failure that is not retried).
 */
function redirectTarget(from, location, hops) {
  const refuse = (why) => {
    const e = err('network.http_status', `redirect from ${redact(from)} refused: ${why}`);
    e.retry = false;
    return e;
  };
  if (!location) return refuse('no Location header');
  if (hops >= MAX_REDIRECTS) return refuse(`more than ${MAX_REDIRECTS} redirects`);
  let to;
  try {
    to = new URL(location, from);
  } catch {
    return refuse(`unparsable Location ${JSON.stringify(String(location).slice(0, 200))}`);
  }
  if (to.protocol !== 'http:' && to.protocol !== 'https:') return refuse(`Location ${redact(to)} is not http(s)`);
  if (from.protocol === 'https:' && to.protocol === 'http:') return refuse(`downgrade to ${redact(to)}`);
  return to;
}

/** request() that follows redirects; resolves with the final response and its URL. */
async function fetchFollowing(url, opts) {
  let cur = url;
  for (let hops = 0; ; hops += 1) {
    const res = await request(cur, opts);
    if (!REDIRECT.has(res.statusCode)) return { res, url: cur };
    res.resume();
    const next = redirectTarget(cur, res.headers.location, hops);
    if (next instanceof Error) throw next;
    cur = next;
  }
}

/** A failed response as a network.http_status error, marked retryable per the shared policy (lib/retry.js). */
function statusError(url, res) {
  const e = err('network.http_status', `GET ${redact(url)} answered ${res.statusCode}`);
  e.status = res.statusCode;
  e.retry = retryableStatus(res.statusCode);
  e.retryAfterMs = retryAfterMs(res.headers['retry-after']);
  return e;
}

function retryable(e) {
  return e && (e.code === 'network.unreachable' || (e.code === 'network.http_status' && e.retry));
}

class HttpRepo {
  /**
   * `deadlineMs`: the total time of one metadata file (a target: lib/constants.js targetDeadlineMs);
   * `deadlineAt`: an absolute time no request runs past (what the fetch worker was given in all).
   */
  constructor(base, { timeoutMs = 30000, retries = RETRIES, backoffMs = FIRST_DELAY_MS, deadlineMs = DEFAULTS.DEADLINE_MS, deadlineAt = Infinity } = {}) {
    const u = new URL(base);
    if (!u.pathname.endsWith('/')) u.pathname += '/';
    if (!/\/tuf\/$/.test(u.pathname)) u.pathname += 'tuf/';
    this.base = u;
    this.timeoutMs = timeoutMs;
    this.retries = retries;
    this.backoffMs = backoffMs;
    this.deadlineMs = deadlineMs;
    this.deadlineAt = deadlineAt;
    this.describe = redact(base);
  }

  /** The deadline of one file of `length` bytes (null: metadata) at `url`, as its message explains it. */
  deadline(url, length = null) {
    const ms = length === null ? this.deadlineMs : targetDeadlineMs(this.deadlineMs, length);
    const why =
      length === null
        ? `its deadline is ${ms} ms (X0X_DIST_DEADLINE_MS), every attempt included`
        : `its deadline is ${ms} ms for ${length} bytes (X0X_DIST_DEADLINE_MS, and as much again per 4 MiB), every attempt included`;
    const overall = this.deadlineAt - Date.now() < ms ? `, or less: what was left of its fetch's budget (the sum of the deadlines of its downloads)` : '';
    return new Deadline(url, ms, why + overall, this.deadlineAt);
  }

  async withRetry(label, fn, deadline) {
    let last;
    for (let attempt = 0; attempt <= this.retries; attempt += 1) {
      if (attempt) {
        const wait = delayMs(this.backoffMs, attempt - 1, jitter(), last && last.retryAfterMs);
        if (deadline && wait >= deadline.remaining()) throw deadline.error(last);
        await sleep(wait);
      }
      if (deadline && deadline.remaining() <= 0) throw deadline.error(last);
      try {
        return await fn(attempt);
      } catch (e) {
        last = e;
        if (!retryable(e)) throw e;
      }
    }
    throw err(last.code, `${label}: gave up after ${this.retries + 1} attempts`, { cause: last });
  }

  async getMetadata(name, maxBytes) {
    // Role names in `name` are already encoded (tuf.js encodeRoleName): a `%` stays as it is, so the server
    // sees the name quoted once, as python-tuf sends it.
    const url = new URL(`metadata/${name.replace(/[^A-Za-z0-9_.~%-]/g, encodeURIComponent)}`, this.base);
    const deadline = this.deadline(url);
    return this.withRetry(`GET ${redact(url)}`, async () => {
      const { res } = await fetchFollowing(url, { timeoutMs: this.timeoutMs, deadline });
      if (res.statusCode === 404) {
        res.resume();
        return null;
      }
      if (res.statusCode !== 200) {
        res.resume();
        throw statusError(url, res);
      }
      const chunks = [];
      let n = 0;
      for await (const c of res) {
        n += c.length;
        if (n > maxBytes) {
          res.destroy();
          throw err('metadata.too_large', `${name} exceeds ${maxBytes} bytes`);
        }
        chunks.push(c);
      }
      return Buffer.concat(chunks);
    }, deadline);
  }

  /** Stream a target into `dest` (created), checking length and SHA-256; resumes with Range. */
  async getTarget(urlPath, want, dest) {
    const url = new URL(`targets/${urlPath.split('/').map(encodeURIComponent).join('/')}`, this.base);
    const hash = hasherFor(want);
    let got = 0;
    const deadline = this.deadline(url, want.length);
    const fd = fs.openSync(dest, 'w', 0o600);
    try {
      await this.withRetry(`GET ${redact(url)}`, async () => {
        const headers = got > 0 ? { range: `bytes=${got}-` } : {};
        const { res } = await fetchFollowing(url, { headers, timeoutMs: this.timeoutMs, deadline });
        if (res.statusCode === 404) {
          res.resume();
          throw err('target.not_found', `${redact(url)} answered 404`);
        }
        if (res.statusCode === 200 && got > 0) {
          // Server ignored Range: start over.
          hash.reset();
          got = 0;
          fs.ftruncateSync(fd, 0);
        } else if (res.statusCode !== 200 && res.statusCode !== 206) {
          res.resume();
          throw statusError(url, res);
        }
        try {
          for await (const c of res) {
            if (got + c.length > want.length) {
              res.destroy();
              throw err('target.length_mismatch', `${urlPath} is longer than the signed ${want.length} bytes`);
            }
            fs.writeSync(fd, c, 0, c.length, got);
            hash.update(c);
            got += c.length;
            if (want.onProgress) want.onProgress(got, want.length);
          }
        } catch (e) {
          if (e.code && String(e.code).includes('.')) throw e;
          throw err('network.unreachable', `download of ${redact(url)} interrupted at ${got} bytes`, { cause: e });
        }
        if (got < want.length) {
          throw err('network.unreachable', `download of ${redact(url)} ended at ${got} of ${want.length} bytes`);
        }
      }, deadline);
      hash.finish(urlPath);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
}

class FileRepo {
  constructor(base) {
    const dir = base.startsWith('file:') ? require('url').fileURLToPath(base) : base;
    const tuf = path.join(dir, 'tuf');
    this.dir = fs.existsSync(path.join(tuf, 'metadata')) ? tuf : dir;
    this.describe = base;
  }

  async getMetadata(name, maxBytes) {
    const file = path.join(this.dir, 'metadata', path.basename(name));
    let st;
    try {
      st = fs.statSync(file);
    } catch (e) {
      if (e.code === 'ENOENT') return null;
      throw err('io.error', `cannot read ${file}`, { cause: e });
    }
    if (st.size > maxBytes) throw err('metadata.too_large', `${file} exceeds ${maxBytes} bytes`);
    return fs.readFileSync(file);
  }

  async getTarget(urlPath, want, dest) {
    const file = path.join(this.dir, 'targets', ...urlPath.split('/'));
    const hash = hasherFor(want);
    let got = 0;
    let src;
    try {
      src = fs.openSync(file, 'r');
    } catch (e) {
      throw err(e.code === 'ENOENT' ? 'target.not_found' : 'io.error', `cannot read ${file}`, { cause: e });
    }
    const out = fs.openSync(dest, 'w', 0o600);
    try {
      const buf = Buffer.allocUnsafe(1 << 20);
      for (;;) {
        const n = fs.readSync(src, buf, 0, buf.length, null);
        if (!n) break;
        if (got + n > want.length) throw err('target.length_mismatch', `${file} is longer than the signed ${want.length} bytes`);
        fs.writeSync(out, buf, 0, n);
        hash.update(buf.subarray(0, n));
        got += n;
      }
      hash.finish(urlPath);
      fs.fsyncSync(out);
    } finally {
      fs.closeSync(src);
      fs.closeSync(out);
    }
  }
}

/**
 * A bundle (`x0x-dist bundle export`): one file read in place by lib/bundle.js, or a directory (an unpacked
 * bundle) read as a file repository. Everything above this class (verification, cache, load) treats it like
 * any other repository.
 */
class BundleRepo {
  constructor(file) {
    this.file = file;
    this.describe = `bundle ${file}`;
    this.inner = fs.existsSync(file) && fs.statSync(file).isDirectory() ? new FileRepo(file) : null;
  }

  open() {
    if (!this.inner) this.inner = new (require('./bundle').BundleFile)(this.file);
    return this.inner;
  }

  async getMetadata(name, maxBytes) {
    return this.open().getMetadata(name, maxBytes);
  }

  async getTarget(urlPath, want, dest) {
    return this.open().getTarget(urlPath, want, dest);
  }
}

function openRepo(cfg) {
  if (cfg.bundle) return new BundleRepo(path.resolve(cfg.bundle));
  if (!cfg.url) return null;
  if (/^file:/i.test(cfg.url)) return new FileRepo(cfg.url);
  if (/^https?:\/\//i.test(cfg.url)) {
    return new HttpRepo(cfg.url, { timeoutMs: cfg.timeoutMs, retries: cfg.retries, deadlineMs: cfg.deadlineMs, deadlineAt: cfg.deadlineAt });
  }
  throw err('config.invalid', `X0X_DIST_URL must be http(s):// or file://, got ${redact(cfg.url)}`);
}

module.exports = { HttpRepo, FileRepo, BundleRepo, Deadline, openRepo, bypassProxy, proxyFor, redact, redirectTarget, MAX_REDIRECTS };
