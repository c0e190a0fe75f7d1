'use strict';
// Why the platform package for this host is (not) installed, from the evidence on disk. Used by the cold
// error of lib/loader.js and by `npx x0x doctor` (lib/doctor.js); requires neither.
//
// A missing `@<scope>/core-<platform>` has a handful of real causes; each is named with its evidence and its fix:
//   wrong-libc     a package for this os/arch but the other libc is installed (npm --libc, installed on Alpine)
//   other-host     only packages for other os/arch are installed: node_modules made on another machine, copied
//   omitted        the lockfile resolved it but it is not on disk (--omit=optional, --no-optional,
//                  npm_config_omit=optional, pnpm's `optionalDependencies: false` in node_modules/.modules.yaml)
//   cooldown       a release-age gate is configured (pnpm `minimumReleaseAge`, npm `min-release-age`, yarn
//                  `npmMinimalAgeGate`, bun `minimumReleaseAge`): it holds back a fresh platform package
//   not-installed  none of the above seen: install it explicitly
// Read-only, Node built-ins only; off the require() path (only the cold error and `x0x doctor` load it).

const fs = require('fs');
const path = require('path');

function readText(p) {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch {
    return null;
  }
}

/** The project directory: the parent of the outermost node_modules above pkgDir (pnpm's .pnpm store included). */
function projectDir(pkgDir) {
  const parts = path.resolve(pkgDir).split(path.sep);
  const i = parts.indexOf('node_modules');
  return i > 0 ? parts.slice(0, i).join(path.sep) || path.sep : null;
}

/** Platform packages installed next to x0x (npm's flat tree, pnpm's virtual store, a nested node_modules). */
function installedPlatformPackages(pkgDir, scope) {
  const found = new Set();
  const dirs = [path.join(pkgDir, '..', `@${scope}`), path.join(pkgDir, 'node_modules', `@${scope}`)];
  const proj = projectDir(pkgDir);
  if (proj) dirs.push(path.join(proj, 'node_modules', `@${scope}`));
  for (const d of dirs) {
    let names = [];
    try {
      names = fs.readdirSync(d);
    } catch {
      /* none there */
    }
    for (const n of names) if (n.startsWith('core-')) found.add(n.slice(5));
  }
  if (proj) {
    let names = [];
    try {
      names = fs.readdirSync(path.join(proj, 'node_modules', '.pnpm'));
    } catch {
      /* not pnpm */
    }
    const re = new RegExp(`^@${scope}\\+core-(.+?)@`);
    for (const n of names) {
      const m = re.exec(n);
      if (m) found.add(m[1]);
    }
  }
  return [...found].sort();
}

/** Release-age gates configured for the project or the user, as `file: setting`. */
function cooldowns(proj, env = process.env) {
  const out = [];
  const home = env.HOME || env.USERPROFILE;
  const files = [
    [proj && path.join(proj, 'pnpm-workspace.yaml'), /^\s*minimumReleaseAge\s*:\s*(\S+)/m, 'pnpm minimumReleaseAge'],
    [proj && path.join(proj, '.npmrc'), /^\s*(?:minimum-release-age|min-release-age)\s*=\s*(\S+)/m, 'minimum-release-age'],
    [home && path.join(home, '.npmrc'), /^\s*(?:minimum-release-age|min-release-age)\s*=\s*(\S+)/m, 'minimum-release-age'],
    [proj && path.join(proj, '.yarnrc.yml'), /^\s*npmMinimalAgeGate\s*:\s*(\S+)/m, 'yarn npmMinimalAgeGate'],
    [proj && path.join(proj, 'bunfig.toml'), /^\s*minimumReleaseAge\s*=\s*(\S+)/m, 'bun minimumReleaseAge'],
  ];
  for (const [file, re, what] of files) {
    const m = file && re.exec(readText(file) || '');
    if (m) out.push(`${what} = ${m[1]} (${file})`);
  }
  for (const k of ['npm_config_minimum_release_age', 'npm_config_min_release_age']) {
    if (env[k]) out.push(`${k}=${env[k]}`);
  }
  return out;
}

/** Whether the project's lockfile resolved `name` although it is not installed (optional dependencies omitted). */
function omittedEvidence(proj, name, env = process.env) {
  const ev = [];
  if (/(^|[\s,])optional($|[\s,])/.test(env.npm_config_omit || '')) ev.push(`npm_config_omit=${env.npm_config_omit}`);
  if (!proj) return ev;
  const lock = readText(path.join(proj, 'package-lock.json'));
  if (lock && lock.includes(`"node_modules/${name}"`)) ev.push(`package-lock.json resolves ${name}, node_modules lacks it`);
  const modules = readText(path.join(proj, 'node_modules', '.modules.yaml'));
  if (modules && /optionalDependencies:\s*false/.test(modules)) ev.push('node_modules/.modules.yaml: pnpm installed with optionalDependencies excluded');
  const yarn = readText(path.join(proj, 'yarn.lock'));
  if (yarn && yarn.includes(`"${name}@`)) ev.push(`yarn.lock resolves ${name}, it is not installed`);
  return ev;
}

/**
 * Why the native platform package `wanted` (e.g. 'linux-x64-gnu') is not installed:
 * {cause, evidence: [...], next}. `host`: lib/host detection; `rows`: the platform table.
 */
function platformPackageCause({ pkgDir, scope, pkg, version, wanted, host, rows, env = process.env }) {
  const name = `@${scope}/core-${wanted}`;
  const proj = projectDir(pkgDir);
  const installed = installedPlatformPackages(pkgDir, scope).filter((p) => p !== wanted);
  const byName = new Map(rows.map((r) => [r.name, r]));
  const sameMachine = installed.filter((p) => {
    const r = byName.get(p);
    return r && r.kind === 'native' && r.os === host.platform && r.arch === host.arch;
  });
  const others = installed.filter((p) => {
    const r = byName.get(p);
    return r && r.kind === 'native' && (r.os !== host.platform || r.arch !== host.arch);
  });
  if (sameMachine.length) {
    return {
      cause: 'wrong-libc',
      evidence: [`installed: ${sameMachine.map((p) => `@${scope}/core-${p}`).join(', ')}; this host is ${wanted} (libc ${host.libc || 'none'})`],
      next: `the install was made for another C library (npm --libc / npm_config_libc, or on Alpine): reinstall on this host, or npm install ${name}@${version}`,
    };
  }
  if (others.length) {
    return {
      cause: 'other-host',
      evidence: [`installed: ${others.map((p) => `@${scope}/core-${p}`).join(', ')}; this host is ${wanted}`],
      next: `node_modules was installed on another OS/CPU and copied here: run the install (npm ci, pnpm install, yarn, bun install) on this host, or list both platforms (pnpm supportedArchitectures, yarn supportedArchitectures)`,
    };
  }
  const omitted = omittedEvidence(proj, name, env);
  if (omitted.length) {
    return {
      cause: 'omitted',
      evidence: omitted,
      next: `optional dependencies were left out (--omit=optional, --no-optional): reinstall with them, or npm install ${name}@${version}`,
    };
  }
  const gates = cooldowns(proj, env);
  if (gates.length) {
    return {
      cause: 'cooldown',
      evidence: gates,
      next: `a release-age cooldown holds back fresh versions: exempt the x0x packages (pnpm minimumReleaseAgeExclude: ['${pkg}', '@${scope}/*']) or install again once ${pkg} ${version} is old enough`,
    };
  }
  return {
    cause: 'not-installed',
    evidence: [`no @${scope}/core-* package next to ${pkgDir}`],
    next: `npm install ${name}@${version} (pnpm add / yarn add / bun add), or set X0X_DIST_URL / X0X_DIST_BUNDLE`,
  };
}

module.exports = { platformPackageCause };
