//! virtual_memory and swap_memory against canned /proc trees from real and synthetic kernels.
#![cfg(target_os = "linux")] // /proc, ptrace modes, psutil oracles: see windows.rs for Windows

use std::path::PathBuf;

use memsight::Error;
use memsight::linux::ProcFs;

const KIB: u64 = 1024;

fn fixture(name: &str) -> ProcFs {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(name);
    ProcFs::new(root.join("proc")).with_sys_root(root.join("sys"))
}

/// psutil's calculate_avail_vmem for the kernel-3.10 fixture: zoneinfo low = 100 + 1900 pages.
fn old_kernel_estimate() -> u64 {
    let low = 2000 * memsight::page_size();
    let free = 200_000 * KIB;
    let page_cache = (150_000 + 100_000) * KIB;
    let reclaimable = 30_000 * KIB;
    free - low + page_cache - (page_cache / 2).min(low) + reclaimable - (reclaimable / 2).min(low)
}

#[test]
fn old_kernel_without_memavailable_uses_the_zoneinfo_estimate() {
    let mem = fixture("kernel-3.10").virtual_memory().unwrap();
    assert_eq!(mem.total, 1_000_000 * KIB);
    assert_eq!(mem.available, old_kernel_estimate());
    assert_eq!(mem.used, mem.total - mem.available);
    assert_eq!(mem.free, 200_000 * KIB);
    assert_eq!(mem.buffers, 10_000 * KIB);
    assert_eq!(
        mem.cached,
        (300_000 + 30_000) * KIB,
        "Cached + SReclaimable"
    );
    assert_eq!(mem.shared, 5_000 * KIB);
    assert_eq!(mem.active, 400_000 * KIB);
    assert_eq!(mem.inactive, 250_000 * KIB);
    assert_eq!(mem.slab, 40_000 * KIB);
    let expected_percent = ((mem.used as f64 / mem.total as f64) * 1000.0).round() / 10.0;
    assert_eq!(mem.percent, expected_percent);
    assert!(mem.missing.is_empty(), "{:?}", mem.missing);
}

#[test]
fn memavailable_zero_is_treated_as_missing() {
    let mem = fixture("memavailable-zero").virtual_memory().unwrap();
    assert_eq!(mem.available, old_kernel_estimate());
}

#[test]
fn no_zoneinfo_falls_back_to_free_plus_cached() {
    let mem = fixture("kernel-3.10-no-zoneinfo").virtual_memory().unwrap();
    assert_eq!(mem.available, (200_000 + 300_000) * KIB);
}

#[test]
fn lxc_available_above_total_gives_free() {
    let mem = fixture("lxc").virtual_memory().unwrap();
    assert_eq!(mem.available, 300_000 * KIB);
    assert_eq!(mem.used, (1_000_000 - 300_000) * KIB);
    assert_eq!(mem.percent, 70.0);
}

#[test]
fn no_space_after_colon_and_missing_fields_are_named() {
    let procfs = fixture("no-space");
    let mem = procfs.virtual_memory().unwrap();
    assert_eq!(mem.total, 1_000_000 * KIB);
    assert_eq!(mem.available, 600_000 * KIB);
    assert_eq!(mem.cached, 160_000 * KIB);
    assert_eq!((mem.buffers, mem.shared), (0, 0));
    assert_eq!(mem.missing, ["buffers", "shared"]);
    let fields = procfs.meminfo().unwrap();
    let huge = fields.iter().find(|f| f.name == "HugePages_Total").unwrap();
    assert_eq!(
        (huge.value, huge.unit),
        (5, memsight::linux::MeminfoUnit::Count)
    );
    let shadow = fields.iter().find(|f| f.name == "ShadowCallStack").unwrap();
    assert_eq!(shadow.value, 10_373_888 * KIB);
}

#[test]
fn swap_from_meminfo_and_vmstat_in_pages() {
    let swap = fixture("kernel-3.10").swap_memory().unwrap();
    assert_eq!(swap.total, 500_000 * KIB);
    assert_eq!(swap.free, 400_000 * KIB);
    assert_eq!(swap.used, 100_000 * KIB);
    assert_eq!(swap.percent, 20.0);
    assert_eq!(swap.sin, 100 * memsight::page_size());
    assert_eq!(swap.sout, 250 * memsight::page_size());
    assert!(swap.missing.is_empty());
}

#[test]
fn unreadable_vmstat_gives_zero_and_says_so() {
    let swap = fixture("lxc").swap_memory().unwrap();
    assert_eq!((swap.sin, swap.sout), (0, 0));
    assert_eq!(swap.missing, ["sin", "sout"]);
    assert_eq!(swap.percent, 0.0, "no swap at all");
}

#[test]
fn real_kernel_snapshot_matches_free() {
    // fixtures/kernel-6.18/free-b.txt was captured by `free -b` next to the meminfo copy.
    let mem = fixture("kernel-6.18").virtual_memory().unwrap();
    let free = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/kernel-6.18/free-b.txt"),
    )
    .unwrap();
    let row: Vec<u64> = free
        .lines()
        .find(|l| l.starts_with("Mem:"))
        .unwrap()
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().unwrap())
        .collect();
    assert_eq!(row[0], mem.total);
    let tolerance = 5 << 20;
    for (column, ours) in [
        (1, mem.used),
        (2, mem.free),
        (3, mem.shared),
        (4, mem.buffers + mem.cached),
        (5, mem.available),
    ] {
        assert!(
            row[column].abs_diff(ours) < tolerance,
            "column {column}: {} vs {ours}",
            row[column]
        );
    }
}

#[test]
fn empty_root_names_the_missing_file() {
    let procfs = fixture("empty-root");
    for err in [
        procfs.virtual_memory().unwrap_err(),
        procfs.swap_memory().unwrap_err(),
    ] {
        assert!(matches!(err, Error::Io { .. }), "{err:?}");
        assert!(err.to_string().contains("empty-root/proc/meminfo"), "{err}");
    }
}

#[test]
fn malformed_meminfo_is_a_parse_error_with_the_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("meminfo"),
        "MemTotal: 10 kB\nMemFree 5 kB\n",
    )
    .unwrap();
    let err = ProcFs::new(dir.path()).virtual_memory().unwrap_err();
    match err {
        Error::Parse { path, line, .. } => {
            assert_eq!(line, 2);
            assert!(path.ends_with("meminfo"));
        }
        other => panic!("expected a parse error, got {other:?}"),
    }
}

#[test]
fn missing_memtotal_is_an_error_not_a_zero() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("meminfo"), "MemFree: 5 kB\n").unwrap();
    let err = ProcFs::new(dir.path()).virtual_memory().unwrap_err();
    assert!(err.to_string().contains("MemTotal"), "{err}");
}

#[test]
fn unreadable_root_is_access_denied_or_io() {
    // As root, permissions do not stop reads, so point at a file instead of a directory.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("file"), "").unwrap();
    let err = ProcFs::new(dir.path().join("file"))
        .virtual_memory()
        .unwrap_err();
    assert!(err.to_string().contains("file/meminfo"), "{err}");
}

#[test]
fn cgroup_v1_docker() {
    let cg = fixture("cgroup-v1").cgroup_memory().unwrap().unwrap();
    assert_eq!(cg.version, 1);
    assert_eq!(cg.path, "/docker/abc");
    assert!(
        cg.directory.ends_with("memory/docker/abc"),
        "{:?}",
        cg.directory
    );
    assert_eq!(cg.limit, Some(256 << 20));
    assert_eq!(cg.usage, 100 << 20);
    assert_eq!(
        cg.working_set,
        (100 - 20) << 20,
        "usage - total_inactive_file"
    );
    assert_eq!(cg.peak, Some(150_000_000));
    assert_eq!(cg.swap_usage, Some(10 << 20));
    assert_eq!(cg.swap_limit, Some(256 << 20));
    assert_eq!(cg.oom_kill, Some(3));
    assert_eq!((cg.oom, cg.pressure), (None, None));
}

#[test]
fn cgroup_v2_limit_comes_from_an_ancestor() {
    let cg = fixture("cgroup-v2").cgroup_memory().unwrap().unwrap();
    assert_eq!(cg.version, 2);
    assert_eq!(cg.path, "/kubepods/pod1/ctr");
    assert_eq!(
        cg.limit,
        Some(128 << 20),
        "the pod's memory.max applies to the container"
    );
    assert_eq!(cg.usage, 64 << 20);
    assert_eq!(cg.working_set, (64 - 8) << 20);
    assert_eq!(cg.peak, Some(80_000_000));
    assert_eq!((cg.swap_usage, cg.swap_limit), (Some(4096), None));
    assert_eq!((cg.oom, cg.oom_kill), (Some(2), Some(1)));
    let pressure = cg.pressure.unwrap();
    assert_eq!(pressure.some.avg10, 0.5);
    assert_eq!(pressure.some.total, 1.5);
    assert_eq!(pressure.full.total, 0.25);
}

#[test]
fn cgroup_v2_root_has_no_memory_files() {
    assert_eq!(fixture("cgroup-v2-root").cgroup_memory().unwrap(), None);
}

#[test]
fn cgroup_limit_above_memtotal_is_no_limit() {
    let cg = fixture("cgroup-v1").cgroup_memory().unwrap().unwrap();
    // The fixture's MemTotal is 1,000,000 kB; the root's 2^63-ish "unlimited" was ignored and the
    // container's 256 MiB kept.
    assert!(cg.limit.unwrap() < 1_000_000 * KIB);
}
