//! The floor `memsight ps` is measured against (BENCHMARKS.md): for every pid, open and read
//! `smaps_rollup`, `status` and `cmdline` into one reused buffer, parsing nothing, on one thread.
//! Prints the number of pids and bytes read.

use std::fs::File;
use std::io::Read;

fn main() {
    let mut buf = Vec::with_capacity(64 * 1024);
    let (mut pids, mut bytes) = (0u64, 0u64);
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return;
    };
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        pids += 1;
        for file in ["smaps_rollup", "status", "cmdline"] {
            if let Ok(mut f) = File::open(format!("/proc/{pid}/{file}")) {
                buf.clear();
                bytes += f.read_to_end(&mut buf).unwrap_or(0) as u64;
            }
        }
    }
    println!("{pids} pids, {bytes} bytes");
}
