'use strict';
// Host detection: what this Node process can load.
//
// os/arch from process.platform/arch. On Linux the C library is decided by two pieces of evidence:
// `process.report.getReport().header.glibcVersionRuntime` (set only when Node runs on glibc, and the glibc
// version actually mapped) and the ELF interpreter (PT_INTERP) of process.execPath (`ld-musl-*` → musl,
// `ld-linux*` → glibc). No hard-coded /usr/bin/ldd. getReport costs a few ms, so it runs only on the cold
// path; the warm path re-checks the identity of node and its interpreter with two stat calls instead.

const fs = require('fs');

/** Parse "2.36" / "2.2.5" into [2, 36] etc.; null if not a version. */
function parseVersion(s) {
  if (typeof s !== 'string' || !/^\d+(\.\d+){1,3}$/.test(s)) return null;
  return s.split('.').map(Number);
}
function cmpVersion(a, b) {
  const x = parseVersion(a);
  const y = parseVersion(b);
  for (let i = 0; i < Math.max(x.length, y.length); i += 1) {
    const d = (x[i] || 0) - (y[i] || 0);
    if (d) return d < 0 ? -1 : 1;
  }
  return 0;
}

/** The PT_INTERP string of an ELF file, or null (not ELF, static, unreadable). */
function elfInterpreter(file) {
  let fd;
  try {
    fd = fs.openSync(file, 'r');
    const head = Buffer.alloc(64);
    if (fs.readSync(fd, head, 0, 64, 0) < 52 || head.readUInt32BE(0) !== 0x7f454c46) return null;
    const is64 = head[4] === 2;
    const le = head[5] === 1;
    const u16 = (b, o) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
    const u32 = (b, o) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
    const uN = (b, o) => (is64 ? Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o)) : u32(b, o));
    const phoff = uN(head, is64 ? 32 : 28);
    const phentsize = u16(head, is64 ? 54 : 42);
    const phnum = u16(head, is64 ? 56 : 44);
    if (phnum > 256 || phentsize < (is64 ? 56 : 32)) return null;
    const ph = Buffer.alloc(phentsize * phnum);
    fs.readSync(fd, ph, 0, ph.length, phoff);
    for (let i = 0; i < phnum; i += 1) {
      const o = i * phentsize;
      if (u32(ph, o) !== 3) continue; // PT_INTERP
      const off = uN(ph, o + (is64 ? 8 : 4));
      const size = uN(ph, o + (is64 ? 32 : 16));
      if (size > 4096) return null;
      const s = Buffer.alloc(size);
      fs.readSync(fd, s, 0, size, off);
      return s.toString('latin1').replace(/\0.*$/s, '');
    }
    return null;
  } catch {
    return null;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** libc family from an interpreter path. */
function libcFromInterpreter(interp) {
  if (!interp) return null;
  const base = interp.split('/').pop();
  if (base.startsWith('ld-musl')) return 'musl';
  if (base.startsWith('ld-linux') || base.startsWith('ld64.so') || base.startsWith('ld.so')) return 'gnu';
  return null;
}

/**
 * libc family from the libraries mapped into this process (/proc/self/maps): the evidence left when node was
 * started through an explicit loader (`ld-musl-x86_64.so.1 node ...`), where process.execPath is the loader
 * itself and has no PT_INTERP.
 */
function libcFromMaps(maps) {
  let text = maps;
  if (text === undefined) {
    try {
      text = fs.readFileSync('/proc/self/maps', 'latin1');
    } catch {
      return null;
    }
  }
  if (/ld-musl-[^/\s]*\.so|-linux-musl\/libc\.so|\/libc\.musl-/.test(text)) return 'musl';
  if (/\/libc\.so\.6\b|\/ld-linux[^/\s]*\.so/.test(text)) return 'gnu';
  return null;
}

/**
 * Detect the host.
 * @param {{platform?: string, arch?: string, glibc?: string|null, interpreter?: string|null, maps?: string}} [override]
 *   test seam: replaces the corresponding evidence
 */
function detectHost(override = {}) {
  const platform = override.platform || process.platform;
  const arch = override.arch || process.arch;
  const host = { platform, arch, libc: null, glibc: null, interpreter: null, evidence: [] };
  if (platform === 'linux') {
    let glibc = override.glibc;
    if (glibc === undefined) {
      try {
        const header = process.report.getReport().header;
        glibc = header.glibcVersionRuntime || null;
      } catch {
        glibc = null;
      }
    }
    const interp = override.interpreter !== undefined ? override.interpreter : elfInterpreter(process.execPath);
    host.interpreter = interp;
    const fromInterp = libcFromInterpreter(interp);
    if (glibc) host.evidence.push(`process.report glibcVersionRuntime=${glibc}`);
    if (interp) host.evidence.push(`PT_INTERP of ${process.execPath}: ${interp}`);
    if (glibc && fromInterp !== 'musl') {
      host.libc = 'gnu';
      host.glibc = glibc;
    } else if (fromInterp) host.libc = fromInterp;
    else if (glibc) {
      host.libc = 'gnu';
      host.glibc = glibc;
    } else {
      const fromMaps = override.maps !== undefined ? libcFromMaps(override.maps) : libcFromMaps();
      if (fromMaps) {
        host.libc = fromMaps;
        host.evidence.push(`/proc/self/maps: ${fromMaps} libc mapped`);
      }
    }
  }
  // wasm32-wasip1-threads needs a shared WebAssembly.Memory backed by a SharedArrayBuffer (the glue creates one
  // and hands it to every WASI thread's worker). The reason goes into the debug trace and `doctor`.
  try {
    host.wasmThreads = false;
    if (typeof SharedArrayBuffer !== 'function') host.wasmThreadsReason = 'SharedArrayBuffer is not available';
    else if (!(new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }).buffer instanceof SharedArrayBuffer)) {
      host.wasmThreadsReason = 'WebAssembly.Memory({ shared: true }) is not a SharedArrayBuffer';
    } else {
      host.wasmThreads = true;
      host.wasmThreadsReason = 'shared WebAssembly.Memory (SharedArrayBuffer) works';
    }
  } catch (e) {
    host.wasmThreads = false;
    host.wasmThreadsReason = `no shared WebAssembly.Memory: ${e && e.message}`;
  }
  return host;
}

function describeHost(h) {
  const libc = h.libc ? `-${h.libc}${h.glibc ? ` (glibc ${h.glibc})` : ''}` : '';
  return `${h.platform}-${h.arch}${libc}, node ${process.version}`;
}

/**
 * Candidates in preference order: the exact native platform(s), then wasm32-wasip1-threads (where shared
 * memory works), then wasm32-wasip1. `force` (lib/hot.js `wasmModeOf`): 'auto' | 'force' (WASM only) |
 * 'forbid' (native only) | 'prefer' (WASM, then native) | 'force-threads' | 'force-wasip1' (that flavour only).
 */
function rankCandidates(host, rows, force = 'auto') {
  const native = rows.filter(
    (p) => p.kind === 'native' && p.os === host.platform && p.arch === host.arch && (p.libc || null) === (host.libc || null),
  );
  const wasm = rows.filter((p) => p.kind === 'wasm' && (!p.threads || host.wasmThreads));
  wasm.sort((a, b) => Number(Boolean(b.threads)) - Number(Boolean(a.threads)));
  if (force === 'force') return wasm;
  if (force === 'force-threads') return wasm.filter((p) => p.threads);
  if (force === 'force-wasip1') return wasm.filter((p) => !p.threads);
  if (force === 'forbid') return native;
  if (force === 'prefer') return [...wasm, ...native];
  return [...native, ...wasm];
}

/** Which WASM flavour the host can run and why (the debug trace and `doctor`). */
function describeWasm(h) {
  return h.wasmThreads
    ? `wasm32-wasip1-threads preferred over wasm32-wasip1 (${h.wasmThreadsReason})`
    : `wasm32-wasip1 only, not wasm32-wasip1-threads (${h.wasmThreadsReason || 'no shared memory'})`;
}

/** The glibc floor a target's signed `custom` declares (null when none / not glibc). */
function glibcFloor(custom) {
  if (!custom || typeof custom !== 'object') return null;
  for (const k of ['glibc_floor', 'glibc', 'min_glibc', 'glibc_min', 'glibc_version']) {
    if (typeof custom[k] === 'string' && parseVersion(custom[k].replace(/^GLIBC_/, ''))) return custom[k].replace(/^GLIBC_/, '');
  }
  return null;
}

module.exports = {
  detectHost,
  describeHost,
  describeWasm,
  rankCandidates,
  glibcFloor,
  elfInterpreter,
  libcFromInterpreter,
  libcFromMaps,
  parseVersion,
  cmpVersion,
};
