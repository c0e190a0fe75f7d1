//! What a WASM build imports (shared by `cargo xtask build`, `x0x-dist publish`, `package release` and the
//! server's publish check), read from its import section, and the rule every build must follow: the system
//! interface is `wasi_snapshot_preview1.*` only, plus `wasi.thread-spawn` in the threads flavour (what a wasi-sdk
//! build imports and what `@napi-rs/wasm-runtime` provides). The wasm32-wasip1-threads build links Wasmer's
//! wasix-libc through a shim (scripts/wasi-threads/sysroot.sh); a libc function the shim does not cover would
//! show up here as a `wasix_32v1.*` import, which no runtime our users have provides, so the build fails.
//! `env`, `napi` and `emnapi` are the Node-API ABI (emnapi) and the shared memory, provided by the glue.

use std::fmt;

/// Why a module was refused: it does not parse, or it imports what its flavour may not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WasmError(pub String);

impl fmt::Display for WasmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WasmError {}

type Result<T, E = WasmError> = std::result::Result<T, E>;

macro_rules! bail {
    ($($t:tt)*) => { return Err(WasmError(format!($($t)*))) };
}

trait Context<T> {
    fn context(self, what: &'static str) -> Result<T>;
}

impl<T> Context<T> for Option<T> {
    fn context(self, what: &'static str) -> Result<T> {
        self.ok_or_else(|| WasmError(what.to_owned()))
    }
}

/// One import: module, field, kind (`func`, `table`, `memory`, `global`, `tag`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    /// The module it is imported from (`wasi_snapshot_preview1`, `env`, ...).
    pub module: String,
    /// The field name (`fd_write`, `memory`, ...).
    pub name: String,
    /// `func`, `table`, `memory`, `global` or `tag`.
    pub kind: &'static str,
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8> {
        let v = *self.b.get(self.at).context("truncated WASM module")?;
        self.at += 1;
        Ok(v)
    }

    fn leb(&mut self) -> Result<u64> {
        let (mut v, mut shift) = (0u64, 0u32);
        loop {
            let b = self.byte()?;
            if shift > 63 {
                bail!("LEB128 too long at offset {}", self.at);
            }
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
            shift += 7;
        }
    }

    fn len(&mut self) -> Result<usize> {
        usize::try_from(self.leb()?)
            .ok()
            .context("length out of range")
    }

    fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.at.checked_add(n).context("length out of range")?;
        let s = self.b.get(self.at..end).context("truncated WASM module")?;
        self.at = end;
        Ok(s)
    }

    fn name(&mut self) -> Result<String> {
        let n = self.len()?;
        String::from_utf8(self.bytes(n)?.to_vec())
            .map_err(|_| WasmError("import name is not UTF-8".into()))
    }

    fn limits(&mut self) -> Result<()> {
        let flags = self.byte()?;
        self.leb()?;
        if flags & 1 != 0 {
            self.leb()?;
        }
        Ok(())
    }
}

/// The imports of a WASM module (binary format 1).
pub fn imports(module: &[u8]) -> Result<Vec<Import>> {
    if module.get(..8) != Some(b"\0asm\x01\0\0\0".as_slice()) {
        bail!("not a WebAssembly module (version 1)");
    }
    let mut r = Reader { b: module, at: 8 };
    while r.at < module.len() {
        let id = r.byte()?;
        let size = r.len()?;
        let body = r.bytes(size)?;
        if id != 2 {
            continue;
        }
        let mut s = Reader { b: body, at: 0 };
        let count = s.len()?;
        let mut out = Vec::with_capacity(count.min(4096));
        for _ in 0..count {
            let module = s.name()?;
            let name = s.name()?;
            let kind = match s.byte()? {
                0 => {
                    s.leb()?;
                    "func"
                }
                1 => {
                    s.byte()?;
                    s.limits()?;
                    "table"
                }
                2 => {
                    s.limits()?;
                    "memory"
                }
                3 => {
                    s.byte()?;
                    s.byte()?;
                    "global"
                }
                4 => {
                    s.byte()?;
                    s.leb()?;
                    "tag"
                }
                k => bail!("unknown import kind {k} for {module}.{name}"),
            };
            out.push(Import { module, name, kind });
        }
        return Ok(out);
    }
    Ok(Vec::new())
}

/// Checks the rule of the module doc; returns the system imports (`wasi_snapshot_preview1.fd_write`, ...), sorted.
pub fn check(module: &[u8], threads: bool) -> Result<Vec<String>> {
    let all = imports(module)?;
    let mut system = Vec::new();
    let mut bad = Vec::new();
    for i in &all {
        let full = format!("{}.{}", i.module, i.name);
        match i.module.as_str() {
            "wasi_snapshot_preview1" => system.push(full),
            "wasi" if threads && i.name == "thread-spawn" => system.push(full),
            "env" | "napi" | "emnapi" => {}
            _ => bad.push(full),
        }
    }
    if !bad.is_empty() {
        bail!(
            "imports outside wasi_snapshot_preview1{}: {} (a libc call the wasi-threads shim does not cover?)",
            if threads { " and wasi.thread-spawn" } else { "" },
            bad.join(", ")
        );
    }
    if threads && !system.iter().any(|s| s == "wasi.thread-spawn") {
        bail!("the threads build does not import wasi.thread-spawn: it cannot start a thread");
    }
    if threads && !all.iter().any(|i| i.kind == "memory") {
        bail!("the threads build does not import its (shared) memory");
    }
    system.sort();
    system.dedup();
    Ok(system)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A module importing `(module, name)` functions of type 0 and, optionally, a shared memory.
    fn module(funcs: &[(&str, &str)], memory: bool) -> Vec<u8> {
        let mut sec = Vec::new();
        let n = funcs.len() + usize::from(memory);
        sec.push(u8::try_from(n).unwrap());
        let name = |s: &str, out: &mut Vec<u8>| {
            out.push(u8::try_from(s.len()).unwrap());
            out.extend_from_slice(s.as_bytes());
        };
        for (m, f) in funcs {
            name(m, &mut sec);
            name(f, &mut sec);
            sec.extend_from_slice(&[0, 0]);
        }
        if memory {
            name("env", &mut sec);
            name("memory", &mut sec);
            sec.extend_from_slice(&[2, 3, 0x80, 0x01, 0x80, 0x80, 0x01]);
        }
        // type section: one () -> ()
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        m.extend_from_slice(&[1, 4, 1, 0x60, 0, 0]);
        m.push(2);
        m.push(u8::try_from(sec.len()).unwrap());
        m.extend_from_slice(&sec);
        m
    }

    #[test]
    fn preview1_and_thread_spawn_pass() {
        let m = module(
            &[
                ("wasi_snapshot_preview1", "fd_write"),
                ("wasi", "thread-spawn"),
                ("napi", "napi_create_object"),
            ],
            true,
        );
        assert_eq!(imports(&m).unwrap().len(), 4);
        assert_eq!(
            check(&m, true).unwrap(),
            ["wasi.thread-spawn", "wasi_snapshot_preview1.fd_write"]
        );
    }

    #[test]
    fn wasix_imports_fail() {
        let m = module(
            &[("wasi", "thread-spawn"), ("wasix_32v1", "futex_wait")],
            true,
        );
        let e = check(&m, true).unwrap_err().to_string();
        assert!(e.contains("wasix_32v1.futex_wait"), "{e}");
    }

    #[test]
    fn thread_spawn_only_in_the_threads_flavour() {
        let m = module(&[("wasi", "thread-spawn")], true);
        assert!(check(&m, false).is_err());
        let m = module(&[("wasi_snapshot_preview1", "fd_write")], true);
        assert!(check(&m, true).is_err(), "threads without thread-spawn");
        assert!(check(&m, false).is_ok());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(imports(b"nope").is_err());
        let mut m = module(&[("wasi", "thread-spawn")], false);
        m.truncate(m.len() - 3);
        assert!(imports(&m).is_err());
    }
}
