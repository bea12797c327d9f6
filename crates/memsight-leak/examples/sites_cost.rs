//! What naming allocation sites costs after a leak verdict: the same leaking check with the
//! attribution phase on and off (extra calls, extra wall time), and the slowdown of an
//! allocation-heavy call while recorded (GOT hooks + a stack walk per allocation).
//!
//! `cargo run --release -p memsight-leak --example sites_cost` (Linux). Prints one line per
//! figure; BENCHMARKS.md records a run.
#![allow(unsafe_code)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use memsight_leak::{LeakTest, sites};

/// One malloc of 64 bytes kept, and `churn` malloc/free pairs, through this program's GOT.
fn leaky(churn: usize) -> impl FnMut() {
    move || {
        // SAFETY: plain libc allocation; the 64-byte block is leaked on purpose.
        unsafe {
            let p = libc::malloc(64);
            black_box(p);
            for _ in 0..churn {
                let q = libc::malloc(48);
                black_box(q);
                libc::free(q);
            }
        }
    }
}

fn run(churn: usize, on: bool) -> (Duration, u64, u64, f64) {
    let t = Instant::now();
    let err = LeakTest::new()
        .name("sites_cost")
        .sites(on)
        .check(leaky(churn))
        .expect_err("a leak");
    let elapsed = t.elapsed();
    let r = err.report().expect("a report");
    let site_calls = r.leak_sites.first().map_or(0, |s| s.calls);
    let per_call = r.leak_sites.first().map_or(0.0, |s| s.bytes_per_call);
    (elapsed, r.calls, site_calls, per_call)
}

/// Mean time of one call of `f`, over `n` calls.
fn per_call(n: u32, mut f: impl FnMut()) -> Duration {
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    t.elapsed() / n
}

fn main() {
    if let Some(why) = sites::unsupported() {
        println!("{why}");
        return;
    }
    for churn in [0usize, 100] {
        // Warm both paths once (debug info pages, lazily bound symbols).
        let _ = run(churn, true);
        let mut off = Vec::new();
        let mut on = Vec::new();
        for _ in 0..5 {
            off.push(run(churn, false));
            on.push(run(churn, true));
        }
        let median = |v: &mut Vec<(Duration, u64, u64, f64)>| {
            v.sort_by_key(|r| r.0);
            v[v.len() / 2]
        };
        let (t_off, calls, _, _) = median(&mut off);
        let (t_on, _, site_calls, bpc) = median(&mut on);
        println!(
            "churn {churn:>3}: verdict {calls} calls in {:.1} ms; with sites {:.1} ms \
             (+{:.1} ms, +{site_calls} calls), site +{bpc} B/call",
            t_off.as_secs_f64() * 1e3,
            t_on.as_secs_f64() * 1e3,
            (t_on.as_secs_f64() - t_off.as_secs_f64()) * 1e3
        );
    }
    // The slowdown while recorded: one call with 100 malloc/free pairs, measured inside the
    // attribution phase (recording) and outside it.
    let (mut outside, mut inside) = (Duration::ZERO, Duration::ZERO);
    let (mut n_out, mut n_in) = (0u32, 0u32);
    let mut f = leaky(100);
    let _ = LeakTest::new().name("slowdown").check(|| {
        let d = per_call(1, &mut f);
        if sites::is_recording() {
            inside += d;
            n_in += 1;
        } else {
            outside += d;
            n_out += 1;
        }
    });
    let plain = per_call(20_000, leaky(100));
    println!(
        "101 allocations a call: {:.2} us plain, recorded {:.2} us a call over the phase \
         (the verdict's calls averaged {:.2} us)",
        plain.as_secs_f64() * 1e6,
        inside.as_secs_f64() * 1e6 / f64::from(n_in.max(1)),
        outside.as_secs_f64() * 1e6 / f64::from(n_out.max(1)),
    );
}
