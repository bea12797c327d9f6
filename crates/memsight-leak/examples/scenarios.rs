//! The issue-6 scenario program: runs each known leak and clean function under memsight-leak
//! and prints verdict, calls and wall time, one line per scenario.
//!
//! ```text
//! cargo run --release -p memsight-leak --example scenarios [-- [--report] NAME...]
//! ```
//! With no names it runs them all. `--report` prints each full report. The C library is built
//! into `$MEMSIGHT_LEAKS_DIR` (default: the system temp dir). Exit status 1 if any verdict is
//! not the expected one.

#[cfg(not(windows))]
#[path = "../tests/leak/common/clib.rs"]
mod clib;
#[cfg(not(windows))]
#[path = "../tests/leak/common/scenarios.rs"]
mod scenarios;

#[cfg(not(windows))]
use std::time::Instant;

#[cfg(not(windows))]
use memsight_leak::{LeakError, LeakTest};
#[cfg(not(windows))]
use scenarios::Expect;

#[global_allocator]
static ALLOC: memsight::heap::CountingAlloc = memsight::heap::CountingAlloc::system();

/// The scenarios are C functions loaded with dlopen, built for glibc: Linux only.
#[cfg(windows)]
fn main() {
    eprintln!("scenarios: Linux only (the C scenarios are loaded with dlopen)");
}

#[cfg(not(windows))]
fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let full = args.iter().any(|a| a == "--report");
    args.retain(|a| a != "--report");
    let here = args.iter().any(|a| a == "--here");
    args.retain(|a| a != "--here");
    let dir = std::env::var_os("MEMSIGHT_LEAKS_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("memsight-leaks"));
    let c = clib::load(&dir);
    let names: Vec<(&str, Expect)> = if args.is_empty() {
        scenarios::ALL.to_vec()
    } else {
        args.iter()
            .filter_map(|a| scenarios::ALL.iter().find(|(n, _)| n == a).copied())
            .collect()
    };
    // Each scenario runs in a process of its own (as under cargo-nextest), so one scenario's
    // leaked threads and mappings cannot slow down or disturb the next.
    if !here {
        print_header();
        let exe = std::env::current_exe().expect("current_exe");
        let mut wrong = 0;
        for (name, _) in names {
            let mut cmd = std::process::Command::new(&exe);
            cmd.args(["--here", name]);
            if full {
                cmd.arg("--report");
            }
            let status = cmd.status().expect("run scenario");
            if !status.success() {
                wrong += 1;
            }
        }
        std::process::exit(i32::from(wrong > 0));
    }
    let mut wrong = 0;
    for (name, expect) in names {
        let Some(f) = scenarios::make(name, c) else {
            continue;
        };
        let t = Instant::now();
        let out = LeakTest::new().name(name).check(f);
        let wall = t.elapsed().as_secs_f64() * 1e3;
        let (got, calls, detail) = match &out {
            Ok(r) => ("PASS", r.calls, format!("{:?}", r.verdict)),
            Err(e) => {
                let detail = match e {
                    LeakError::UnclosedFds { count, .. } => format!("{count} fds"),
                    LeakError::UnclosedThreads { count, .. } => format!("{count} threads"),
                    _ => e
                        .report()
                        .map(|r| {
                            r.metrics
                                .iter()
                                .filter(|m| m.leaking)
                                .map(|m| format!("{}={:+.2}/call", m.metric, m.per_call))
                                .collect::<Vec<_>>()
                                .join(" ")
                        })
                        .unwrap_or_default(),
                };
                ("LEAK", e.report().map_or(0, |r| r.calls), detail)
            }
        };
        let ok = (got == "LEAK") == (expect == Expect::Leak);
        if !ok {
            wrong += 1;
        }
        println!(
            "{:<28} {:<8} {:<6} {:>7} {:>10.2}  {}{}",
            name,
            if expect == Expect::Leak {
                "LEAK"
            } else {
                "PASS"
            },
            got,
            calls,
            wall,
            detail,
            if ok { "" } else { "  <-- WRONG" }
        );
        if full {
            match &out {
                Ok(r) => println!("{r}"),
                Err(e) => println!("{e}"),
            }
        }
    }
    std::process::exit(i32::from(wrong > 0));
}

#[cfg(not(windows))]
fn print_header() {
    println!(
        "{:<28} {:<8} {:<6} {:>7} {:>10}  detail",
        "scenario", "expect", "got", "calls", "wall_ms"
    );
}
