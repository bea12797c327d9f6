//! memsight against sysinfo 0.40, procfs 0.18 and the raw read floor, interleaved in one run.
//!
//! Each case runs every contender once per round, in the same order of rounds (so all see the
//! same machine state and load), `ROUNDS` rounds; a contender's figure is the median of its
//! per-round times, and a ratio is the median of the per-round ratios. The floor reads the same
//! files into one reused buffer and parses nothing.
//!
//! Run: `scripts/bench-peers.sh` (or `cargo bench --manifest-path crates/memsight-bench/Cargo.toml`).

use std::fs::File;
use std::hint::black_box;
use std::io::Read;
use std::process::{Child, Command};
use std::time::Instant;

/// Rounds per case; each round calls each contender `calls` times.
const ROUNDS: usize = 21;

/// Reads `path` to EOF into `buf` (cleared first), parsing nothing: the floor's one read.
fn read_floor(path: &str, buf: &mut Vec<u8>) -> bool {
    buf.clear();
    match File::open(path) {
        Ok(mut f) => f.read_to_end(buf).is_ok(),
        Err(_) => false,
    }
}

/// The numeric entries of /proc (the floor's listing).
fn floor_pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

type Contender<'a> = (&'static str, Box<dyn FnMut() + 'a>);

/// Times every contender in interleaved rounds and prints µs per call, each one's median
/// per-round ratio to the floor (the last), and each other's to memsight (the first): a
/// peer/memsight ratio of 1.0 or more means memsight is ahead.
fn case(title: &str, calls: u32, mut contenders: Vec<Contender<'_>>) {
    let n = contenders.len();
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); n];
    for _ in 0..ROUNDS {
        for (i, (_, f)) in contenders.iter_mut().enumerate() {
            let start = Instant::now();
            for _ in 0..calls {
                f();
            }
            times[i].push(start.elapsed().as_nanos() as f64 / f64::from(calls));
        }
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let ratio =
        |a: usize, b: usize| median(times[a].iter().zip(&times[b]).map(|(x, y)| x / y).collect());
    println!("\n{title} ({ROUNDS} interleaved rounds of {calls} calls)");
    let floor = n - 1;
    for (i, (name, _)) in contenders.iter().enumerate() {
        let ns = median(times[i].clone());
        let vs = if i == floor {
            "floor".to_string()
        } else if i == 0 {
            format!("{:.2}x the floor", ratio(0, floor))
        } else {
            format!(
                "{:.2}x the floor, this/memsight {:.2}",
                ratio(i, floor),
                ratio(i, 0)
            )
        };
        println!("  {name:<44} {:>12.1} µs/call  {vs}", ns / 1000.0);
    }
}

/// A `sleep` to read, killed at the end.
struct Sleeper(Child);

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn main() {
    // `cargo bench` passes `--bench`; a test run that lists every target gets nothing.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let mut buf = Vec::with_capacity(64 << 10);
    let pids = floor_pids();
    println!(
        "{} processes; memsight {}, sysinfo 0.40, procfs 0.18",
        pids.len(),
        env!("CARGO_PKG_VERSION")
    );

    // --- System memory ---------------------------------------------------------------------
    let mut sys = sysinfo::System::new().expect("sysinfo System");
    case(
        "system memory: virtual_memory()",
        500,
        vec![
            (
                "memsight::virtual_memory()",
                Box::new(|| {
                    black_box(memsight::virtual_memory().expect("virtual_memory"));
                }),
            ),
            (
                "sysinfo System::refresh_memory()",
                Box::new(|| {
                    sys.refresh_memory();
                    black_box(sys.total_memory());
                }),
            ),
            (
                "procfs Meminfo::current()",
                Box::new(|| {
                    use procfs::Current;
                    black_box(procfs::Meminfo::current().expect("meminfo"));
                }),
            ),
            (
                "floor: read /proc/meminfo",
                Box::new(|| {
                    black_box(read_floor("/proc/meminfo", &mut buf));
                }),
            ),
        ],
    );

    // --- Every process's RSS and VMS -------------------------------------------------------
    let mut sys = sysinfo::System::new().expect("sysinfo System");
    let mut path = String::new();
    case(
        "every process's RSS/VMS: process_iter() + memory_info()",
        5,
        vec![
            (
                "memsight process_iter() + memory_info()",
                Box::new(|| {
                    let mut total = 0u64;
                    for p in memsight::process_iter().flatten() {
                        if let Ok(m) = p.memory_info() {
                            total += m.rss + m.vms;
                        }
                    }
                    black_box(total);
                }),
            ),
            (
                "sysinfo refresh_processes(memory) (rayon)",
                Box::new(|| {
                    sys.refresh_processes_specifics(
                        sysinfo::ProcessesToUpdate::All,
                        true,
                        sysinfo::ProcessRefreshKind::nothing().with_memory(),
                    );
                    let total: u64 = sys
                        .processes()
                        .values()
                        .map(|p| p.memory() + p.virtual_memory())
                        .sum();
                    black_box(total);
                }),
            ),
            (
                "procfs all_processes() + statm()",
                Box::new(|| {
                    let mut total = 0u64;
                    for p in procfs::process::all_processes()
                        .expect("all_processes")
                        .flatten()
                    {
                        if let Ok(m) = p.statm() {
                            total += m.resident + m.size;
                        }
                    }
                    black_box(total);
                }),
            ),
            (
                "floor: list /proc, read each statm",
                Box::new(|| {
                    use std::fmt::Write;
                    for pid in floor_pids() {
                        path.clear();
                        let _ = write!(path, "/proc/{pid}/statm");
                        black_box(read_floor(&path, &mut buf));
                    }
                }),
            ),
        ],
    );

    // --- One process's USS and PSS ---------------------------------------------------------
    let sleeper = Sleeper(
        Command::new("sleep")
            .arg("600")
            .spawn()
            .expect("spawn sleep"),
    );
    let pid = sleeper.0.id();
    let statm = format!("/proc/{pid}/statm");
    let rollup = format!("/proc/{pid}/smaps_rollup");
    let floor_full = |buf: &mut Vec<u8>| {
        black_box(read_floor(&statm, buf));
        black_box(read_floor(&rollup, buf));
    };
    case(
        "one process's USS/PSS, fresh handle: memory_full_info()",
        2_000,
        vec![
            (
                "memsight Process::new(pid).memory_full_info()",
                Box::new(|| {
                    let p = memsight::Process::new(pid).expect("process");
                    black_box(p.memory_full_info().expect("memory_full_info"));
                }),
            ),
            (
                "procfs Process::new(pid) statm + smaps_rollup",
                Box::new(|| {
                    let p = procfs::process::Process::new(pid as i32).expect("process");
                    black_box(p.statm().expect("statm"));
                    black_box(p.smaps_rollup().expect("smaps_rollup"));
                }),
            ),
            (
                "floor: read statm and smaps_rollup",
                Box::new(|| floor_full(&mut buf)),
            ),
        ],
    );
    let ours = memsight::Process::new(pid).expect("process");
    let theirs = procfs::process::Process::new(pid as i32).expect("process");
    case(
        "one process's USS/PSS, reused handle: memory_full_info()",
        2_000,
        vec![
            (
                "memsight handle.memory_full_info()",
                Box::new(|| {
                    black_box(ours.memory_full_info().expect("memory_full_info"));
                }),
            ),
            (
                "procfs handle statm + smaps_rollup",
                Box::new(|| {
                    black_box(theirs.statm().expect("statm"));
                    black_box(theirs.smaps_rollup().expect("smaps_rollup"));
                }),
            ),
            (
                "floor: read statm and smaps_rollup",
                Box::new(|| floor_full(&mut buf)),
            ),
        ],
    );
    drop(sleeper);

    // --- A whole memory scan ---------------------------------------------------------------
    case(
        "whole-system scan: USS, PSS, swap, RSS, VMS, name, cmdline of every process",
        3,
        vec![
            (
                "memsight memory_scan() on 1 thread",
                Box::new(|| {
                    let procfs = memsight::linux::ProcFs::default();
                    let pids = procfs.pids().expect("pids");
                    black_box(procfs.memory_scan_on(&pids, 1));
                }),
            ),
            (
                "memsight memory_scan() (automatic threads)",
                Box::new(|| {
                    black_box(memsight::memory_scan().expect("memory_scan"));
                }),
            ),
            (
                "procfs statm+smaps_rollup+cmdline+stat",
                Box::new(|| {
                    let mut n = 0usize;
                    for p in procfs::process::all_processes()
                        .expect("all_processes")
                        .flatten()
                    {
                        let Ok(m) = p.statm() else { continue };
                        if m.size == 0 {
                            continue;
                        }
                        let Ok(r) = p.smaps_rollup() else { continue };
                        let args = p.cmdline().unwrap_or_default();
                        let comm = p.stat().map(|s| s.comm).unwrap_or_default();
                        n += r.memory_map_rollup.0.len() + args.len() + comm.len();
                    }
                    black_box(n);
                }),
            ),
            (
                "floor: statm, smaps_rollup, cmdline, comm",
                Box::new(|| {
                    use std::fmt::Write;
                    for pid in floor_pids() {
                        path.clear();
                        let _ = write!(path, "/proc/{pid}/statm");
                        if !read_floor(&path, &mut buf) || buf.starts_with(b"0 ") {
                            continue;
                        }
                        for name in ["smaps_rollup", "cmdline", "comm"] {
                            path.clear();
                            let _ = write!(path, "/proc/{pid}/{name}");
                            black_box(read_floor(&path, &mut buf));
                        }
                    }
                }),
            ),
        ],
    );
}
