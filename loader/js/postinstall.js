'use strict';
// postinstall: prefetch and verify the binary for this host into the cache, so the first require() is warm.
// Never fails the install: on any error it prints a warning and exits 0; resolution then happens at the
// first require() (pnpm's blocked build scripts and --ignore-scripts skip this file altogether, same result).

const { Resolver } = require('./lib/loader');
const { formatChain } = require('./lib/errors');

function main() {
  if (process.env.X0X_SKIP_POSTINSTALL === '1') return;
  const t0 = Date.now();
  try {
    const r = new Resolver({ pkgDir: __dirname, progress: process.stderr.isTTY });
    const res = r.resolve();
    process.stderr.write(`x0x: ${res.platform} ready (${res.source}, ${Date.now() - t0} ms)\n`);
  } catch (e) {
    process.stderr.write(
      `x0x: warning: could not prefetch the binary now; it will be resolved at the first require('x0x').\n${formatChain(e)}\n`,
    );
  }
}

main();
process.exitCode = 0;
