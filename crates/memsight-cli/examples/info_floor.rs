//! The floor `memsight info PID --json` is measured against (BENCHMARKS.md): read each file that
//! process's record needs once, into one reused buffer, parsing nothing: stat, statm, status,
//! cmdline, environ, io, limits, smaps_rollup, smaps, the exe and cwd links, every fd link and the
//! fdinfo of each, every task's stat, the four inet socket tables, /proc/stat and /proc/meminfo,
//! and every process's stat (what finding the children needs). Prints the bytes read.

use std::fs::File;
use std::io::Read;

fn main() {
    let Some(pid) = std::env::args().nth(1) else {
        eprintln!("usage: info_floor PID");
        std::process::exit(2);
    };
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut bytes = 0u64;
    let mut read = |path: &str| {
        if let Ok(mut f) = File::open(path) {
            buf.clear();
            bytes += f.read_to_end(&mut buf).unwrap_or(0) as u64;
        }
    };
    let base = format!("/proc/{pid}");
    for file in [
        "stat",
        "statm",
        "status",
        "cmdline",
        "environ",
        "io",
        "limits",
        "smaps_rollup",
        "smaps",
        "net/tcp",
        "net/tcp6",
        "net/udp",
        "net/udp6",
    ] {
        read(&format!("{base}/{file}"));
    }
    read("/proc/stat");
    read("/proc/meminfo");
    let mut links = 0;
    for link in ["exe", "cwd"] {
        links += std::fs::read_link(format!("{base}/{link}")).is_ok() as u32;
    }
    if let Ok(fds) = std::fs::read_dir(format!("{base}/fd")) {
        for fd in fds.flatten() {
            links += std::fs::read_link(fd.path()).is_ok() as u32;
            read(&format!(
                "{base}/fdinfo/{}",
                fd.file_name().to_string_lossy()
            ));
        }
    }
    if let Ok(tasks) = std::fs::read_dir(format!("{base}/task")) {
        for task in tasks.flatten() {
            read(&format!("{}/stat", task.path().display()));
        }
    }
    if let Ok(all) = std::fs::read_dir("/proc") {
        for entry in all.flatten() {
            if entry
                .file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
            {
                read(&format!("{}/stat", entry.path().display()));
            }
        }
    }
    println!("{bytes} bytes, {links} links");
}
