'use strict';
// Every setting the x0x JavaScript loader reads, in one place.
//
// Each setting is read from the environment (`X0X_DIST_URL`) or, when absent, from the npm config that npm
// passes to lifecycle scripts as `npm_config_<key>` (`x0x_dist_url=...` in `.npmrc`). The README's table is
// checked against `SETTINGS` by test/config.test.js; add a row there when adding one here.


/** @type {Record<string, {doc: string, npm?: boolean}>} */
const SETTINGS = {
  X0X_DIST_URL: {
    doc: 'TUF repository to fetch from: an http(s) server root (`/tuf/metadata/...` below it) or a `file://` directory.',
  },
  X0X_DIST_BUNDLE: { doc: 'An air-gapped bundle file (produced by `x0x-dist bundle export`) to install from.' },
  X0X_DIST_CACHE: {
    doc: 'Cache directory. Default: `$XDG_CACHE_HOME/x0x-dist`, `~/Library/Caches/x0x-dist` or `%LOCALAPPDATA%\\x0x-dist`.',
  },
  X0X_DIST_OFFLINE: { doc: '`1`: never use the network (cache, installed platform package, bundle, file:// only).' },
  X0X_DIST_ROOT: { doc: 'A trusted root.json replacing the one shipped in the package (private repositories).' },
  X0X_NATIVE_PATH: { doc: 'An explicit binary (.node or .wasm); still checked against the signed hashes.' },
  X0X_FORCE_WASM: { doc: '`1`: load the WASM build even if a native one fits; `error`: never fall back to WASM.' },
  X0X_WASM_FLAVOR: {
    doc: '`threads` (wasm32-wasip1-threads) or `wasip1` (wasm32-wasip1): load that WASM flavour only. Default: threads where shared `WebAssembly.Memory` works, else wasip1.',
  },
  NAPI_RS_FORCE_WASI: {
    doc: "napi-rs's variable, honoured when `X0X_FORCE_WASM` is unset: `1`/`true` WASM first (native after), `error` WASM only; other values ignored (as napi-rs does).",
  },
  NAPI_RS_WASI_FLAVOR: {
    doc: "napi-rs's variable, honoured when `X0X_WASM_FLAVOR` is unset: `wasm32-wasi` (napi-rs's name for the threads flavour) or `wasm32-wasip1`.",
  },
  X0X_DIST_VERIFY: {
    doc: '`always`: re-hash cached binaries and re-verify metadata on every require (default: trust the cache stamp).',
  },
  X0X_DIST_TIMEOUT_MS: { doc: 'Per-request network inactivity timeout in milliseconds (default 30000).' },
  X0X_DIST_DEADLINE_MS: {
    doc: 'Total time one download may take, every retry included, in milliseconds (default 30000 for a metadata file; a target gets as much again per 4 MiB). A `require()` waits at most for the sum of the deadlines of its downloads, then fails with `network.timeout`.',
  },
  X0X_DIST_RETRIES: { doc: 'Network retries per request, with exponential backoff (default 3).' },
  X0X_DIST_DEBUG: { doc: '`1`: print the resolution trace (host, candidates, sources) to stderr.' },
  X0X_DIST_REVOCATION_INTERVAL: {
    doc: 'Seconds between two checks of the signed revocations role by a warm `require` (default 3600; `0`: every require). A revoked release is refused even from the cache; offline, the last verified revocations hold until they expire (docs/loader.md).',
  },
  X0X_DIST_MIN_RELEASE_AGE: {
    doc: 'Minimum release age: a release whose signed publish time (`custom.published`) is younger is not loaded (`loader.too_young`, naming when it becomes eligible); seconds, or a number with `s`, `m`, `h` or `d` (default off; the Rust loader\'s `fetch --version RANGE` skips such releases).',
  },
  X0X_DIST_REQUIRE_PROVENANCE: {
    doc: 'Required provenance: `ISSUER` or `ISSUER|REPOSITORY` (e.g. `https://token.actions.githubusercontent.com|x0x-org/x0x`). A release whose target lacks signed provenance (`custom.provenance`, recorded by the server for a trusted-publishing release it signs online) from that OIDC issuer (and `repository`/`project_path` claim) is refused with `loader.provenance`, even from a warm cache (default off; the Rust loader\'s `fetch --version RANGE` skips such releases).',
  },
  X0X_DIST_ALLOW_EXPIRED_AFTER: {
    doc: 'Operator expiry policy for air-gapped installs (RFC 3339 time): online/bundle metadata is checked for expiry at that time when it is earlier than now (lib/bundle.js; same variable as the Rust loader).',
  },
};

const DEFAULTS = {
  TIMEOUT_MS: 30000,
  /** X0X_DIST_DEADLINE_MS: one metadata file, every attempt included; targets scale it (targetDeadlineMs). */
  DEADLINE_MS: 30000,
  /**
   * How many metadata deadlines one run of the fetch worker is given for its TUF update (a root probe,
   * timestamp, snapshot, targets and the package's role): the run's budget is this many X0X_DIST_DEADLINE_MS,
   * plus the target's deadline when it downloads one (lib/loader.js runWorker).
   */
  METADATA_DEADLINES: 5,
  /** Beyond its budget, what a fetch worker gets to start node and exit before it is killed. */
  WORKER_GRACE_MS: 10000,
  RETRIES: 3,
  /** Lock files older than this (and not refreshed by a live holder) are stale. */
  LOCK_STALE_MS: 30000,
  /** How long a process waits for another one's download before giving up. */
  LOCK_WAIT_MS: 300000,
  /** Upper bounds for metadata downloads when the referrer gives no length (TUF 5.2 / 5.3.1). */
  MAX_ROOT_BYTES: 512000,
  MAX_TIMESTAMP_BYTES: 16384,
  MAX_METADATA_BYTES: 8000000,
  /** Maximum root rotations followed in one update (python-tuf's default). */
  MAX_ROOT_ROTATIONS: 256,
  MAX_DELEGATIONS: 32,
  /** X0X_DIST_REVOCATION_INTERVAL, in seconds (lib/hot.js checkDue applies the same default). */
  REVOCATION_INTERVAL_S: 3600,
};

/** A target's deadline: X0X_DIST_DEADLINE_MS, and as much again per 4 MiB of its signed length. */
function targetDeadlineMs(deadlineMs, length) {
  return deadlineMs + Math.ceil((deadlineMs * length) / (4 << 20));
}

// setting() and defaultCacheDir() live in lib/hot.js (the packed index.js inlines it for the warm path).
const { setting, defaultCacheDir, cacheDirOf, wasmModeOf } = require('./hot');

function invalid(name, value, expected) {
  const { err } = require('./errors');
  return err('config.invalid', `${name}=${JSON.stringify(value)} is not ${expected} (docs/loader.md lists every setting)`);
}

function intSetting(name, env, dflt) {
  const v = setting(name, env);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n)) throw invalid(name, v, 'a whole number');
  return n;
}

/** A minimum release age in seconds (`3600`, `90s`, `30m`, `12h`, `7d`; 0 or unset: off), as loader/src/env.rs. */
function ageSetting(name, env) {
  const v = setting(name, env);
  if (v === undefined || v.trim() === '') return 0;
  const m = /^(\d{1,12})([smhd]?)$/.exec(v.trim());
  if (!m) throw invalid(name, v, 'an age (seconds, or a number with s, m, h or d)');
  return Number(m[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2]];
}

/** X0X_DIST_REQUIRE_PROVENANCE, parsed (lib/provenance.js); null: off. Required only when set (warm path). */
function provenanceSetting(env) {
  const v = setting('X0X_DIST_REQUIRE_PROVENANCE', env);
  if (v === undefined || v.trim() === '') return null;
  return require('./provenance').parse(v);
}

function forceWasmSetting(env) {
  const mode = wasmModeOf(env);
  if (mode === null) {
    const flavor = setting('X0X_WASM_FLAVOR', env) || env.NAPI_RS_WASI_FLAVOR;
    if (flavor && wasmModeOf({ X0X_WASM_FLAVOR: flavor }) === null) {
      throw invalid(setting('X0X_WASM_FLAVOR', env) ? 'X0X_WASM_FLAVOR' : 'NAPI_RS_WASI_FLAVOR', flavor, 'threads, wasip1, wasm32-wasip1-threads, wasm32-wasi or wasm32-wasip1');
    }
    if (flavor && wasmModeOf({ X0X_FORCE_WASM: setting('X0X_FORCE_WASM', env) }) === 'forbid') {
      throw invalid('X0X_FORCE_WASM', 'error', `compatible with a WASM flavour (${flavor}) being chosen`);
    }
    throw invalid('X0X_FORCE_WASM', setting('X0X_FORCE_WASM', env), '1 (WASM only), error (never WASM) or 0');
  }
  return mode;
}

/** The resolved configuration: one object passed everywhere (no other module reads process.env). */
function readConfig(env = process.env) {
  return {
    url: setting('X0X_DIST_URL', env),
    bundle: setting('X0X_DIST_BUNDLE', env),
    cacheDir: cacheDirOf(env),
    offline: ['1', 'true', 'yes'].includes((setting('X0X_DIST_OFFLINE', env) || '').toLowerCase()),
    rootPath: setting('X0X_DIST_ROOT', env),
    nativePath: setting('X0X_NATIVE_PATH', env),
    forceWasm: forceWasmSetting(env),
    verifyAlways: (setting('X0X_DIST_VERIFY', env) || '').toLowerCase() === 'always',
    timeoutMs: intSetting('X0X_DIST_TIMEOUT_MS', env, DEFAULTS.TIMEOUT_MS),
    deadlineMs: intSetting('X0X_DIST_DEADLINE_MS', env, DEFAULTS.DEADLINE_MS),
    retries: intSetting('X0X_DIST_RETRIES', env, DEFAULTS.RETRIES),
    debug: setting('X0X_DIST_DEBUG', env) === '1',
    revocationIntervalS: intSetting('X0X_DIST_REVOCATION_INTERVAL', env, DEFAULTS.REVOCATION_INTERVAL_S),
    minReleaseAgeS: ageSetting('X0X_DIST_MIN_RELEASE_AGE', env),
    requireProvenance: provenanceSetting(env),
  };
}

module.exports = { SETTINGS, DEFAULTS, setting, readConfig, defaultCacheDir, targetDeadlineMs };
