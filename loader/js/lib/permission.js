'use strict';
// Node's permission model (`node --permission`, `--experimental-permission` on Node 20): what this process may
// do that the loader needs. Under the model, without `--allow-addons` a native addon cannot be loaded
// (process.dlopen throws ERR_DLOPEN_DISABLED), without `--allow-wasi` the WASM build cannot run (node:wasi
// throws ERR_ACCESS_DENIED), without `--allow-child-process` the fetch worker cannot start. The resolver
// skips native candidates when addons are denied (the WASM build takes over, no flag needed for that), and
// every error names the exact flag that would allow the step that failed.
//
// Off the warm path: only the resolver (lib/loader.js) and `x0x doctor` read it.

/** The flag a user passes to allow each capability. */
const FLAGS = { addons: '--allow-addons', wasi: '--allow-wasi', child: '--allow-child-process', fsRead: '--allow-fs-read' };

/** The scope names process.permission.has() knows for each capability (they differ between Node versions). */
const SCOPES = { addons: ['addon'], wasi: ['wasi'], child: ['child'], fsRead: ['fs.read'] };

function flagGiven(flag, execArgv, nodeOptions) {
  const words = [...execArgv, ...String(nodeOptions || '').split(/\s+/)];
  return words.some((w) => w === flag || w.startsWith(`${flag}=`));
}

/**
 * {enabled, addons, wasi, child}: whether the permission model is on, and for each capability whether it is
 * allowed. `proc`: test seam (defaults to the real process).
 */
function permissionState(proc = process) {
  const perm = proc.permission;
  const execArgv = proc.execArgv || [];
  const nodeOptions = proc.env && proc.env.NODE_OPTIONS;
  const enabled =
    Boolean(perm && typeof perm.has === 'function') &&
    (flagGiven('--permission', execArgv, nodeOptions) || flagGiven('--experimental-permission', execArgv, nodeOptions) || perm.has('fs.write') === false || probeDenied(perm));
  const state = { enabled, addons: true, wasi: true, child: true };
  if (!enabled) return state;
  for (const cap of ['addons', 'wasi', 'child']) {
    let answer;
    for (const scope of SCOPES[cap]) {
      try {
        answer = perm.has(scope);
        break;
      } catch {
        /* a scope this Node does not know: judge by the flags */
      }
    }
    state[cap] = answer === undefined ? flagGiven(FLAGS[cap], execArgv, nodeOptions) : Boolean(answer);
  }
  return state;
}

/** Some scope is denied: the model is on (process.permission exists only then on Node 20-22, always on some later ones). */
function probeDenied(perm) {
  for (const s of ['child', 'worker', 'fs.read']) {
    try {
      if (perm.has(s) === false) return true;
    } catch {
      /* unknown scope */
    }
  }
  return false;
}

/** Whether an error is the permission model's refusal (ERR_ACCESS_DENIED, ERR_DLOPEN_DISABLED), anywhere in its cause chain. */
function isDenied(e) {
  for (let cur = e, i = 0; cur && i < 8; cur = cur.cause, i += 1) {
    if (cur.code === 'ERR_ACCESS_DENIED' || cur.code === 'ERR_DLOPEN_DISABLED') return true;
  }
  return false;
}

module.exports = { FLAGS, permissionState, isDenied };
