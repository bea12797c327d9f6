//! The floor `memsight ps` is measured against (BENCHMARKS.md): for every pid, open and read
//! `smaps_rollup`, `status` and `cmdline` into one reused buffer, parsing nothing, on one thread;
//! with `--threads N` the same work shared by N threads (each takes the next unread pid), the
//! best a parallel `ps` could do. Prints the number of pids and bytes read.

use std::fs::File;
use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Reads the three files of each pid this thread takes; returns the bytes read.
fn read_some(pids: &[String], next: &AtomicUsize) -> u64 {
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut bytes = 0;
    while let Some(pid) = pids.get(next.fetch_add(1, Ordering::Relaxed)) {
        for file in ["smaps_rollup", "status", "cmdline"] {
            if let Ok(mut f) = File::open(format!("/proc/{pid}/{file}")) {
                buf.clear();
                bytes += f.read_to_end(&mut buf).unwrap_or(0) as u64;
            }
        }
    }
    bytes
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let threads = match args.iter().position(|a| a == "--threads") {
        Some(i) => match args.get(i + 1).and_then(|n| n.parse::<usize>().ok()) {
            Some(n) if n > 0 => n,
            _ => {
                eprintln!("usage: ps_floor [--threads N]");
                std::process::exit(2);
            }
        },
        None => 1,
    };
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return;
    };
    let pids: Vec<String> = dir
        .flatten()
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|name| name.bytes().all(|b| b.is_ascii_digit()))
        .collect();
    let next = AtomicUsize::new(0);
    let bytes: u64 = std::thread::scope(|s| {
        let others: Vec<_> = (1..threads)
            .map(|_| s.spawn(|| read_some(&pids, &next)))
            .collect();
        let mine = read_some(&pids, &next);
        mine + others
            .into_iter()
            .map(|t| t.join().unwrap_or(0))
            .sum::<u64>()
    });
    println!("{} pids, {bytes} bytes", pids.len());
}
