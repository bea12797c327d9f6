//! check_err, the calling-thread mode, checkers, tolerance, call budget and the report's text.
#![cfg(not(windows))] // glibc, /proc and C-library scenarios: Windows has tests/windows.rs
#![allow(unsafe_code)] // calls into the C test library

use crate::common;

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use memsight_leak::{Checkers, LeakError, LeakReason, LeakTest, Metric, Threads, Verdict};

#[test]
fn check_err_passes_a_clean_error_path() {
    memsight_test_support::settle_harness();
    let r = LeakTest::new()
        .check_err(|| "x".parse::<u32>().map_err(|e| e.to_string()))
        .unwrap();
    assert!(r.passed());
}

#[test]
fn check_err_fails_when_a_call_succeeds() {
    memsight_test_support::settle_harness();
    let mut n = 0;
    let err = LeakTest::new()
        .name("flaky")
        .check_err(|| {
            n += 1;
            if n == 10 { Ok(()) } else { Err(()) }
        })
        .unwrap_err();
    assert!(
        matches!(err, LeakError::DidNotFail { call: 10, .. }),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "'flaky' did not fail: call #10 returned Ok"
    );
}

#[test]
fn check_err_catches_a_leaky_error_path() {
    memsight_test_support::settle_harness();
    let err = LeakTest::new()
        .check_err(|| -> Result<(), String> {
            Box::leak(Box::new([0u8; 40]));
            Err("nope".to_owned())
        })
        .unwrap_err();
    let r = err.report().unwrap();
    assert_eq!(r.metric(Metric::RustHeap).unwrap().per_call, 40.0);
}

/// Another thread that allocates and leaks all the time: what `cargo test`'s parallel runner
/// looks like to a process-wide counter.
fn noisy_neighbour() -> (Arc<AtomicBool>, std::thread::JoinHandle<()>) {
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let h = std::thread::spawn(move || {
        let mut kept = Vec::new();
        while !s.load(Ordering::Relaxed) {
            kept.push(vec![0u8; 100]);
            std::thread::yield_now();
        }
        black_box(kept);
    });
    (stop, h)
}

#[test]
fn calling_thread_mode_ignores_other_threads() {
    memsight_test_support::settle_harness();
    let (stop, h) = noisy_neighbour();
    let clean = LeakTest::new()
        .threads(Threads::Calling)
        .check(|| drop(black_box(vec![1u8; 64])));
    let leaky = LeakTest::new().threads(Threads::Calling).check(|| {
        Box::leak(Box::new(7u64));
    });
    stop.store(true, Ordering::Relaxed);
    h.join().unwrap();
    let clean = clean.unwrap();
    assert_eq!(clean.verdict, Verdict::Clean, "{clean}");
    assert_eq!(clean.checked, Checkers::only(&[Metric::RustHeap]));
    let err = leaky.unwrap_err();
    let r = err.report().unwrap();
    assert_eq!(r.metric(Metric::RustHeap).unwrap().per_call, 8.0, "{err}");
}

#[test]
fn all_threads_mode_notes_other_threads() {
    memsight_test_support::settle_harness();
    let (stop, h) = noisy_neighbour();
    let out = LeakTest::new()
        .checkers(Checkers::only(&[Metric::Fds]))
        .check(|| {});
    stop.store(true, Ordering::Relaxed);
    h.join().unwrap();
    let r = out.unwrap();
    assert!(r.notes.iter().any(|n| n.contains("other threads")), "{r}");
}

#[test]
fn checkers_and_tolerance() {
    memsight_test_support::settle_harness();
    let c = common::clib();
    // 32 bytes per call in chunks: allowed by a per-batch tolerance above 512 × 32.
    // SAFETY: leak_malloc takes a size and touches only what it allocates.
    let r = LeakTest::new()
        .checkers(Checkers::only(&[Metric::HeapUsed]))
        .tolerance(Metric::HeapUsed, 512 * 32)
        .check(|| unsafe { (c.leak_malloc)(16) })
        .unwrap();
    assert_eq!(r.checked, Checkers::only(&[Metric::HeapUsed]));
    assert_eq!(r.metric(Metric::HeapUsed).unwrap().per_call, 32.0);
    // Checking only fds and threads, a memory leak is not looked at.
    let r = LeakTest::new()
        .checkers(Checkers::only(&[Metric::Fds, Metric::Threads]))
        // SAFETY: as above.
        .check(|| unsafe { (c.leak_malloc)(16) })
        .unwrap();
    assert!(r.metric(Metric::HeapUsed).is_none());
    assert!(Checkers::exclude(&[Metric::Uss]).contains(Metric::Rss));
    assert!(!Checkers::exclude(&[Metric::Uss]).contains(Metric::Uss));
}

#[test]
fn sporadic_growth_at_the_call_budget() {
    memsight_test_support::settle_harness();
    // One 64-byte block every 300 calls in fixed batches of 128: about 4 batches in 10 grow, so
    // neither 5 clean batches in a row nor 7 growing of 8 ever happen; at the call budget the
    // slope over the second half of the batches decides.
    let mut i = 0u64;
    let err = LeakTest::new()
        .call_budget(6000)
        .batch(128, 128)
        .clean_batches(5)
        .check(|| {
            i += 1;
            if i.is_multiple_of(300) {
                Box::leak(Box::new([0u8; 64]));
            }
        })
        .unwrap_err();
    let r = err.report().unwrap();
    assert_eq!(r.verdict, Verdict::Leak(LeakReason::CallBudget), "{err}");
    assert_eq!(r.calls, 6000);
    let rust = r.metric(Metric::RustHeap).unwrap();
    assert!((rust.per_call - 64.0 / 300.0).abs() < 0.03, "{err}");
}

#[test]
fn report_has_psleak_style_run_table_and_per_call_figures() {
    memsight_test_support::settle_harness();
    let err = LeakTest::new()
        .name("leaky_fn")
        .check(|| {
            Box::leak(Box::new([0u8; 16]));
        })
        .unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("memory leak detected: LEAK: growth persisted in 'leaky_fn'"));
    assert!(
        text.contains("* rust_heap  +16.000 B/call (95% CI +16.000..+16.000), +1.000 blocks/call"),
        "{text}"
    );
    let r = err.report().unwrap();
    for (i, b) in r.batches.iter().enumerate() {
        let prefix = format!("Batch #{:>2}: rust_heap=+{} | heap=+", i + 1, b.calls * 16);
        assert!(text.contains(&prefix), "{prefix}\n{text}");
        assert!(text.contains(&format!("(calls={:>4}, avg/call=+", b.calls)));
    }
    // The sign test: at least 7 of the last 8 batches grew.
    assert!(r.batches.len() >= 8);
    assert!(text.contains(&format!(
        "grew in {}/{} batches",
        r.batches.len(),
        r.batches.len()
    )));
}

#[test]
fn the_harness_does_not_measure_itself() {
    memsight_test_support::settle_harness();
    // An empty function: whatever the harness allocates, frees, maps or opens while sampling
    // would show here. Every exact metric must be exactly flat in every batch.
    let r = LeakTest::new().check(|| {}).unwrap();
    assert_eq!(r.verdict, Verdict::Clean, "{r}");
    assert_eq!(r.calls, 1 + 64 + 2 + 3 * 128);
    for m in [
        Metric::RustHeap,
        Metric::HeapUsed,
        Metric::MmapUsed,
        Metric::Vms,
        Metric::Maps,
        Metric::MapsAnon,
        Metric::Fds,
        Metric::Threads,
    ] {
        assert!(r.batches.iter().all(|b| b.delta(m) == 0), "{m}\n{r}");
    }
    assert!(r.batches.iter().all(|b| b.rust_blocks == 0));
}

#[inline(never)]
fn leaky_helper_that_allocates() {
    black_box(Box::leak(Box::new([7u8; 48])));
}

#[test]
fn rust_leak_report_names_where_it_was_allocated() {
    memsight_test_support::settle_harness();
    let err = LeakTest::new()
        .check(leaky_helper_that_allocates)
        .unwrap_err();
    let r = err.report().unwrap();
    let site = r
        .allocation_sites
        .first()
        .unwrap_or_else(|| panic!("no site\n{err}"));
    // 32 extra calls, each leaving one 48-byte block from the same stack.
    assert_eq!(site.blocks, 32, "{err}");
    assert_eq!(site.bytes, 32 * 48);
    assert!(
        site.stack[0].contains("leaky_helper_that_allocates"),
        "{:#?}\n{err}",
        site.stack
    );
    assert!(site.stack[0].contains("options.rs:"), "{:?}", site.stack);
    assert!(
        err.to_string()
            .contains("allocated at (32 live blocks, 1536 B):")
    );
    // The extra calls are not counted in `calls`.
    assert!(r.calls <= 5000);
}

/// A count that grows by one per call of the tested function, read through a Probe.
static CALLS: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

struct CallCount {
    tolerance: u64,
    prepared: Arc<std::sync::atomic::AtomicU64>,
}

impl memsight_leak::Probe for CallCount {
    fn name(&self) -> &'static str {
        "calls"
    }
    fn kind(&self) -> memsight_leak::ProbeKind {
        memsight_leak::ProbeKind::Count
    }
    fn read(&mut self) -> Result<i64, String> {
        Ok(CALLS.load(Ordering::Relaxed))
    }
    fn prepare(&mut self) {
        self.prepared.fetch_add(1, Ordering::Relaxed);
    }
    fn tolerance(&self) -> u64 {
        self.tolerance
    }
}

#[test]
fn a_probes_tolerance_and_preparation_apply() {
    memsight_test_support::settle_harness();
    // +1 per call, batches of 64: caught at tolerance 0, a pass at tolerance 64 per batch.
    let run = |tolerance| {
        let prepared = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let res = LeakTest::new()
            .checkers(Checkers::none())
            .batch(64, 64)
            .probe(CallCount {
                tolerance,
                prepared: prepared.clone(),
            })
            .check(|| {
                CALLS.fetch_add(1, Ordering::Relaxed);
            });
        (res, prepared.load(Ordering::Relaxed))
    };
    let (res, prepared) = run(0);
    let err = res.unwrap_err();
    assert!(matches!(err, LeakError::Memory(_)), "{err}");
    // Every full sample prepares first: the first call's two, two windows, 8 batches at least.
    assert!(prepared >= 12, "{prepared}");
    let (res, _) = run(64);
    assert!(res.unwrap().passed());
}
