//! `CountingAlloc` installed as this test binary's global allocator: exact live bytes and blocks.
// On Windows a thread's unflushed counts are lost at thread exit (no pthread-key destructor yet).
#![cfg(unix)]

use std::hint::black_box;

use memsight::heap::CountingAlloc;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::system();

#[test]
fn is_installed() {
    assert!(CountingAlloc::is_installed());
}

#[test]
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

#[test]
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

#[test]
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
    // allocated (thread handle, name, packet) has been freed by join. The totals are the whole
    // process's, so the test runner's own thread may have a few hundred bytes live meanwhile
    // (seen once: 900 bytes): allow 16 KiB of them, far less than the block that must show.
    let bytes = after.live_bytes - before.live_bytes;
    assert!((LEAK..LEAK + (16 << 10)).contains(&bytes), "{bytes} bytes");
    let blocks = after.live_blocks - before.live_blocks;
    assert!((1..=16).contains(&blocks), "{blocks} blocks");
    assert!(CountingAlloc::thread_stats().live_bytes >= 0);
}

#[test]
fn tracking_returns_live_allocations_with_their_stacks() {
    let tracking = CountingAlloc::start_tracking(16);
    assert!(CountingAlloc::is_tracking());
    let a = black_box(Box::new([1u8; 100]));
    let b = black_box(vec![2u8; 300]);
    let c = black_box(Box::new([3u8; 7]));
    drop(b);
    let live = tracking.stop();
    assert!(!CountingAlloc::is_tracking());
    // Tracking covers every thread: the test runner's main thread may allocate meanwhile, so
    // look for ours by size and stack rather than expecting nothing else.
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

#[test]
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

#[test]
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
