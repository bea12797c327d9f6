//! `disable_glibc_tcache()` re-executes the test with glibc's tcache off: then heap_used is exact
#![cfg(not(windows))] // glibc, /proc and C-library scenarios: Windows has tests/windows.rs
#![allow(unsafe_code)] // calls into the C test library
//! per batch, even for a leak that reuses chunks the function itself frees.

use crate::common;

use memsight_leak::{LeakTest, Metric};

#[test]
fn reexecuted_without_tcache_and_exact() {
    memsight_test_support::settle_harness();
    memsight_leak::disable_glibc_tcache().unwrap();
    // From here on we run in the re-executed process.
    assert!(memsight_leak::glibc_tcache_disabled());
    assert!(
        std::env::var("GLIBC_TUNABLES")
            .unwrap()
            .contains("glibc.malloc.tcache_count=0")
    );
    let c = common::clib();
    // Free one 1040-byte chunk and leak one every 64th call, plus churn of the same size: with
    // a tcache the churned chunks could stand in for leaked ones; without it every batch is exact.
    let mut i = 0u64;
    let err = LeakTest::new()
        .check(|| {
            i += 1;
            // SAFETY: the C functions take sizes and touch only what they allocate.
            unsafe {
                (c.malloc_free)(1024);
                (c.leak_every)(1024, 64);
            }
        })
        .unwrap_err();
    let r = err.report().unwrap();
    assert!(!r.tcache);
    let heap = r.metric(Metric::HeapUsed).unwrap();
    assert!((heap.per_call - 16.25).abs() < 0.01, "{err}");
    assert_eq!(heap.grew, r.batches.len());
}
