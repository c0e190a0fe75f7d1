'use strict';
// Air-gapped bundles (`x0x-dist bundle export`), read with Node built-ins only, and the operator's expiry policy.
//
// Format (repository/src/bundle/mod.rs is the reference; docs/air-gapped.md for operators): an uncompressed POSIX
// ustar archive whose first entry is `bundle.json` (the table of contents: every entry's name, length and
// SHA-256), then `metadata/<file>` (the signed TUF chain) and `targets/<package>/<version>/<sha256>.<file>`.
// The archive is indexed once (one 512-byte header read per entry, no data read) and entries are read in place
// by offset. Nothing here is trusted because it is in the bundle: metadata goes through the TUF workflow from
// the package's trusted root, targets are checked against verified lengths and hashes while they are copied.
// The table of contents only lets a damaged or foreign file fail early and clearly (`bundle.invalid`).
//
// Expiry policy: X0X_DIST_ALLOW_EXPIRED_AFTER=<RFC 3339 time>, the same variable with the same meaning as the
// Rust loader (loader/src/tuf.rs, `freshness_clock`): expiry is checked at that time instead of now when it
// is earlier, so metadata that was still valid then is accepted (with a warning on stderr); metadata that
// expired before it is still `metadata.expired`. It is never applied silently or by default.

const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const { err } = require('./errors');

const BLOCK = 512;
const TOC_NAME = 'bundle.json';
const FORMAT = 'x0x-dist-bundle';
const FORMAT_VERSION = 1;
const MAX_TOC = 16 * 1024 * 1024;
const POLICY_VAR = 'X0X_DIST_ALLOW_EXPIRED_AFTER';
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function cstr(buf, start, len) {
  const end = buf.indexOf(0, start);
  return buf.toString('utf8', start, end === -1 || end > start + len ? start + len : end);
}

function octal(buf, start, len) {
  const s = cstr(buf, start, len).trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) return NaN;
  return parseInt(s, 8);
}

/** Parse one header block: null for a zero block (end of archive). Throws `bundle.invalid`. */
function parseHeader(h, label) {
  if (h.every((b) => b === 0)) return null;
  let sum = 0;
  for (let i = 0; i < BLOCK; i += 1) sum += i >= 148 && i < 156 ? 32 : h[i];
  if (octal(h, 148, 8) !== sum) throw err('bundle.invalid', `${label}: tar header checksum mismatch (corrupt or not a bundle)`);
  if (h.toString('latin1', 257, 262) !== 'ustar') throw err('bundle.invalid', `${label}: not a ustar archive`);
  const type = h[156];
  if (type !== 0x30 && type !== 0) {
    throw err('bundle.invalid', `${label}: unsupported tar entry type ${JSON.stringify(String.fromCharCode(type))} (regular files only)`);
  }
  const name = cstr(h, 0, 100);
  const prefix = cstr(h, 345, 155);
  const size = octal(h, 124, 12);
  if (!Number.isSafeInteger(size)) throw err('bundle.invalid', `${label}: bad size in the header of ${name}`);
  return { name: prefix ? `${prefix}/${name}` : name, size };
}

/** A bundle file opened for reading: an index of its entries and its table of contents. */
class BundleFile {
  constructor(file) {
    this.file = file;
    this.describe = `bundle ${file}`;
    this.entries = new Map();
    let fd;
    try {
      fd = fs.openSync(file, 'r');
    } catch (e) {
      throw err(e.code === 'ENOENT' ? 'bundle.invalid' : 'io.error', `cannot open bundle ${file}`, { cause: e });
    }
    try {
      const total = fs.fstatSync(fd).size;
      const h = Buffer.alloc(BLOCK);
      let off = 0;
      let ended = false;
      while (off + BLOCK <= total) {
        fs.readSync(fd, h, 0, BLOCK, off);
        const e = parseHeader(h, file);
        if (!e) {
          ended = true;
          break;
        }
        const data = off + BLOCK;
        if (data + e.size > total) throw err('bundle.invalid', `${file}: truncated inside ${e.name}`);
        if (this.entries.has(e.name)) throw err('bundle.invalid', `${file}: entry ${e.name} appears twice`);
        if (this.entries.size === 0 && e.name !== TOC_NAME) {
          throw err('bundle.invalid', `${file}: the first entry is ${JSON.stringify(e.name)}, not ${TOC_NAME} (not an x0x-dist bundle)`);
        }
        this.entries.set(e.name, { offset: data, size: e.size });
        off = data + Math.ceil(e.size / BLOCK) * BLOCK;
      }
      if (!ended) throw err('bundle.invalid', `${file}: truncated (no end-of-archive marker)`);
      const t = this.entries.get(TOC_NAME);
      if (!t || t.size > MAX_TOC) throw err('bundle.invalid', `${file}: missing or oversized ${TOC_NAME}`);
      const buf = Buffer.alloc(t.size);
      fs.readSync(fd, buf, 0, t.size, t.offset);
      let toc;
      try {
        toc = JSON.parse(buf.toString('utf8'));
      } catch (e) {
        throw err('bundle.invalid', `${file}: ${TOC_NAME} is not JSON`, { cause: e });
      }
      if (!toc || toc.format !== FORMAT || toc.format_version !== FORMAT_VERSION) {
        throw err('bundle.invalid', `${file}: unsupported bundle format (this loader reads ${FORMAT} ${FORMAT_VERSION})`);
      }
      this.toc = toc;
      this.listed = new Map();
      for (const f of [...(toc.metadata || []), ...(toc.targets || [])]) {
        const e = this.entries.get(f.name);
        if (!e || e.size !== f.length) {
          throw err('bundle.invalid', `${file}: ${TOC_NAME} lists ${f.name} (${f.length} bytes) but the archive does not hold it`);
        }
        this.listed.set(f.name, f);
      }
    } finally {
      fs.closeSync(fd);
    }
  }

  readEntry(name) {
    const e = this.entries.get(name);
    const buf = Buffer.alloc(e.size);
    const fd = fs.openSync(this.file, 'r');
    try {
      fs.readSync(fd, buf, 0, e.size, e.offset);
    } finally {
      fs.closeSync(fd);
    }
    return buf;
  }

  /** The repository interface of lib/fetch.js: metadata bytes by file name, or null if the bundle lacks it. */
  async getMetadata(name, maxBytes) {
    const entry = `metadata/${path.basename(name)}`;
    const e = this.entries.get(entry);
    if (!e) return null;
    if (e.size > maxBytes) throw err('metadata.too_large', `${this.describe}: ${entry} exceeds ${maxBytes} bytes`);
    const bytes = this.readEntry(entry);
    const listed = this.listed.get(entry);
    if (!listed || crypto.createHash('sha256').update(bytes).digest('hex') !== listed.sha256) {
      throw err('bundle.invalid', `${this.describe}: ${entry} does not match ${TOC_NAME}`);
    }
    return bytes;
  }

  /** Copy the target stored at `urlPath` into `dest`, checking the verified length and SHA-256 as it streams. */
  async getTarget(urlPath, want, dest) {
    const entry = `targets/${urlPath}`;
    const e = this.entries.get(entry);
    if (!e) throw err('target.not_found', `${this.describe} does not hold ${urlPath}`);
    if (e.size !== want.length) {
      throw err('target.length_mismatch', `${urlPath} is ${e.size} bytes in ${this.describe}, signed length ${want.length}`);
    }
    const hash = crypto.createHash('sha256');
    const src = fs.openSync(this.file, 'r');
    const out = fs.openSync(dest, 'w', 0o600);
    try {
      const buf = Buffer.allocUnsafe(1 << 20);
      let pos = e.offset;
      let left = e.size;
      while (left > 0) {
        const n = fs.readSync(src, buf, 0, Math.min(buf.length, left), pos);
        if (!n) throw err('bundle.invalid', `${this.describe}: truncated inside ${entry}`);
        fs.writeSync(out, buf, 0, n);
        hash.update(buf.subarray(0, n));
        pos += n;
        left -= n;
      }
      const digest = hash.digest('hex');
      if (digest !== want.sha256) {
        throw err('target.digest_mismatch', `${urlPath} in ${this.describe} has SHA-256 ${digest}, signed ${want.sha256}`);
      }
      fs.fsyncSync(out);
    } finally {
      fs.closeSync(src);
      fs.closeSync(out);
    }
  }
}

/**
 * The time expiry is checked against under the operator's policy: `{now, cutoff}`. `value` is the setting of
 * X0X_DIST_ALLOW_EXPIRED_AFTER (undefined: no policy, `now` unchanged). Invalid values are `config.invalid`.
 */
function freshnessClock(value, now = new Date()) {
  if (value === undefined || value === '') return { now, cutoff: null };
  const t = RFC3339.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(t)) {
    throw err('config.invalid', `${POLICY_VAR}=${JSON.stringify(value)} is not an RFC 3339 time such as 2030-01-01T00:00:00Z`);
  }
  const cutoff = new Date(t);
  return { now: cutoff < now ? cutoff : now, cutoff };
}

module.exports = { BundleFile, parseHeader, freshnessClock, POLICY_VAR, TOC_NAME, FORMAT, FORMAT_VERSION };
