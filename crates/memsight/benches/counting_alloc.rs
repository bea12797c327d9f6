//! What `CountingAlloc` adds to an allocation: alloc+free pairs of 64 bytes through
//! `std::alloc::System` and through `CountingAlloc::system()`, side by side in one run
//! (interleaved rounds, best of 21 rounds of 1M pairs each), on 1 thread and on 2 threads at once.
//!
//! `cargo bench -p memsight --bench counting_alloc`
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::time::Instant;

use memsight::heap::CountingAlloc;

const PAIRS: u64 = 1_000_000;
const ROUNDS: usize = 21;

fn pairs<A: GlobalAlloc>(a: &A, n: u64) -> f64 {
    let layout = Layout::from_size_align(64, 8).unwrap();
    let t = Instant::now();
    for _ in 0..n {
        // SAFETY: non-zero layout; the block is freed with the same layout.
        unsafe {
            let p = black_box(a.alloc(layout));
            a.dealloc(p, layout);
        }
    }
    t.elapsed().as_secs_f64() * 1e9 / n as f64
}

fn threaded<A: GlobalAlloc + Sync>(a: &A, threads: usize) -> f64 {
    std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads).map(|_| s.spawn(|| pairs(a, PAIRS))).collect();
        hs.into_iter().map(|h| h.join().unwrap()).sum::<f64>() / threads as f64
    })
}

fn main() {
    // `cargo bench` passes `--bench`; test runners that list or run every target get nothing.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    static SYSTEM: System = System;
    static COUNTING: CountingAlloc = CountingAlloc::system();
    for threads in [1usize, 2] {
        let (mut sys, mut cnt) = (f64::MAX, f64::MAX);
        for _ in 0..ROUNDS {
            sys = sys.min(threaded(&SYSTEM, threads));
            cnt = cnt.min(threaded(&COUNTING, threads));
        }
        println!(
            "{threads} thread(s): System {sys:.2} ns/pair, CountingAlloc {cnt:.2} ns/pair, \
             +{:.2} ns ({:.2}x)",
            cnt - sys,
            cnt / sys
        );
    }
}
