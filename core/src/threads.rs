//! Work on threads, the same on every build: native threads, WASI threads in the wasm32-wasip1-threads build
//! (`std::thread::spawn` -> `pthread_create` -> the `wasi.thread-spawn` import -> a Node worker), and the
//! calling thread in the wasm32-wasip1 build, where threads cannot be spawned.
//!
//! Invariants:
//! - [`map_parallel`] returns the results in input order whatever the number of threads, so `signMany` gives the
//!   same bytes as calling `sign` in a loop on every build.
//! - A panic on one of its threads is an error ([`CoreError::ThreadPanicked`], `thread.panicked`), never a hang.
//!   Under WASI a panic aborts the thread (panic=abort: its worker traps) without unwinding, so nothing it owns
//!   is dropped and `join` would wait forever; the panic hook installed here first tells the waiting thread
//!   through the call's shared state, and the waiter returns the error without joining.
//! - `std::thread::available_parallelism` is `Unsupported` on WASI (no preview1 call reports the host's CPUs):
//!   [`parallelism`] is `None` there and [`map_parallel`] uses [`WASI_THREADS`] threads.

use std::cell::RefCell;
use std::num::NonZeroUsize;
use std::sync::{Arc, Condvar, Mutex, Once};
use std::thread::ThreadId;

use napi::bindgen_prelude::AsyncTask;
use napi::{Env, Task};
use napi_derive::napi;

use crate::error::CoreError;

/// Threads [`map_parallel`] uses where the platform cannot tell its parallelism (WASI): the size of the glue's
/// async work pool (`NAPI_RS_ASYNC_WORK_POOL_SIZE`, default 4).
pub const WASI_THREADS: usize = 4;

/// Stack of each spawned thread: ML-DSA-65 signing keeps ~100 KB of arrays on the stack.
const STACK: usize = 2 << 20;

/// `std::thread::available_parallelism`, `None` where the platform cannot tell (WASI).
pub fn parallelism() -> Option<NonZeroUsize> {
    std::thread::available_parallelism().ok()
}

/// What the threads of one [`map_parallel`] call share. Results travel through a Mutex + Condvar, not a channel:
/// in the threads build a channel's receiver parks the JavaScript thread with `thread::park`, and an `unpark` from
/// a WASI thread never woke it (found while building this; a Condvar waits on its own word, which works — the
/// test of `signMany` on every thread count pins it).
struct Shared<T> {
    state: Mutex<State<T>>,
    changed: Condvar,
}

struct State<T> {
    results: Vec<Option<T>>,
    finished: usize,
    panicked: Option<String>,
}

impl<T> Shared<T> {
    fn update(&self, f: impl FnOnce(&mut State<T>)) {
        let mut st = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut st);
        drop(st);
        self.changed.notify_all();
    }
}

/// Where a thread of [`map_parallel`] reports its panic (the message).
type PanicReport = Box<dyn Fn(String)>;

thread_local! {
    /// Set on the threads of [`map_parallel`]: where the panic hook reports a panic.
    static ON_PANIC: RefCell<Option<PanicReport>> = const { RefCell::new(None) };
}

fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let reported = ON_PANIC.with(|f| {
                f.borrow().as_ref().map(|report| {
                    let msg = info
                        .payload()
                        .downcast_ref::<&str>()
                        .map(|s| (*s).to_owned())
                        .or_else(|| info.payload().downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "panic".to_owned());
                    report(msg);
                })
            });
            if reported.is_none() {
                previous(info);
            }
        }));
    });
}

/// `f(0..n)` on up to `threads` spawned threads (default: the platform's parallelism), results in input order.
/// Runs on the calling thread when spawning is unsupported (wasm32-wasip1) or there is only one item.
pub fn map_parallel<T, F>(n: usize, threads: Option<usize>, f: F) -> Result<Vec<T>, CoreError>
where
    T: Send + 'static,
    F: Fn(usize) -> T + Send + Sync + 'static,
{
    let want = threads
        .unwrap_or_else(|| parallelism().map_or(WASI_THREADS, NonZeroUsize::get))
        .clamp(1, n.max(1));
    if want <= 1 {
        return Ok((0..n).map(f).collect());
    }
    install_panic_hook();
    let f = Arc::new(f);
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            results: (0..n).map(|_| None).collect(),
            finished: 0,
            panicked: None,
        }),
        changed: Condvar::new(),
    });
    let mut started = 0;
    let mut inline = Vec::new();
    for w in 0..want {
        let items: Vec<usize> = (w..n).step_by(want).collect();
        let (f, sh) = (Arc::clone(&f), Arc::clone(&shared));
        let spawned = std::thread::Builder::new()
            .name(format!("x0x-core-{w}"))
            .stack_size(STACK)
            .spawn({
                let items = items.clone();
                move || {
                    let report = Arc::clone(&sh);
                    ON_PANIC.with(|p| {
                        *p.borrow_mut() = Some(Box::new(move |m| {
                            report.update(|st| st.panicked = Some(m));
                        }));
                    });
                    let out: Vec<(usize, T)> = items.into_iter().map(|i| (i, f(i))).collect();
                    sh.update(|st| {
                        for (i, v) in out {
                            st.results[i] = Some(v);
                        }
                        st.finished += 1;
                    });
                    ON_PANIC.with(|p| p.borrow_mut().take());
                }
            });
        match spawned {
            // Detached: the results come through `shared`, and a thread that panicked cannot be joined.
            Ok(_detached) => started += 1,
            // No threads here (wasm32-wasip1: Unsupported) or none left: this thread does the share.
            Err(_) => inline.extend(items),
        }
    }
    for i in inline {
        let v = f(i);
        shared.update(|st| st.results[i] = Some(v));
    }
    let mut st = shared
        .state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    while st.finished < started && st.panicked.is_none() {
        st = shared
            .changed
            .wait(st)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
    }
    if let Some(m) = st.panicked.take() {
        return Err(CoreError::ThreadPanicked(m));
    }
    Ok(std::mem::take(&mut st.results)
        .into_iter()
        .map(|s| s.expect("every index is computed once"))
        .collect())
}

/// How this build runs work off the JavaScript thread.
#[napi(object)]
pub struct Threading {
    /// `AsyncTask` work (`signAsync`) ran on a thread other than the JavaScript thread: true natively (libuv's
    /// pool) and in the wasm32-wasip1-threads build (a WASI thread), false in wasm32-wasip1.
    pub async_off_js_thread: bool,
    /// `std::thread::spawn` started a thread (`signMany` runs in parallel): false only in wasm32-wasip1.
    pub spawn: bool,
    /// `std::thread::available_parallelism()`; absent where the platform cannot tell (WASI).
    pub parallelism: Option<u32>,
    /// Threads `signMany` uses by default.
    pub sign_many_threads: u32,
}

/// The work behind `threading()`.
pub struct ThreadingProbe {
    js_thread: ThreadId,
    panic: bool,
}

impl Task for ThreadingProbe {
    type Output = Threading;
    type JsValue = Threading;

    fn compute(&mut self) -> napi::Result<Threading> {
        let async_off_js_thread = std::thread::current().id() != self.js_thread;
        let panic = self.panic;
        let here = std::thread::current().id();
        let spawn = match map_parallel(2, Some(2), move |i| {
            assert!(!(panic && i == 1), "x0x threading probe: requested panic");
            std::thread::current().id()
        }) {
            Ok(ids) => ids.iter().any(|id| *id != here),
            Err(e) => return Err(e.into()),
        };
        let parallelism = parallelism().map(|p| u32::try_from(p.get()).unwrap_or(u32::MAX));
        let sign_many_threads = parallelism.unwrap_or(WASI_THREADS as u32);
        Ok(Threading {
            async_off_js_thread,
            spawn,
            parallelism,
            sign_many_threads,
        })
    }

    fn resolve(&mut self, _env: Env, output: Threading) -> napi::Result<Threading> {
        Ok(output)
    }
}

/// Reports where this build runs work (`x0x-dist doctor`-style diagnostics and the tests that prove the threads
/// build really uses WASI threads). `panic: true` makes the probe's second thread panic, which must reject with
/// `thread.panicked` (never hang).
#[napi(js_name = "threading", ts_return_type = "Promise<Threading>")]
pub fn threading(panic: Option<bool>) -> AsyncTask<ThreadingProbe> {
    AsyncTask::new(ThreadingProbe {
        js_thread: std::thread::current().id(),
        panic: panic.unwrap_or(false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_in_input_order_for_any_thread_count() {
        let want: Vec<usize> = (0..37).map(|i| i * i).collect();
        for threads in [None, Some(1), Some(2), Some(5), Some(64)] {
            assert_eq!(map_parallel(37, threads, |i| i * i).unwrap(), want);
        }
        assert!(map_parallel(0, Some(4), |i| i).unwrap().is_empty());
    }

    #[test]
    fn a_panicking_thread_is_an_error() {
        let e = map_parallel(8, Some(4), |i| {
            assert!(i != 5, "boom {i}");
            i
        })
        .unwrap_err();
        assert_eq!(e.code(), "thread.panicked");
        assert!(e.to_string().contains("boom 5"), "{e}");
    }
}
