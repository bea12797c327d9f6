//! A wall-clock budget, progress output, child processes counted as a
//! resource, and a forked child that returns into the harness exits instead of running the
//! rest of the check.
#![cfg(not(windows))] // glibc, /proc and C-library scenarios: Windows has tests/windows.rs
#![allow(unsafe_code)] // fork, waitpid, _exit: the scenarios' own syscalls

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use memsight_leak::{LeakError, LeakTest, Metric};

#[test]
fn time_budget_bounds_a_slow_function() {
    memsight_test_support::settle_harness();
    let start = Instant::now();
    let r = LeakTest::new()
        .time_budget(Duration::from_secs(1))
        .check(|| std::thread::sleep(Duration::from_millis(40)))
        .unwrap();
    // 40 ms a call would be ~20 s for the default schedule's 500 calls. The margin over the 1 s
    // budget is wide because the report's own steps (settle, attribution) run after it, and
    // this machine may be loaded; what is pinned is that the budget, not the schedule, ends it.
    assert!(start.elapsed() < Duration::from_secs(10), "{r}");
    assert!(r.passed());
    assert!(r.calls < 60, "{r}");
    assert!(r.notes.iter().any(|n| n.contains("time budget")), "{r}");
}

#[test]
fn progress_lines_at_verbosity_1() {
    memsight_test_support::settle_harness();
    if memsight_test_support::is_rerun_child() {
        LeakTest::new()
            .name("quiet_fn")
            .verbosity(1)
            .check(|| drop(std::hint::black_box(vec![0u8; 8])))
            .unwrap();
        return;
    }
    let out = memsight_test_support::rerun(
        &memsight_test_support::test_path(module_path!(), "progress_lines_at_verbosity_1"),
        &[],
        Duration::from_secs(60),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("memsight-leak: quiet_fn: first call: 1 calls"),
        "{stderr}"
    );
    assert!(
        stderr.contains("memsight-leak: quiet_fn: warm-up done: 65 calls"),
        "{stderr}"
    );
    assert!(
        stderr.contains("memsight-leak: quiet_fn: batch: 195 calls"),
        "{stderr}"
    );
}

#[test]
fn fork_without_wait_is_an_unclosed_child() {
    memsight_test_support::settle_harness();
    let err = LeakTest::new()
        .name("fork_no_wait")
        .check(|| {
            // SAFETY: the scenario: fork; the child exits at once, the parent never waits.
            if unsafe { libc::fork() } == 0 {
                unsafe { libc::_exit(0) };
            }
        })
        .unwrap_err();
    let LeakError::Unclosed {
        metric,
        count,
        items,
        ..
    } = &err
    else {
        panic!("expected unclosed children: {err}");
    };
    assert_eq!(*metric, Metric::Children);
    assert!(*count >= 2, "{err}");
    // The newest child may not have exited yet on a loaded machine (the settle re-reads only
    // the counts, within about 1.5 ms); the older ones have.
    assert!(items.iter().any(|i| i.ends_with(" zombie")), "{err}");
    assert!(err.to_string().contains("unclosed children"), "{err}");
    assert!(err.report().unwrap().calls < 100, "{err}");
}

#[test]
fn forked_child_returning_into_the_harness_exits() {
    memsight_test_support::settle_harness();
    static WAITED: AtomicU64 = AtomicU64::new(0);
    static BAD: AtomicU64 = AtomicU64::new(0);
    let start = Instant::now();
    let r = LeakTest::new()
        .name("fork_child_returns")
        .check(|| {
            // SAFETY: the scenario: fork and let the child return into the harness; the parent
            // waits for it, so nothing leaks if the harness ends the child at once.
            let pid = unsafe { libc::fork() };
            if pid > 0 {
                let mut status = 0;
                // SAFETY: waits for the child just forked.
                unsafe { libc::waitpid(pid, &mut status, 0) };
                WAITED.fetch_add(1, Ordering::Relaxed);
                if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
                    BAD.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(r.passed());
    assert_eq!(WAITED.load(Ordering::Relaxed), r.calls);
    assert_eq!(BAD.load(Ordering::Relaxed), 0);
    // Had the children run the rest of the check, each wait would take a whole check's time.
    assert!(start.elapsed() < Duration::from_secs(30), "{r}");
}
