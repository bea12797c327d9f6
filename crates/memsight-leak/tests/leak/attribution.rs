//! The allocation-site phase after a leak verdict never hangs, and tracking
//! ends on every path. Each scenario runs under a watchdog: a deadlock fails the test instead
//! of hanging the suite.
#![cfg(not(windows))] // glibc, /proc and C-library scenarios: Windows has tests/windows.rs

use std::backtrace::Backtrace;
use std::hint::black_box;
use std::sync::mpsc;
use std::time::Duration;

use memsight::heap::CountingAlloc;
use memsight_leak::{LeakError, LeakTest, Metric, Report};

const WATCHDOG: Duration = Duration::from_secs(120);

/// Runs `f` on a thread and waits at most WATCHDOG for it.
fn within_watchdog<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(WATCHDOG)
        .unwrap_or_else(|_| panic!("{what}: no report after {WATCHDOG:?} (deadlock)"))
}

fn memory_report(err: LeakError) -> Report {
    match err {
        LeakError::Memory(r) => *r,
        other => panic!("expected a memory leak, got {other}"),
    }
}

#[test]
fn leaked_error_that_captures_a_backtrace_is_reported_not_deadlocked() {
    memsight_test_support::settle_harness();
    // An anyhow::Error-like value: it captures a backtrace when made, and is leaked.
    let r = within_watchdog("leaked backtrace", || {
        LeakTest::new().name("leaked_error").check(|| {
            let e: &'static Backtrace = Box::leak(Box::new(Backtrace::force_capture()));
            black_box(e);
        })
    });
    let r = memory_report(r.expect_err("a leak"));
    assert!(r.metric(Metric::RustHeap).unwrap().leaking, "{r}");
    assert!(!r.allocation_sites.is_empty(), "{r}");
    assert!(!CountingAlloc::is_tracking());
}

/// Leaks 16 bytes per call and panics on every call made while allocation tracking is on, i.e.
/// in the attribution phase after the verdict.
fn leaks_then_panics_in_attribution() -> Result<Report, LeakError> {
    LeakTest::new()
        .name("panics_in_attribution")
        .warmup(0)
        .batch(1, 1)
        .check(|| {
            black_box(Box::leak(Box::new([0u8; 16])));
            if CountingAlloc::is_tracking() {
                panic!("the function under test panicked while tracked");
            }
        })
}

fn assert_report_after_a_panic(res: Result<Report, LeakError>) {
    let r = memory_report(res.expect_err("a leak"));
    assert!(r.metric(Metric::RustHeap).unwrap().leaking, "{r}");
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("call 1 of the attribution calls panicked")),
        "{r}"
    );
    assert!(!CountingAlloc::is_tracking(), "tracking must end");
}

#[test]
fn panic_during_attribution_returns_the_report_and_ends_tracking() {
    memsight_test_support::settle_harness();
    let res = within_watchdog("panic in attribution", leaks_then_panics_in_attribution);
    assert_report_after_a_panic(res);
    // Allocations from here on are not tracked (no 50x slowdown): a new session starts empty
    // and sees only what happens inside it.
    let v = black_box(vec![0u8; 100]);
    assert!(!CountingAlloc::is_tracking());
    drop(v);
}

#[test]
fn panic_with_rust_backtrace_during_attribution_returns_the_report() {
    memsight_test_support::settle_harness();
    if memsight_test_support::is_rerun_child() {
        // In the child, RUST_BACKTRACE=1: the panic hook captures and prints a backtrace while
        // the allocator is tracking.
        assert_report_after_a_panic(leaks_then_panics_in_attribution());
        return;
    }
    let out = memsight_test_support::rerun(
        &memsight_test_support::test_path(
            module_path!(),
            "panic_with_rust_backtrace_during_attribution_returns_the_report",
        ),
        &[("RUST_BACKTRACE", "1")],
        WATCHDOG,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed:\n{stderr}");
    // The panic's backtrace was printed (the case that used to deadlock).
    assert!(stderr.contains("stack backtrace"), "{stderr}");
}
