//! A leak-test harness for Rust test suites: call a function many times and watch every place a
//! leak can hide: the Rust heap (exact, with [`memsight::heap::CountingAlloc`]), the native heap
//! (glibc `mallinfo2`), USS, RSS, VMS, memory mappings, open file descriptors and threads.
//!
//! ```
//! #[global_allocator]
//! static ALLOC: memsight::heap::CountingAlloc = memsight::heap::CountingAlloc::system();
//!
//! // In a #[test]: a clean function passes in under 500 calls...
//! let report = memsight_leak::LeakTest::new()
//!     .check(|| drop(std::hint::black_box(String::from("hello"))))
//!     .unwrap();
//! assert!(report.passed());
//!
//! // ...and a leak of 16 bytes per call is caught, with its size.
//! let err = memsight_leak::LeakTest::new()
//!     .check(|| {
//!         Box::leak(Box::new([0u8; 16]));
//!     })
//!     .unwrap_err();
//! let rust = err.report().unwrap().metric(memsight_leak::Metric::RustHeap).unwrap();
//! assert_eq!(rust.per_call, 16.0);
//! ```
//!
//! # FFI bindings to a C library
//! The native heap is watched through glibc's own figures, so a C library needs nothing
//! installed: call it in the closure.
//!
//! ```no_run
//! mod sys {
//!     unsafe extern "C" {
//!         pub fn strdup(s: *const std::ffi::c_char) -> *mut std::ffi::c_char;
//!         pub fn free(p: *mut std::ffi::c_void);
//!     }
//! }
//!
//! #[test]
//! fn strdup_then_free_does_not_leak() {
//!     memsight_leak::LeakTest::new()
//!         .check(|| unsafe {
//!             let p = sys::strdup(c"hello".as_ptr());
//!             sys::free(p.cast());
//!         })
//!         .unwrap(); // on failure, panics with the full report
//! }
//!
//! #[test]
//! fn open_with_a_bad_path_fails_cleanly() {
//!     // psleak's execute_w_exc: every call must fail, and the error path must not leak.
//!     memsight_leak::LeakTest::new()
//!         .check_err(|| std::fs::File::open("/nonexistent"))
//!         .unwrap();
//! }
//! ```
//!
//! # Reading the report
//! A failing check's error prints like this (a C `malloc(1)` on every 10th call; glibc rounds it
//! up to a 32-byte chunk, hence +3.2 bytes per call):
//!
//! ```text
//! memory leak detected: LEAK: growth persisted in 'c_malloc_1_every_10' after 3139 calls (65 warm-up + 8 batches) in 3.1 ms
//!   * heap       +3.227 B/call (95% CI +3.203..+3.252), total +9920 B, grew in 8/8 batches
//!     rss        +2.908 B/call (95% CI +2.148..+3.667), total +8192 B, grew in 2/8 batches
//! Batch # 1: heap=+416                                          (calls= 128, avg/call=+3.25 B heap)
//! Batch # 2: heap=+448                                          (calls= 128, avg/call=+3.50 B heap)
//! ...
//! ```
//! - The first line: the verdict, the function, calls made (first call and warm-up included),
//!   batches measured, wall time.
//! - One line per metric that moved: growth per call from a least-squares fit over the batches,
//!   its 95% confidence interval, total growth and in how many batches it grew. `*` marks the
//!   metrics that made the verdict. `rust_heap` lines add blocks per call. Names: `rust_heap`
//!   (exact, [`memsight::heap::CountingAlloc`]), `heap`/`mmap` (glibc `mallinfo2`), `uss`, `rss`,
//!   `vms`, `maps`/`maps_anon` (`/proc/self/maps`), `fds`, `threads`, `children` (child
//!   processes not waited for, zombies included), and the names of any [`Probe`]s.
//! - `first call:` fds or threads the very first call opened, reported but not blamed.
//! - `note:` lines: what was not measured and why, other threads running, metrics judged by
//!   their trend because they also went down.
//! - `note: plot written to DIR/NAME.svg`: the failed check drawn, when asked with
//!   [`LeakTest::plot_dir`] or the `MEMSIGHT_LEAK_PLOT_DIR` environment variable.
//! - `Probe #` lines: the two one-call windows for fds and threads; `Batch #` lines: psleak's
//!   run table, one line per batch with every metric that changed; `avg/call` is the growth per
//!   call of the first metric that made the verdict, in its unit and named.
//!
//! - `allocated at (N live blocks, B bytes):` for a Rust-heap leak with `CountingAlloc`
//!   installed: after the verdict the function is called 32 more times with a stack recorded for
//!   every allocation ([`memsight::heap::CountingAlloc::start_tracking`]); the stacks of the blocks
//!   still live are grouped and printed without allocator and standard-library frames, e.g.
//!   `my_crate::cache::insert at src/cache.rs:48:33`.
//! - `leaking sites` for a leak on the native heap, mmap, USS, RSS or a probe (Linux): after the
//!   verdict the function runs 8 more batches with the C allocators' GOT entries pointed at
//!   memsight's hooks, and the allocation stacks whose live bytes grew with the calls are named,
//!   e.g. `+40 B/call, 1 block/call   sites_dep_alloc (sites_dep.c:8) <- site_dep (sites.c:43)`;
//!   caches that fill and stop are left out. See [`sites`] and [`Report::leak_sites`].
//!
//! An fd or thread leak names the culprits first: `* 71 -> /dev/null`, `* 19945 (worker)`.
//! A passing check returns the same [`Report`] (`Display` prints it) with the verdict
//! [`Verdict::Clean`] or [`Verdict::Bounded`].
//!
//! # How it decides
//! One first call (fds and threads it opens are reported, not blamed: lazy pools), a warm-up of
//! 64 calls, two one-call windows for fds and threads, then batches of 128 calls. Each batch is
//! bracketed by samples taken into preallocated storage, after `malloc_trim(0)`.
//! - **Pass** after 3 consecutive batches in which no exact metric grew (Rust heap, native heap,
//!   VMS, mappings, fds, threads: no noise floor), unless RSS or USS grew in every one of them.
//!   RSS and USS move in whole pages for reasons outside the function, so a single page does not
//!   hold a pass back. A function whose memory grew at first and then stopped (a cache
//!   that fills) passes with the verdict [`Verdict::Bounded`].
//! - **Leak** when a metric grew in at least 7 of the last 8 batches and the least-squares slope
//!   of its growth per call has a 95% confidence interval above zero. Batches double (to 512)
//!   after two batches in a row grew, so a filling cache gets room to show it stops.
//! - **Fds, threads and child processes**: still higher, after a goleak-style settle, in two
//!   windows in a row (a function that forks and never waits fails with
//!   [`LeakError::Unclosed`]).
//! - **Budgets**: batches shrink so that a leak cannot take more than the memory budget
//!   (256 MiB); the check stops and reports a leak when it is reached. At most 131,072 calls
//!   and 60 s of wall time ([`LeakTest::time_budget`]; progress on stderr with
//!   [`LeakTest::verbosity`]).
//!
//! # Hostile functions
//! - A function that closes descriptors it does not own (`close_range(3, ~0)`, or closes and
//!   reopens) ends the check with [`LeakError::FdClosedUnderHarness`], never an abort or a
//!   figure read from the wrong file.
//! - A forked child that returns into the harness `_exit(0)`s at once: the check goes on in
//!   the parent only.
//! - A function that captures backtraces itself or panics during the allocation-site calls
//!   still gets its report: stacks are taken as raw addresses inside the allocator and
//!   resolved afterwards, and tracking ends on every path.
//!
//! # Front ends
//! The sequence (driver), the sampling, the decision policy (pure, unit-tested on synthetic
//! batch series), attribution and the report are separate modules; a front end (a Python one,
//! say) adds its own figures through the [`Probe`] trait and gets the same verdicts, and its
//! own allocators' blocks to the allocation sites through [`sites::SiteHooks`]
//! ([`LeakTest::site_hooks`]) and [`sites::record_alloc`].
//!
//! # Threads and test runners
//! The native heap, fds, threads and RSS belong to the whole process. Run leak tests under
//! `cargo nextest` (one process per test) or with `cargo test -- --test-threads=1`. Under
//! `cargo test`'s default parallel runner, other tests allocate at the same time: use
//! [`Threads::Calling`] (Rust heap of the calling thread only, needs `CountingAlloc`). Checks in
//! one process never overlap: they take a process-wide lock.
//!
//! # Windows
//! The same checks run on Windows, with Windows figures: `heap` and `mmap` are
//! [`memsight::heap::info`]'s (busy bytes of every process heap, `HeapAlloc` and Rust's `System`
//! allocator alike; `VirtualAlloc`'d private committed bytes), `heaps` counts the process's heaps
//! (a `HeapCreate` without `HeapDestroy` is an unclosed resource, [`LeakError::Unclosed`]), `rss`
//! is the working set and `vms` the private bytes, `handles` ([`Metric::Fds`]) the open handles
//! (new ones named by type: `0x80 -> Event`, `0xcc -> File: \\?\C:\...`), `threads` and
//! `children` come from a Toolhelp snapshot. USS, `/proc/self/maps` and everything about glibc
//! (the tcache, [`disable_glibc_tcache`]) are Linux-only; nothing can close the harness's own
//! handles under it, so [`LeakError::FdClosedUnderHarness`] does not happen there.
//!
//! # glibc's tcache
//! glibc keeps up to 7 freed chunks per size class per thread in a cache that `mallinfo2` counts
//! as in use, so a leak that reuses those chunks is invisible to `heap_used`, and chunks a
//! function frees into it look like growth (psleak misses a 1040-byte chunk every 64 calls, and
//! 1 byte every 10 calls, this way). Before every sample memsight-leak fills each tcache bin of
//! the calling thread to exactly its limit (8 mallocs and frees per size class, straight to libc),
//! so the cache is in the same state at every sample and `heap_used` moves by exactly the chunks
//! the function left live. Worker threads' caches cannot be reached from outside: a leak made on
//! a long-lived worker that also frees chunks of the same size can hide up to 7 of them. To rule
//! the cache out completely, call [`disable_glibc_tcache`] first in the test (re-executes the test
//! with `GLIBC_TUNABLES=glibc.malloc.tcache_count=0`), or set that variable for the run.

#![warn(clippy::unwrap_used, clippy::expect_used)]

mod attribution;
mod driver;
mod metric;
mod plot;
mod policy;
mod proc_self;
mod report;
mod sampler;
pub mod sites;
pub mod stats;
#[cfg(not(windows))]
mod tcache;

pub use driver::LeakTest;
pub use metric::{Checkers, Metric, ProbeKind, ProbeMetric, Threads};
pub use report::{AllocationSite, Batch, LeakError, LeakReason, MetricReport, Report, Verdict};
pub use sampler::Probe;

#[cfg(not(windows))]
use std::ffi::OsString;

#[cfg(not(windows))]
/// Whether glibc's tcache is switched off for this process (`GLIBC_TUNABLES` contains
/// `glibc.malloc.tcache_count=0`).
pub fn glibc_tcache_disabled() -> bool {
    std::env::var("GLIBC_TUNABLES").is_ok_and(|t| {
        t.split(':')
            .any(|kv| kv.trim() == "glibc.malloc.tcache_count=0")
    })
}

#[cfg(not(windows))]
/// Makes sure glibc's tcache is off: if it is on, re-executes the current program with the same
/// arguments and `GLIBC_TUNABLES=glibc.malloc.tcache_count=0` added (tunables are read at start-up
/// only). Returns `Ok(())` when the tcache is already off; on success it does not return.
///
/// Meant for the first line of a leak test under cargo-nextest, which runs each test in its own
/// process with `--exact NAME`: the re-executed process runs just that test again. Under
/// `cargo test` it re-runs every selected test of the binary in the new process.
pub fn disable_glibc_tcache() -> std::io::Result<()> {
    use std::os::unix::process::CommandExt;
    if glibc_tcache_disabled() {
        return Ok(());
    }
    let mut tunables = OsString::from("glibc.malloc.tcache_count=0");
    if let Some(old) = std::env::var_os("GLIBC_TUNABLES")
        && !old.is_empty()
    {
        let mut t = old;
        t.push(":");
        t.push(&tunables);
        tunables = t;
    }
    let exe = std::env::current_exe()?;
    Err(std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env("GLIBC_TUNABLES", tunables)
        .exec())
}
