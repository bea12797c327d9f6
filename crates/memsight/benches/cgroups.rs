//! `cgroups()` over 500 real memory cgroups against its floor: the same directory walk reading
//! the same files into a reused buffer, parsing nothing. Interleaved rounds, so both see the
//! same machine load. Needs root: it creates `memsight-bench-PID` with 500 children under the
//! memory controller (v1 `/sys/fs/cgroup/memory`, else v2 `/sys/fs/cgroup`) and removes them.
//!
//! Run: `cargo bench -p memsight --bench cgroups`
// Memory cgroups are Linux's: elsewhere the bench only compiles (cross `--all-targets`) and skips.
#![cfg_attr(not(target_os = "linux"), allow(dead_code, unused_imports))]

use std::fs::File;
use std::hint::black_box;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

const CHILDREN: usize = 500;
const ROUNDS: usize = 15;

const V1_FILES: &[&str] = &[
    "memory.usage_in_bytes",
    "memory.stat",
    "memory.limit_in_bytes",
    "memory.memsw.limit_in_bytes",
    "memory.oom_control",
    "memory.max_usage_in_bytes",
    "memory.failcnt",
    "cgroup.procs",
];
const V2_FILES: &[&str] = &[
    "memory.current",
    "memory.stat",
    "memory.max",
    "memory.high",
    "memory.low",
    "memory.min",
    "memory.peak",
    "memory.swap.current",
    "memory.swap.max",
    "memory.events",
    "memory.pressure",
    "cgroup.procs",
];

/// Reads every file of every cgroup directory under `dir` (the same walk, no parsing).
fn floor(dir: &Path, files: &[&str], buf: &mut Vec<u8>) -> usize {
    let mut count = 1;
    for name in files {
        buf.clear();
        if let Ok(mut f) = File::open(dir.join(name)) {
            let _ = f.read_to_end(buf);
            black_box(&buf);
        }
    }
    let mut children: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read_dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    children.sort();
    for child in children {
        count += floor(&child, files, buf);
    }
    count
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

struct Bench {
    parent: PathBuf,
}

impl Drop for Bench {
    fn drop(&mut self) {
        for i in 0..CHILDREN {
            let _ = std::fs::remove_dir(self.parent.join(format!("c{i:03}")));
        }
        let _ = std::fs::remove_dir(&self.parent);
    }
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("cgroups bench: memory cgroups exist on Linux only; skipped");
}

#[cfg(target_os = "linux")]
fn main() {
    // `cargo bench` passes `--bench`; test runners that list or run every target get nothing.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    if !rustix::process::geteuid().is_root() {
        eprintln!("cgroups bench: needs root to create cgroups; skipped");
        return;
    }
    let v1 = Path::new("/sys/fs/cgroup/memory");
    let (hierarchy, files, fstype, options) = if v1.join("memory.limit_in_bytes").exists() {
        (v1.to_path_buf(), V1_FILES, "cgroup", "rw,memory")
    } else {
        let root = PathBuf::from("/sys/fs/cgroup");
        std::fs::write(root.join("cgroup.subtree_control"), "+memory").expect("enable memory");
        (root, V2_FILES, "cgroup2", "rw")
    };
    let bench = Bench {
        parent: hierarchy.join(format!("memsight-bench-{}", std::process::id())),
    };
    std::fs::create_dir(&bench.parent).expect("create the parent cgroup");
    if fstype == "cgroup2" {
        std::fs::write(bench.parent.join("cgroup.subtree_control"), "+memory").expect("+memory");
    }
    for i in 0..CHILDREN {
        std::fs::create_dir(bench.parent.join(format!("c{i:03}"))).expect("create a child");
    }
    // A procfs root whose only memory mount is the bench's parent, so the walk covers exactly
    // the parent and its 500 children (the sysfs root stays /sys).
    let proc_root = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(proc_root.path().join("self")).expect("mkdir");
    std::fs::write(
        proc_root.path().join("self/mountinfo"),
        format!(
            "35 31 0:32 / {} rw,relatime - {fstype} {fstype} {options}\n",
            bench.parent.display()
        ),
    )
    .expect("write mountinfo");
    let procfs = memsight::linux::ProcFs::new(proc_root.path());
    let walked = procfs.cgroups().expect("walk");
    let expected = CHILDREN + usize::from(fstype == "cgroup");
    assert_eq!(
        walked.len(),
        expected,
        "the parent (v1 only: on v2 it is the root) and children"
    );
    let mut buf = Vec::with_capacity(8192);
    let (mut floors, mut ours) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let start = Instant::now();
        black_box(floor(&bench.parent, files, &mut buf));
        floors.push(start.elapsed().as_secs_f64() * 1e3);
        let start = Instant::now();
        black_box(procfs.cgroups().expect("walk"));
        ours.push(start.elapsed().as_secs_f64() * 1e3);
    }
    let (f, o) = (median(floors), median(ours));
    println!(
        "{} cgroups (v{}): floor (walk + read, no parse) {f:.2} ms, cgroups() {o:.2} ms, {:.2}x; {:.1} µs per cgroup",
        walked.len(),
        if fstype == "cgroup" { 1 } else { 2 },
        o / f,
        o * 1e3 / walked.len() as f64
    );
}
