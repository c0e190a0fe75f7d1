'use strict';
// require('x0x'): the warm path (lib/warm.js) when a verified record still matches, else the full resolver
// (lib/loader.js). The only module that requires both, so that neither requires the other.

const { context, tryWarm } = require('./warm');

/** Loads the core for the package at pkgDir. `release`: {pkg, version, scope} if known (packed index.js). */
function load(pkgDir, release = null) {
  const ctx = context(pkgDir, process.env, release);
  const log = ctx.cfg.debug ? (m) => process.stderr.write(`x0x-loader: ${m}\n`) : undefined;
  const warm = tryWarm(ctx, { log });
  if (warm) return warm.exports;
  const { Resolver } = require('./loader');
  return new Resolver({ pkgDir, ctx, skipWarm: true }).resolve().exports;
}

module.exports = { load };
