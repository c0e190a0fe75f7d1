#!/usr/bin/env node
'use strict';
// The `x0x` command of the x0x package (package.json "bin"), for what used to need an install script:
//
//   npx x0x prefetch [--if-possible] [--quiet]   resolve, verify and cache the binary for this host now (what
//                                                the first require('x0x') would otherwise do); exit 1 on
//                                                failure, or 0 with a warning under --if-possible (for a
//                                                project's own postinstall: "postinstall": "x0x prefetch --if-possible")
//   npx x0x doctor [--json]                      host, candidates, and why each platform package is or is not
//                                                installed (omitted optional dependencies, another libc,
//                                                node_modules from another OS, a release-age cooldown)
//
// The package ships no lifecycle script (npm 12, pnpm 10+, yarn 4 and Bun do not run dependencies' scripts
// by default): resolution happens at the first require('x0x'), from the platform package when the package
// manager installed it, else from X0X_DIST_URL / X0X_DIST_BUNDLE. Same settings as require('x0x').

const path = require('path');

const PKG_DIR = path.join(__dirname, '..');

function usage() {
  const lines = require('fs').readFileSync(__filename, 'utf8').split('\n').slice(2);
  return `${lines.slice(0, lines.findIndex((l) => !l.startsWith('//'))).map((l) => l.replace(/^\/\/ ?/, '')).join('\n')}\n`;
}

function prefetch(flags) {
  const { Resolver } = require('../lib/loader');
  const { formatChain } = require('../lib/errors');
  const t0 = Date.now();
  try {
    const r = new Resolver({ pkgDir: PKG_DIR, progress: process.stderr.isTTY });
    const res = r.resolve();
    if (!flags.has('--quiet')) {
      process.stderr.write(`x0x: ${res.platform} ready (${res.source}, ${Date.now() - t0} ms; cache ${r.cfg.cacheDir})\n`);
    }
    return 0;
  } catch (e) {
    if (flags.has('--if-possible')) {
      process.stderr.write(`x0x: warning: could not prefetch the binary now; it will be resolved at the first require('x0x').\n${formatChain(e)}\n`);
      return 0;
    }
    process.stderr.write(`x0x prefetch failed\n${formatChain(e)}\n`);
    return 1;
  }
}

function doctor(flags) {
  const { diagnose, render } = require('../lib/doctor');
  const report = diagnose(PKG_DIR);
  process.stdout.write(flags.has('--json') ? `${JSON.stringify(report, null, 2)}\n` : render(report));
  return report.ok ? 0 : 1;
}

function main(argv) {
  const [cmd, ...rest] = argv;
  const flags = new Set(rest);
  const known = { prefetch: ['--if-possible', '--quiet'], doctor: ['--json'] };
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(usage());
    return cmd ? 0 : 2;
  }
  if (!known[cmd]) {
    process.stderr.write(`x0x: unknown command ${JSON.stringify(cmd)} (config.invalid); next: npx x0x --help\n`);
    return 2;
  }
  for (const f of rest) {
    if (!known[cmd].includes(f)) {
      process.stderr.write(`x0x ${cmd}: unknown option ${JSON.stringify(f)} (config.invalid); next: npx x0x --help\n`);
      return 2;
    }
  }
  return cmd === 'prefetch' ? prefetch(flags) : doctor(flags);
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));

module.exports = { main };
