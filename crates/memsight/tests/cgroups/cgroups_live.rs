//! `cgroups()` against real memory cgroups this test creates (needs root; CI runs as root): a
//! parent with a limit, a child whose process touches anonymous memory, one whose process reads a
//! file into the page cache, and a small one where the OOM killer is made to run. The figures are
//! checked against what the test put there and against the kernel's own files.
#![cfg(target_os = "linux")] // /proc, ptrace modes, psutil oracles: see windows.rs for Windows

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use memsight::linux::{Cgroup, ProcFs};

use memsight_test_support as support;

const MIB: u64 = 1 << 20;

/// A memory cgroup hierarchy the test creates (v1 memory controller when mounted, else v2) and
/// removes, children first.
struct Hierarchy {
    root: PathBuf,
    version: u8,
    dirs: Vec<PathBuf>,
}

impl Hierarchy {
    fn new() -> Hierarchy {
        support::require_root("creating memory cgroups");
        let v1 = Path::new("/sys/fs/cgroup/memory");
        if v1.join("memory.limit_in_bytes").exists() {
            Hierarchy {
                root: v1.into(),
                version: 1,
                dirs: Vec::new(),
            }
        } else {
            Hierarchy {
                root: "/sys/fs/cgroup".into(),
                version: 2,
                dirs: Vec::new(),
            }
        }
    }

    /// Creates `relative` with a memory limit and returns its directory.
    fn create(&mut self, relative: &str, limit: u64) -> PathBuf {
        let dir = self.root.join(relative);
        if self.version == 2 {
            let parent = dir.parent().unwrap();
            std::fs::write(parent.join("cgroup.subtree_control"), "+memory").unwrap();
        }
        std::fs::create_dir(&dir).unwrap();
        let file = if self.version == 1 {
            "memory.limit_in_bytes"
        } else {
            "memory.max"
        };
        std::fs::write(dir.join(file), limit.to_string()).unwrap();
        self.dirs.push(dir.clone());
        dir
    }

    /// The cgroup's path as the walk reports it.
    fn path(&self, dir: &Path) -> String {
        format!("/{}", dir.strip_prefix(&self.root).unwrap().display())
    }
}

impl Drop for Hierarchy {
    fn drop(&mut self) {
        for dir in self.dirs.iter().rev() {
            let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
            for pid in procs.lines() {
                let _ = std::fs::write(self.root.join("cgroup.procs"), pid);
            }
            // A cgroup whose last process just died can take a moment to become removable.
            for _ in 0..100 {
                if std::fs::remove_dir(dir).is_ok() || !dir.exists() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

/// Starts `python` (a Python program) inside the cgroup at `dir`, and waits until it prints a
/// line (or fails the test after 30 s).
struct Holder {
    child: Child,
    /// Kept open so the holder never writes to a closed pipe.
    _stdout: std::process::ChildStdout,
}

impl Holder {
    fn start(dir: &Path, python: &str) -> Holder {
        let script = format!(
            "echo $$ > {procs} || exit 1; exec python3 -u -c '{python}'",
            procs = dir.join("cgroup.procs").display()
        );
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let mut byte = [0u8; 1];
        let n = std::io::Read::read(&mut stdout, &mut byte).unwrap();
        assert_eq!(n, 1, "the holder in {} did not get ready", dir.display());
        Holder {
            child,
            _stdout: stdout,
        }
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The kernel's own figure `key` from the cgroup's memory.stat (v1 `total_*` line).
fn kernel_stat(dir: &Path, version: u8, key: &str) -> u64 {
    let key = if version == 1 {
        format!("total_{key}")
    } else {
        key.to_owned()
    };
    let text = std::fs::read_to_string(dir.join("memory.stat")).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&*key)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("{key} in {text}"))
}

fn kernel_value(dir: &Path, file: &str) -> u64 {
    std::fs::read_to_string(dir.join(file))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn find<'a>(all: &'a [Cgroup], path: &str) -> &'a Cgroup {
    all.iter()
        .find(|c| c.path == path)
        .unwrap_or_else(|| panic!("{path} not walked"))
}

#[test]
fn real_cgroups_anon_vs_page_cache_limits_and_stat_agree_with_the_kernel() {
    let mut h = Hierarchy::new();
    let v = h.version;
    let (usage_file, limit_file) = if v == 1 {
        ("memory.usage_in_bytes", "memory.limit_in_bytes")
    } else {
        ("memory.current", "memory.max")
    };
    let parent = h.create(&format!("memsight-walk-{}", std::process::id()), 512 * MIB);
    let parent_name = parent.file_name().unwrap().to_str().unwrap().to_owned();
    let anon = h.create(&format!("{parent_name}/anon"), 256 * MIB);
    let file = h.create(&format!("{parent_name}/file"), 384 * MIB);
    let scratch = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let data = scratch.path().join("cache-me");

    // 64 MiB of touched anonymous memory.
    let _anon_holder = Holder::start(
        &anon,
        "import time; b=bytearray(b\"x\")*(64<<20); print(1); time.sleep(60)",
    );
    // 64 MiB written (and so charged to this cgroup's page cache), synced so none is dirty.
    let _file_holder = Holder::start(
        &file,
        &format!(
            "import os, time\nwith open(\"{}\", \"wb\") as f:\n  f.write(b\"y\" * (64<<20)); f.flush(); os.fsync(f.fileno())\nprint(1); time.sleep(60)",
            data.display()
        ),
    );

    let all = ProcFs::default().cgroups().unwrap();
    let (p, a, f) = (
        find(&all, &h.path(&parent)),
        find(&all, &h.path(&anon)),
        find(&all, &h.path(&file)),
    );
    assert!(all.iter().all(|c| c.working_set <= c.usage));

    for (cg, dir, limit) in [
        (p, &parent, 512 * MIB),
        (a, &anon, 256 * MIB),
        (f, &file, 384 * MIB),
    ] {
        assert_eq!(cg.version, v);
        assert_eq!(cg.limit, Some(limit), "{}", cg.path);
        assert_eq!(cg.limit, Some(kernel_value(dir, limit_file)));
        assert_eq!(
            cg.effective_limit,
            Some(limit),
            "the parent's 512 MiB is larger"
        );
        assert_eq!(cg.directory, *dir);
        let kernel_usage = kernel_value(dir, usage_file);
        assert!(
            cg.usage.abs_diff(kernel_usage) < 4 * MIB,
            "{} vs {kernel_usage}",
            cg.usage
        );
        let inactive = cg.stat.inactive_file.unwrap();
        assert_eq!(
            cg.working_set,
            cg.usage.saturating_sub(inactive),
            "usage - inactive_file"
        );
        for (ours, key) in [(cg.stat.anon, "rss"), (cg.stat.file, "cache")] {
            let key = if v == 1 {
                key
            } else if key == "rss" {
                "anon"
            } else {
                "file"
            };
            let kernel = kernel_stat(dir, v, key);
            assert!(
                ours.unwrap().abs_diff(kernel) < 4 * MIB,
                "{key}: {ours:?} vs {kernel}"
            );
        }
        assert!(cg.peak.unwrap() >= cg.usage.saturating_sub(MIB));
    }
    assert_eq!(
        (a.processes, f.processes, p.processes),
        (1, 1, 0),
        "direct members only"
    );
    assert_eq!(a.depth, 2);

    // The anon child: its 64 MiB are anonymous and all in the working set.
    let a_anon = a.stat.anon.unwrap();
    assert!(a_anon >= 64 * MIB, "anon {a_anon}");
    assert!(
        a.stat.file.unwrap() < 32 * MIB,
        "little page cache: {:?}",
        a.stat.file
    );
    assert!(a.working_set >= 64 * MIB, "{}", a.working_set);
    // The file child: its memory is page cache, not anonymous. Written, synced pages are clean
    // and the kernel may reclaim them at any time when the machine is short of memory (seen: 48
    // of the 64 MiB left on a busy machine), so only a good part of them is required here; the
    // figure itself was checked against the kernel's above.
    let f_file = f.stat.file.unwrap();
    assert!(f_file >= 16 * MIB, "file {f_file}");
    assert!(
        f.stat.anon.unwrap() < 32 * MIB,
        "little anon: {:?}",
        f.stat.anon
    );
    assert!(f.usage >= f_file);
    // Hierarchical: the parent's figures include both children's (read before them: reclaim
    // meanwhile can only make the children's smaller).
    assert!(
        p.usage + 4 * MIB >= a.usage + f.usage,
        "parent usage {} < {} + {}",
        p.usage,
        a.usage,
        f.usage
    );
    assert!(p.stat.anon.unwrap() >= a_anon.saturating_sub(MIB));
    assert!(p.stat.file.unwrap() >= f_file.saturating_sub(MIB));
    if let Some(swap) = a.swap {
        let swap_total = std::fs::read_to_string("/proc/meminfo").unwrap();
        if swap_total.contains("SwapTotal:             0 kB") {
            assert_eq!(swap, 0, "no swap device: no swap can be shown");
        }
    }
}

#[test]
fn an_oom_kill_in_a_small_cgroup_shows_in_oom_kill() {
    let mut h = Hierarchy::new();
    let dir = h.create(&format!("memsight-oom-{}", std::process::id()), 32 * MIB);
    // No swap to escape to, so the limit must be met by killing.
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    let has_swap = !meminfo.contains("SwapTotal:             0 kB");
    if h.version == 2 {
        let _ = std::fs::write(dir.join("memory.swap.max"), "0");
    } else if has_swap {
        // The memsw counter then fails first, and memory.failcnt need not move.
        std::fs::write(
            dir.join("memory.memsw.limit_in_bytes"),
            (32 * MIB).to_string(),
        )
        .unwrap();
    }
    let path = h.path(&dir);
    let before = find(&ProcFs::default().cgroups().unwrap(), &path)
        .events
        .oom_kill;
    assert_eq!(before, Some(0));
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "echo $$ > {} || exit 1; exec python3 -c 'b=bytearray(b\"x\")*(256<<20)'",
            dir.join("cgroup.procs").display()
        ))
        .status()
        .unwrap();
    assert!(
        !status.success(),
        "the 256 MiB allocation must be killed at 32 MiB"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let cg = find(&ProcFs::default().cgroups().unwrap(), &path).clone();
        if cg.events.oom_kill == Some(1) {
            if h.version == 2 || !has_swap {
                assert!(
                    cg.events.max.unwrap() >= 1,
                    "the limit was hit: {:?}",
                    cg.events
                );
            }
            assert_eq!(cg.limit, Some(32 * MIB));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "oom_kill never became 1: {:?}",
            cg.events
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn cgroups_created_and_removed_during_walks_are_skipped_not_errors() {
    let mut h = Hierarchy::new();
    let parent = h.create(&format!("memsight-churn-{}", std::process::id()), 64 * MIB);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let churn = {
        let (parent, stop) = (parent.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut cycles = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for i in 0..20 {
                    let _ = std::fs::create_dir(parent.join(format!("c{i}")));
                }
                for i in 0..20 {
                    let _ = std::fs::remove_dir(parent.join(format!("c{i}")));
                }
                cycles += 1;
            }
            cycles
        })
    };
    let procfs = ProcFs::default();
    let mut seen = 0;
    for _ in 0..100 {
        let all = procfs.cgroups().unwrap();
        seen += all
            .iter()
            .filter(|c| c.path.contains("memsight-churn-") && c.depth >= 2)
            .count();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let cycles = churn.join().unwrap();
    assert!(cycles > 0);
    eprintln!("{cycles} create/remove cycles, {seen} short-lived cgroups caught by 100 walks");
}
