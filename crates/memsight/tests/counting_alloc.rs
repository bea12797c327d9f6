//! `CountingAlloc` installed as this test binary's global allocator: exact live bytes and blocks.
//!
//! The process-wide figures are exact only while no other thread allocates, and libtest's own
//! main thread does allocate while a test runs (it records the running test in a map and
//! registers to wait for its result, 900 bytes, at a moment that depends on the scheduler: an
//! exactness test failed that way in 22 of 40 runs on a loaded machine). So this binary has no
//! libtest (`harness = false`): `main` below runs every test one after the other on the main
//! thread, and the only other threads are the ones a test starts and joins itself. It answers
//! the `--list --format terse` and `--exact NAME` calls cargo-nextest makes, so `cargo test` and
//! `cargo nextest run` both run it isolated by construction.

#[cfg(unix)]
use std::hint::black_box;

#[cfg(unix)]
use memsight::heap::CountingAlloc;

#[cfg(unix)]
#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::system();

/// Every test of this file, by name, in the order they run.
#[cfg(unix)]
const TESTS: &[(&str, fn())] = &[
    ("is_installed", is_installed),
    (
        "counts_requested_bytes_and_blocks_exactly_on_this_thread",
        counts_requested_bytes_and_blocks_exactly_on_this_thread,
    ),
    (
        "realloc_adjusts_bytes_not_blocks",
        realloc_adjusts_bytes_not_blocks,
    ),
    (
        "process_totals_include_other_threads",
        process_totals_include_other_threads,
    ),
    (
        "tracking_returns_live_allocations_with_their_stacks",
        tracking_returns_live_allocations_with_their_stacks,
    ),
    (
        "tracking_ends_when_its_guard_drops_even_on_a_panic",
        tracking_ends_when_its_guard_drops_even_on_a_panic,
    ),
    (
        "exact_under_thread_churn_and_concurrency",
        exact_under_thread_churn_and_concurrency,
    ),
    (
        "totals_stand_still_between_two_reads",
        totals_stand_still_between_two_reads,
    ),
];

// On Windows a thread's unflushed counts are lost at thread exit (no pthread-key destructor yet).
#[cfg(not(unix))]
const TESTS: &[(&str, fn())] = &[];

/// A minimal test runner: `--list` prints `NAME: test` lines (none for `--ignored`, there are no
/// ignored tests); otherwise runs the tests whose name matches the filters (`--exact`: equal,
/// else containing) on this thread, and exits 101 when one failed, as libtest does. Other
/// libtest flags (`--nocapture`, `--test-threads`, `--color`, ...) change nothing here.
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |f: &str| args.iter().any(|a| a == f);
    let (list, exact, ignored) = (flag("--list"), flag("--exact"), flag("--ignored"));
    // Flags that take a value: skip the value too.
    let mut filters = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if matches!(
            a.as_str(),
            "--format" | "--color" | "--test-threads" | "--skip" | "-Z" | "--logfile"
        ) {
            it.next();
        } else if !a.starts_with('-') {
            filters.push(a.as_str());
        }
    }
    let selected = TESTS.iter().filter(|(name, _)| {
        !ignored
            && (filters.is_empty()
                || filters
                    .iter()
                    .any(|f| if exact { name == f } else { name.contains(f) }))
    });
    if list {
        for (name, _) in selected {
            println!("{name}: test");
        }
        return;
    }
    let mut failed = Vec::new();
    let mut ran = 0;
    for (name, test) in selected {
        ran += 1;
        let ok = std::panic::catch_unwind(test).is_ok();
        println!("test {name} ... {}", if ok { "ok" } else { "FAILED" });
        if !ok {
            failed.push(*name);
        }
    }
    println!(
        "\ntest result: {}. {} passed; {} failed",
        if failed.is_empty() { "ok" } else { "FAILED" },
        ran - failed.len(),
        failed.len()
    );
    if !failed.is_empty() {
        println!("failures: {failed:?}");
        std::process::exit(101);
    }
}

#[cfg(unix)]
fn is_installed() {
    assert!(CountingAlloc::is_installed());
}

#[cfg(unix)]
fn counts_requested_bytes_and_blocks_exactly_on_this_thread() {
    let before = CountingAlloc::thread_stats();
    let a = black_box(vec![0u8; 1000]);
    let b = black_box(Box::new([0u64; 3]));
    let mid = CountingAlloc::thread_stats();
    assert_eq!(mid.live_bytes - before.live_bytes, 1000 + 24);
    assert_eq!(mid.live_blocks - before.live_blocks, 2);
    drop(a);
    drop(b);
    assert_eq!(CountingAlloc::thread_stats(), before);
}

#[cfg(unix)]
fn realloc_adjusts_bytes_not_blocks() {
    let mut v: Vec<u8> = Vec::with_capacity(10);
    black_box(&mut v);
    let before = CountingAlloc::thread_stats();
    v.reserve_exact(1000);
    let after = CountingAlloc::thread_stats();
    assert_eq!(after.live_blocks, before.live_blocks);
    assert_eq!(
        after.live_bytes - before.live_bytes,
        v.capacity() as i64 - 10
    );
}

#[cfg(unix)]
fn process_totals_include_other_threads() {
    const LEAK: i64 = 1 << 20;
    let before = CountingAlloc::stats();
    let leaked = std::thread::spawn(|| {
        let b: &'static mut [u8] = Box::leak(vec![7u8; LEAK as usize].into_boxed_slice());
        b.as_ptr() as usize
    })
    .join()
    .unwrap();
    black_box(leaked);
    let after = CountingAlloc::stats();
    // The 1 MiB block leaked on the worker thread is still live; everything else the spawn
    // allocated (thread handle, name, packet) has been freed by join, and no harness thread
    // runs beside this one (see the top of the file): exactly the block.
    assert_eq!(after.live_bytes - before.live_bytes, LEAK);
    assert_eq!(after.live_blocks - before.live_blocks, 1);
    assert!(CountingAlloc::thread_stats().live_bytes >= 0);
}

#[cfg(unix)]
fn tracking_returns_live_allocations_with_their_stacks() {
    let tracking = CountingAlloc::start_tracking(16);
    assert!(CountingAlloc::is_tracking());
    let a = black_box(Box::new([1u8; 100]));
    let b = black_box(vec![2u8; 300]);
    let c = black_box(Box::new([3u8; 7]));
    drop(b);
    let live = tracking.stop();
    assert!(!CountingAlloc::is_tracking());
    // Tracking covers every thread (none other runs here, but std may allocate lazily), so look
    // for ours by stack rather than expecting nothing else.
    let ours: Vec<&memsight::heap::TrackedAlloc> = live
        .iter()
        .filter(|t| {
            t.symbols().iter().any(|s| {
                s.function.as_deref().is_some_and(|f| {
                    f.contains("tracking_returns_live_allocations_with_their_stacks")
                })
            })
        })
        .collect();
    let mut sizes: Vec<usize> = ours.iter().map(|t| t.size).collect();
    sizes.sort_unstable();
    assert_eq!(sizes, vec![7, 100], "the freed 300-byte block must be gone");
    drop((a, c));
}

#[cfg(unix)]
fn tracking_ends_when_its_guard_drops_even_on_a_panic() {
    let r = std::panic::catch_unwind(|| {
        let _tracking = CountingAlloc::start_tracking(16);
        black_box(Box::new(1u8));
        panic!("the function under test panicked");
    });
    assert!(r.is_err());
    assert!(
        !CountingAlloc::is_tracking(),
        "tracking must end on unwinding"
    );
    // Allocations after it ended are not recorded: a new session starts empty.
    let d = black_box(Box::new(5u64));
    let live = CountingAlloc::start_tracking(16).stop();
    assert!(live.iter().all(|t| t.size != 8 || t.frames().is_empty()));
    drop(d);
}

#[cfg(unix)]
fn exact_under_thread_churn_and_concurrency() {
    // 100 generations of 4 concurrent threads (400 threads, far more than the 63 owned shards:
    // shards are handed back at thread exit and reused), each churning and leaking one block.
    let before = CountingAlloc::stats();
    let mut leaked = Vec::new();
    for _ in 0..100 {
        let hs: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(|| {
                    for i in 0..1000u32 {
                        black_box(vec![i as u8; (i % 200) as usize + 1]);
                    }
                    Box::leak(Box::new([9u8; 40])).as_ptr() as usize
                })
            })
            .collect();
        for h in hs {
            leaked.push(h.join().unwrap());
        }
    }
    let after = CountingAlloc::stats();
    let vec_bytes = (leaked.capacity() * std::mem::size_of::<usize>()) as i64;
    assert_eq!(after.live_bytes - before.live_bytes, 400 * 40 + vec_bytes);
    assert_eq!(after.live_blocks - before.live_blocks, 400 + 1);
}

/// The runner's own state stays out of the window: a test that reads the totals twice around
/// nothing sees no change, however long the scheduler keeps it between the reads (libtest's
/// main thread made this 900 bytes when it was scheduled in between).
#[cfg(unix)]
fn totals_stand_still_between_two_reads() {
    for _ in 0..200 {
        let before = CountingAlloc::stats();
        std::thread::yield_now();
        std::thread::sleep(std::time::Duration::from_micros(50));
        assert_eq!(CountingAlloc::stats(), before);
    }
}
