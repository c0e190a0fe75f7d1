'use strict';
// The loader's single error type. Every failure carries a stable machine `code` shared with the Rust crates
// (manifests/ is the source of truth for metadata.* and target.* codes; see docs/loader.md for the list), a
// message naming the subject, and the underlying failure in `cause` (never repeated in the message).

/**
 * The codes this loader raises: a subset of the project-wide table in manifests/src/codes.rs (the single
 * source of truth, rendered to docs/error-codes.md). test/config.test.js fails if one is missing there.
 */
const CODES = {
  'metadata.malformed': 'metadata is not valid JSON or does not match the TUF 1.0 schema',
  'metadata.too_large': 'metadata is larger than the size limit for its role',
  'metadata.wrong_type': 'the `_type` of the metadata is not the expected role',
  'metadata.spec_version': 'the metadata spec_version is not a supported TUF 1.x version',
  'metadata.signature_invalid': 'a signature by an authorized key does not verify and the threshold is not met',
  'metadata.threshold_not_met': 'fewer distinct authorized keys than the threshold signed',
  'metadata.expired': 'metadata is past its expiry date',
  'metadata.rollback': 'metadata version is lower than the trusted one',
  'metadata.version_mismatch': 'metadata version differs from the version its referrer pins',
  'metadata.digest_mismatch': 'metadata hash differs from what its referrer pins',
  'metadata.length_mismatch': 'metadata length differs from what its referrer pins',
  'metadata.missing_role': 'a role that must be listed is missing',
  'metadata.delegation_invalid': 'a delegation is malformed',
  'metadata.key_invalid': 'a key is malformed or of an unsupported type',
  'target.digest_mismatch': 'bytes do not match the signed SHA-256',
  'target.length_mismatch': 'byte count differs from the signed length',
  'target.path_invalid': 'target path is not a safe relative path',
  'target.not_found': 'no verified metadata lists this target',
  'platform.unknown': 'no platform in the table matches',
  'repo.not_found': 'the repository has no such metadata file',
  'io.error': 'a local file operation failed',
  'network.unreachable': 'the repository or proxy could not be reached (or timed out)',
  'network.http_status': 'the server answered with an unexpected HTTP status',
  'network.timeout': 'a download did not complete within its total deadline (X0X_DIST_DEADLINE_MS)',
  'bundle.invalid': 'a bundle file is malformed or its contents do not match its metadata',
  'loader.no_candidate': 'no candidate binary could be resolved, verified and loaded',
  'loader.load_failed': 'a verified binary failed to load or does not fit this host',
  'loader.offline': 'a fetch was needed but network access is disabled',
  'loader.revoked': 'the release is revoked (signed revocations role): it is not loaded, even from the cache',
  'loader.too_young': 'the release is younger than X0X_DIST_MIN_RELEASE_AGE (its signed publish time): not loaded until it becomes eligible',
  'loader.provenance': 'the release lacks signed provenance matching X0X_DIST_REQUIRE_PROVENANCE: not loaded, even from the cache',
  'release.yanked': 'the release is yanked: loaded only because this install pins it (a warning)',
  'cache.corrupt': 'a cached file no longer matches its verified hash',
  'cache.insecure': 'the cache directory (or a parent) is writable by another user or not owned by this one',
  'cache.foreign_symlink': 'a component of the cache directory\'s path is a symbolic link owned by another user (neither this one nor root)',
  'loader.permission_denied': "Node's permission model forbids a step the loader needs (the message names the flag)",
  'config.invalid': 'a setting has an invalid value',
  internal: 'an unexpected internal error',
};

class X0xDistError extends Error {
  /**
   * @param {string} code stable machine code (a key of CODES)
   * @param {string} message names the subject; the cause goes into `cause`
   * @param {{cause?: unknown, [k: string]: unknown}} [extra]
   */
  constructor(code, message, extra = {}) {
    const { cause, ...rest } = extra;
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'X0xDistError';
    this.code = code;
    Object.assign(this, rest);
  }
}

function err(code, message, extra) {
  if (!Object.prototype.hasOwnProperty.call(CODES, code)) throw new Error(`internal: unknown error code ${code}`);
  return new X0xDistError(code, message, extra);
}

/** Render an error and its `cause` chain, one line each (what the CLI-ish entry points print). */
function formatChain(e) {
  const lines = [];
  let cur = e;
  let depth = 0;
  while (cur && depth < 20) {
    const code = cur.code ? `[${cur.code}] ` : '';
    lines.push(`${'  '.repeat(depth)}${depth ? 'caused by: ' : ''}${code}${cur.message || String(cur)}`);
    if (Array.isArray(cur.candidates)) {
      for (const c of cur.candidates) {
        lines.push(`${'  '.repeat(depth + 1)}- ${c.name}: ${c.reason}`);
      }
    }
    cur = cur.cause;
    depth += 1;
  }
  return lines.join('\n');
}

module.exports = { CODES, X0xDistError, err, formatChain };
