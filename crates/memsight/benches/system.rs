//! `virtual_memory()` per call against its floor (open + read /proc/meminfo into a reused buffer,
//! parsing nothing), measured in interleaved rounds so that both see the same machine load.
//!
//! Run: `cargo bench -p memsight --bench system` (scripts/bench-system.sh adds psutil).

use std::fs::File;
use std::hint::black_box;
use std::io::Read;
use std::time::Instant;

const CALLS: u32 = 2_000;
const ROUNDS: usize = 25;

fn floor(buf: &mut Vec<u8>) {
    buf.clear();
    let mut file = File::open("/proc/meminfo").expect("open /proc/meminfo");
    let mut chunk = [0u8; 4096];
    loop {
        let n = file.read(&mut chunk).expect("read /proc/meminfo");
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    black_box(&buf);
}

/// Nanoseconds per call of `f`, over `CALLS` calls.
fn per_call(mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..CALLS {
        f();
    }
    start.elapsed().as_nanos() as f64 / f64::from(CALLS)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; test runners that list or run every target get nothing.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let mut buf = Vec::with_capacity(8192);
    let (mut floors, mut ours, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let f = per_call(|| floor(&mut buf));
        let o = per_call(|| {
            black_box(memsight::virtual_memory().expect("virtual_memory"));
        });
        floors.push(f);
        ours.push(o);
        ratios.push(o / f);
    }
    let (floor_ns, ours_ns, ratio) = (median(floors), median(ours), median(ratios));
    println!(
        "floor (open+read /proc/meminfo)   {:>8.0} ns/call",
        floor_ns
    );
    println!("memsight::virtual_memory()        {:>8.0} ns/call", ours_ns);
    println!(
        "ratio virtual_memory / floor      {ratio:>8.2}x (median of {ROUNDS} interleaved rounds)"
    );
}
