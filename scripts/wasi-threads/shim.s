	.functype	__wasi_thread_start_C (i32, i32) -> ()
	.functype	__wasm_init_tls (i32) -> ()
	.functype	__wasi_proc_exit (i32) -> ()
	.globaltype	__stack_pointer, i32

	.tagtype	__wasix_shim_thread_exit_tag
	.hidden	__wasix_shim_thread_exit_tag
	.globl	__wasix_shim_thread_exit_tag
__wasix_shim_thread_exit_tag:

# Same as wasi-libc's/wasix-libc's wasi_thread_start, plus a catch for thread_exit's throw.
	.section	.text.wasi_thread_start,"",@
	.hidden	wasi_thread_start
	.globl	wasi_thread_start
	.export_name	wasi_thread_start, wasi_thread_start
	.type	wasi_thread_start,@function
wasi_thread_start:
	.functype	wasi_thread_start (i32, i32) -> ()
	local.get	1
	i32.load	0
	global.set	__stack_pointer
	local.get	1
	i32.load	4
	call	__wasm_init_tls
	try
	local.get	0
	local.get	1
	call	__wasi_thread_start_C
	catch	__wasix_shim_thread_exit_tag
	end_try
	end_function

# thread_exit(code): called last by pthread_exit (joiners already woken); unwind to wasi_thread_start
	.section	.text.__imported_wasix_32v1_thread_exit,"",@
	.globl	__imported_wasix_32v1_thread_exit
	.type	__imported_wasix_32v1_thread_exit,@function
__imported_wasix_32v1_thread_exit:
	.functype	__imported_wasix_32v1_thread_exit (i32) -> ()
	throw	__wasix_shim_thread_exit_tag
	end_function

# futex_wait(addr, expected, const option<u64 ns>* timeout, u8* woken) -> errno; woken=0 only on timeout
	.section	.text.__imported_wasix_32v1_futex_wait,"",@
	.globl	__imported_wasix_32v1_futex_wait
	.type	__imported_wasix_32v1_futex_wait,@function
__imported_wasix_32v1_futex_wait:
	.functype	__imported_wasix_32v1_futex_wait (i32, i32, i32, i32) -> (i32)
	.local	i64
	i64.const	-1
	local.set	4
	block
	local.get	2
	i32.eqz
	br_if	0
	local.get	2
	i32.load8_u	0
	i32.const	1
	i32.ne
	br_if	0
	local.get	2
	i64.load	8
	local.set	4
	end_block
	local.get	3
	local.get	0
	local.get	1
	local.get	4
	memory.atomic.wait32	0
	i32.const	2
	i32.ne
	i32.store8	0
	i32.const	0
	end_function

# futex_wake(addr, u8* woken) -> errno
	.section	.text.__imported_wasix_32v1_futex_wake,"",@
	.globl	__imported_wasix_32v1_futex_wake
	.type	__imported_wasix_32v1_futex_wake,@function
__imported_wasix_32v1_futex_wake:
	.functype	__imported_wasix_32v1_futex_wake (i32, i32) -> (i32)
	local.get	1
	local.get	0
	i32.const	1
	memory.atomic.notify	0
	i32.const	0
	i32.ne
	i32.store8	0
	i32.const	0
	end_function

# futex_wake_all(addr, u8* woken) -> errno
	.section	.text.__imported_wasix_32v1_futex_wake_all,"",@
	.globl	__imported_wasix_32v1_futex_wake_all
	.type	__imported_wasix_32v1_futex_wake_all,@function
__imported_wasix_32v1_futex_wake_all:
	.functype	__imported_wasix_32v1_futex_wake_all (i32, i32) -> (i32)
	local.get	1
	local.get	0
	i32.const	-1
	memory.atomic.notify	0
	i32.const	0
	i32.ne
	i32.store8	0
	i32.const	0
	end_function

# thread_sleep(ns) -> errno: wait on a word nobody notifies
	.section	.text.__imported_wasix_32v1_thread_sleep,"",@
	.globl	__imported_wasix_32v1_thread_sleep
	.type	__imported_wasix_32v1_thread_sleep,@function
__imported_wasix_32v1_thread_sleep:
	.functype	__imported_wasix_32v1_thread_sleep (i64) -> (i32)
	i32.const	__wasix_shim_sleep_word
	i32.const	0
	local.get	0
	memory.atomic.wait32	0
	drop
	i32.const	0
	end_function

# proc_exit2(code) -> wasi_snapshot_preview1.proc_exit(code)
	.section	.text.__imported_wasix_32v1_proc_exit2,"",@
	.globl	__imported_wasix_32v1_proc_exit2
	.type	__imported_wasix_32v1_proc_exit2,@function
__imported_wasix_32v1_proc_exit2:
	.functype	__imported_wasix_32v1_proc_exit2 (i32) -> ()
	local.get	0
	call	__wasi_proc_exit
	end_function

# No equivalent on a wasi-threads host: ENOTSUP (58) / no-op.
	.section	.text.__imported_wasix_32v1_thread_parallelism,"",@
	.globl	__imported_wasix_32v1_thread_parallelism
	.type	__imported_wasix_32v1_thread_parallelism,@function
__imported_wasix_32v1_thread_parallelism:
	.functype	__imported_wasix_32v1_thread_parallelism (i32) -> (i32)
	i32.const	58
	end_function

# thread_signal(tid, sig): abort() raises SIGABRT (6) -> trap, like upstream wasi-libc's abort; others ENOTSUP
	.section	.text.__imported_wasix_32v1_thread_signal,"",@
	.globl	__imported_wasix_32v1_thread_signal
	.type	__imported_wasix_32v1_thread_signal,@function
__imported_wasix_32v1_thread_signal:
	.functype	__imported_wasix_32v1_thread_signal (i32, i32) -> (i32)
	local.get	1
	i32.const	6
	i32.eq
	if
	unreachable
	end_if
	i32.const	58
	end_function

# wasix-libc's clockid_t is an int (CLOCK_REALTIME 0, CLOCK_MONOTONIC 1); upstream wasi-libc's, and so Rust's
# libc crate's, is a pointer to a struct holding that id (&_CLOCK_REALTIME, which wasix-libc still defines
# with the id inside). The linker wrapper passes --wrap for these three; a value >= 256 is such a pointer.
	.functype	__real_clock_gettime (i32, i32) -> (i32)
	.section	.text.__wrap_clock_gettime,"",@
	.globl	__wrap_clock_gettime
	.type	__wrap_clock_gettime,@function
__wrap_clock_gettime:
	.functype	__wrap_clock_gettime (i32, i32) -> (i32)
	local.get	0
	i32.const	256
	i32.ge_u
	if
	local.get	0
	i32.load	0
	local.set	0
	end_if
	local.get	0
	local.get	1
	call	__real_clock_gettime
	end_function

	.functype	__real_clock_getres (i32, i32) -> (i32)
	.section	.text.__wrap_clock_getres,"",@
	.globl	__wrap_clock_getres
	.type	__wrap_clock_getres,@function
__wrap_clock_getres:
	.functype	__wrap_clock_getres (i32, i32) -> (i32)
	local.get	0
	i32.const	256
	i32.ge_u
	if
	local.get	0
	i32.load	0
	local.set	0
	end_if
	local.get	0
	local.get	1
	call	__real_clock_getres
	end_function

	.functype	__real_clock_nanosleep (i32, i32, i32, i32) -> (i32)
	.section	.text.__wrap_clock_nanosleep,"",@
	.globl	__wrap_clock_nanosleep
	.type	__wrap_clock_nanosleep,@function
__wrap_clock_nanosleep:
	.functype	__wrap_clock_nanosleep (i32, i32, i32, i32) -> (i32)
	local.get	0
	i32.const	256
	i32.ge_u
	if
	local.get	0
	i32.load	0
	local.set	0
	end_if
	local.get	0
	local.get	1
	local.get	2
	local.get	3
	call	__real_clock_nanosleep
	end_function

# getcwd(buf, size_t* len) -> errno: "/" like upstream wasi-libc's default cwd; ERANGE (68) if len < 2
	.section	.text.__imported_wasix_32v1_getcwd,"",@
	.globl	__imported_wasix_32v1_getcwd
	.type	__imported_wasix_32v1_getcwd,@function
__imported_wasix_32v1_getcwd:
	.functype	__imported_wasix_32v1_getcwd (i32, i32) -> (i32)
	local.get	1
	i32.load	0
	i32.const	2
	i32.lt_u
	if
	local.get	1
	i32.const	2
	i32.store	0
	i32.const	68
	return
	end_if
	local.get	0
	i32.const	47
	i32.store16	0
	i32.const	0
	end_function

# path_open2(fd, dirflags, path, path_len, oflags, rights, rights_inh, fdflags, fdflagsext, fd*) -> errno:
# (the slash-stripping) preview1 path_open without fdflagsext (close-on-exec means nothing here). wasix-libc asks for rights a
# preview1 host may not have granted (Node/uvwasi answers ENOTCAPABLE), so both rights masks are cut down
# to the directory's inheriting rights, as upstream wasi-libc does.
	.functype	__imported_wasi_snapshot_preview1_path_open (i32, i32, i32, i32, i32, i64, i64, i32, i32) -> (i32)
	.functype	__wasix_shim_fd_fdstat_get (i32, i32) -> (i32)
	.import_module	__wasix_shim_fd_fdstat_get, wasi_snapshot_preview1
	.import_name	__wasix_shim_fd_fdstat_get, fd_fdstat_get
	.section	.text.__imported_wasix_32v1_path_open2,"",@
	.globl	__imported_wasix_32v1_path_open2
	.type	__imported_wasix_32v1_path_open2,@function
__imported_wasix_32v1_path_open2:
	.functype	__imported_wasix_32v1_path_open2 (i32, i32, i32, i32, i32, i64, i64, i32, i32, i32) -> (i32)
	.local	i32, i64
	global.get	__stack_pointer
	i32.const	32
	i32.sub
	local.tee	10
	global.set	__stack_pointer
	i64.const	-1
	local.set	11
	local.get	0
	local.get	10
	call	__wasix_shim_fd_fdstat_get
	i32.eqz
	if
	local.get	10
	i64.load	16
	local.set	11
	end_if
	local.get	10
	i32.const	32
	i32.add
	global.set	__stack_pointer
	local.get	0
	local.get	1
	local.get	2
	local.get	3
	local.get	4
	local.get	5
	local.get	11
	i64.and
	local.get	6
	local.get	11
	i64.and
	local.get	7
	local.get	9
	call	__imported_wasi_snapshot_preview1_path_open
	end_function

	.section	.text.__imported_wasix_32v1_callback_signal,"",@
	.globl	__imported_wasix_32v1_callback_signal
	.type	__imported_wasix_32v1_callback_signal,@function
__imported_wasix_32v1_callback_signal:
	.functype	__imported_wasix_32v1_callback_signal (i32, i32) -> ()
	end_function

	.section	.bss.__wasix_shim_sleep_word,"",@
	.p2align	2
__wasix_shim_sleep_word:
	.int32	0
	.size	__wasix_shim_sleep_word, 4
