//! Without `CountingAlloc` as the global allocator: Rust leaks still show through glibc's heap,
//! and the calling-thread mode refuses to run rather than see nothing.
#![cfg(not(windows))] // glibc, /proc and C-library scenarios: Windows has tests/windows.rs

// Its own binary: tests/leak installs CountingAlloc as the global allocator, which this file
// must run without.

use memsight_leak::{LeakError, LeakTest, Metric, Threads};

#[test]
fn rust_leak_caught_through_the_native_heap() {
    // The heap figure is exact to 0.1 B a call: libtest's own allocations must be done first.
    memsight_test_support::settle_harness();
    let err = LeakTest::new()
        .check(|| {
            Box::leak(Box::new([0u8; 16]));
        })
        .unwrap_err();
    let r = err.report().unwrap();
    assert!(r.metric(Metric::RustHeap).is_none());
    assert!(r.notes.iter().any(|n| n.contains("CountingAlloc")));
    assert!(
        (r.metric(Metric::HeapUsed).unwrap().per_call - 32.0).abs() < 0.1,
        "{err}"
    );
}

#[test]
fn calling_thread_mode_needs_counting_alloc() {
    let err = LeakTest::new()
        .threads(Threads::Calling)
        .check(|| {})
        .unwrap_err();
    assert!(matches!(err, LeakError::Setup(_)));
    assert!(err.to_string().contains("CountingAlloc"));
}
