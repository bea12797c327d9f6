//! `memsight serve`'s per-cgroup series (`memsight_cgroup_*{path,name}`) and the system-wide
//! pressure (`node_pressure_memory_*`) from the fixture trees of scripts/make-cgroup-fixtures.py:
//! the figures, the flags that bound them, `promtool check metrics`, and a real Prometheus scrape.
//!
//! Needs `prometheus` and `promtool` (Debian's `prometheus` package, installed by
//! scripts/setup.sh). Every process a test starts is killed when the test ends.

// Runs the Linux binary against procps, psutil and /proc; tests/windows.rs is the Windows one.
#![cfg(target_os = "linux")]
#![cfg(feature = "serve")]
#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

use crate::support;

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::scrape::{Exporter, get, promtool, query, sample, start_prometheus};
use support::{Guard, copy_tree, fixture, memsight};

/// `memsight serve` on an ephemeral loopback port, reading the tree at `root`.
fn exporter(root: &Path, extra: &[&str]) -> (Guard, SocketAddr) {
    let mut serve = memsight();
    serve
        .args(["serve", "--listen", "127.0.0.1:0", "--procfs"])
        .arg(root.join("proc"))
        .arg("--sysfs")
        .arg(root.join("sys"))
        .args(extra);
    let Exporter { addr, child } = Exporter::spawn(serve);
    (child, addr)
}

fn metrics(addr: SocketAddr) -> String {
    let r = get(addr, "/metrics", "");
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

const BURSTABLE_POD: &str = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod11111111_2222_3333_4444_555555555555.slice";

#[test]
fn kubernetes_fixture_series_carry_every_figure() {
    let (_ex, addr) = exporter(&fixture("cgroups-v2-kubernetes"), &[]);
    let body = metrics(addr);
    let pod = format!(
        "path=\"{BURSTABLE_POD}\",name=\"pod 11111111-2222-3333-4444-555555555555 (burstable)\""
    );
    // The burstable pod is index 5 of the script's tree.
    let i = 5u64;
    let mib = 1u64 << 20;
    for (series, value) in [
        (
            format!("memsight_cgroup_memory_bytes{{{pod},memtype=\"usage\"}}"),
            (i + 1) * mib,
        ),
        (
            format!("memsight_cgroup_memory_bytes{{{pod},memtype=\"working_set\"}}"),
            (i + 1) * mib - i * 65536,
        ),
        (
            format!("memsight_cgroup_memory_bytes{{{pod},memtype=\"peak\"}}"),
            (i + 2) * mib,
        ),
        (
            format!("memsight_cgroup_memory_bytes{{{pod},memtype=\"swap\"}}"),
            i * 8192,
        ),
        (
            format!("memsight_cgroup_limit_bytes{{{pod},limit=\"max\"}}"),
            1024 * mib,
        ),
        (
            format!("memsight_cgroup_limit_bytes{{{pod},limit=\"effective\"}}"),
            1024 * mib,
        ),
        (
            format!("memsight_cgroup_limit_bytes{{{pod},limit=\"low\"}}"),
            i * mib / 2,
        ),
        (
            format!("memsight_cgroup_limit_bytes{{{pod},limit=\"min\"}}"),
            i * 4096,
        ),
        (
            format!("memsight_cgroup_memory_stat_bytes{{{pod},stat=\"anon\"}}"),
            i * 4096,
        ),
        (
            format!("memsight_cgroup_memory_stat_bytes{{{pod},stat=\"kernel_stack\"}}"),
            i * 4096 + 3,
        ),
        (
            format!("memsight_cgroup_memory_stat_events_total{{{pod},stat=\"pgfault\"}}"),
            i * 4096 + 31,
        ),
        (
            format!("memsight_cgroup_memory_events_total{{{pod},event=\"oom_kill\"}}"),
            i + 4,
        ),
        (
            format!("memsight_cgroup_memory_events_total{{{pod},event=\"high\"}}"),
            i + 1,
        ),
        (
            format!("memsight_cgroup_pressure_memory_waiting_seconds_total{{{pod}}}"),
            i,
        ),
        (format!("memsight_cgroup_processes{{{pod}}}"), 0),
        ("memsight_cgroups{state=\"exported\"}".to_owned(), 10),
        ("memsight_cgroups{state=\"left_out\"}".to_owned(), 0),
        ("memsight_cgroups{state=\"unreadable\"}".to_owned(), 0),
    ] {
        assert_eq!(sample(&body, &series), Some(value as f64), "{series}");
    }
    assert_eq!(
        sample(
            &body,
            &format!("memsight_cgroup_pressure_memory_stalled_seconds_total{{{pod}}}")
        ),
        Some(2.5)
    );
    assert_eq!(
        sample(&body, "node_pressure_memory_waiting_seconds_total"),
        Some(3.0)
    );
    assert_eq!(
        sample(&body, "node_pressure_memory_stalled_seconds_total"),
        Some(1.5)
    );
    assert!(
        !body.contains("limit=\"high\"}} 0"),
        "an odd index has memory.high max: no series"
    );
    assert!(
        !body.contains("crio-"),
        "containers are at depth 4, beyond the default 3"
    );
}

#[test]
fn depth_match_and_max_bound_the_series() {
    let root = fixture("cgroups-v2-kubernetes");
    let (_ex, addr) = exporter(&root, &["--cgroup-depth", "1"]);
    let body = metrics(addr);
    assert_eq!(
        sample(&body, "memsight_cgroups{state=\"exported\"}"),
        Some(2.0)
    );
    let (_ex, addr) = exporter(
        &root,
        &[
            "--cgroup-depth",
            "9",
            "--cgroup-match",
            "burstable|^/system",
        ],
    );
    let body = metrics(addr);
    assert_eq!(
        sample(&body, "memsight_cgroups{state=\"exported\"}"),
        Some(6.0),
        "{body}"
    );
    assert!(body.contains("name=\"containerd 0123456789ab\""));
    assert!(!body.contains("besteffort"));
    let (_ex, addr) = exporter(&root, &["--cgroup-depth", "9", "--cgroup-max", "2"]);
    let body = metrics(addr);
    assert_eq!(
        sample(&body, "memsight_cgroups{state=\"exported\"}"),
        Some(2.0)
    );
    assert_eq!(
        sample(&body, "memsight_cgroups{state=\"left_out\"}"),
        Some(10.0)
    );
    // The two largest working sets: containerd.service (index 12) and kubelet.service (11).
    assert!(
        body.contains("name=\"containerd.service\",memtype=\"usage\"} 13631488"),
        "{body}"
    );
    let (_ex, addr) = exporter(&root, &["--cgroup-max", "0"]);
    let body = metrics(addr);
    assert!(!body.contains("memsight_cgroup_memory_bytes"));
    assert_eq!(
        sample(&body, "node_pressure_memory_waiting_seconds_total"),
        Some(3.0)
    );
}

#[test]
fn long_cgroup_paths_give_bounded_distinct_label_values() {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&fixture("cgroups-v2-systemd"), dir.path());
    let slice = dir.path().join("sys/fs/cgroup/system.slice");
    let long = "x".repeat(200);
    copy_tree(
        &slice.join("sshd.service"),
        &slice.join(format!("{long}.slice")),
    );
    for tail in ["a", "b"] {
        copy_tree(
            &slice.join("sshd.service"),
            &slice.join(format!("{long}.slice/{long}{tail}.service")),
        );
    }
    let (_ex, addr) = exporter(dir.path(), &["--cgroup-depth", "9"]);
    let body = metrics(addr);
    let mut paths: Vec<&str> = body
        .lines()
        .filter(|l| l.starts_with("memsight_cgroup_processes{") && l.contains("xxxxx"))
        .map(|l| l.split('"').nth(1).unwrap())
        .collect();
    paths.sort();
    paths.dedup();
    assert_eq!(
        paths.len(),
        3,
        "the slice and its two units stay distinct: {paths:?}"
    );
    for p in &paths {
        assert!(p.len() <= 256, "{} bytes", p.len());
    }
}

/// A chain of `levels` one-letter cgroups (each a copy of sshd.service's files) under
/// system.slice/sshd.service of the systemd fixture copied to `root`: made with `mkdirat` and
/// `openat` since the deepest paths are past PATH_MAX.
fn deep_chain(root: &Path, levels: usize) {
    use rustix::fs::{Mode, OFlags, mkdirat, open, openat};
    copy_tree(&fixture("cgroups-v2-systemd"), root);
    let unit = root.join("sys/fs/cgroup/system.slice/sshd.service");
    let files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&unit)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| {
            let name = e.file_name().into_string().unwrap();
            (name, std::fs::read(e.path()).unwrap())
        })
        .collect();
    let dir_flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let mut dir = open(&unit, dir_flags, Mode::empty()).unwrap();
    for _ in 0..levels {
        mkdirat(&dir, "a", Mode::from_raw_mode(0o755)).unwrap();
        dir = openat(&dir, "a", dir_flags, Mode::empty()).unwrap();
        for (name, data) in &files {
            let f = openat(
                &dir,
                name.as_str(),
                OFlags::WRONLY | OFlags::CREATE | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o644),
            )
            .unwrap();
            assert_eq!(rustix::io::write(&f, data).unwrap(), data.len());
        }
    }
}

#[test]
fn a_chain_of_2100_cgroups_past_path_max_is_exported_without_overflowing_the_stack() {
    // Serve's walk ran on a runtime worker's stack, a frame per level: 1,900 levels overflowed
    // it (abort), and paths past PATH_MAX failed the whole walk (no cgroup series at all).
    let shm = Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::tempdir_in(shm)
    } else {
        tempfile::tempdir()
    }
    .unwrap();
    deep_chain(dir.path(), 2100);
    // The walk reads all 1,900 levels; only 50 cgroups are exported (their series are what
    // takes a debug build's scan seconds on a loaded machine), the rest are counted.
    let (_ex, addr) = exporter(
        dir.path(),
        &[
            "--cgroup-depth",
            "1900",
            "--cgroup-max",
            "50",
            "--scrape-timeout",
            "600",
        ],
    );
    let body = metrics(addr);
    let state = |s: &str| sample(&body, &format!("memsight_cgroups{{state=\"{s}\"}}")).unwrap();
    assert_eq!(state("exported"), 50.0);
    assert_eq!(state("unreadable"), 0.0);
    // The systemd fixture's own cgroups down to sshd.service (at depth 2), and 1,898 levels of
    // the chain below it, the deepest past PATH_MAX.
    let walked = state("exported") + state("left_out");
    assert!(walked >= 1898.0 + 3.0, "{walked} walked");
    assert!(
        body.lines()
            .filter(|l| l.starts_with("memsight_cgroup_processes{"))
            .count()
            == 50
    );
}

#[test]
fn promtool_passes_the_cgroup_series() {
    for fixture_name in [
        "cgroups-v2-kubernetes",
        "cgroups-v2-systemd",
        "cgroups-v1-hybrid",
    ] {
        let (_ex, addr) = exporter(&fixture(fixture_name), &["--cgroup-depth", "9"]);
        let body = metrics(addr);
        // Only the families this feature adds, HELP and TYPE lines included.
        let ours: String = body
            .lines()
            .filter(|l| {
                let name = l
                    .strip_prefix("# HELP ")
                    .or_else(|| l.strip_prefix("# TYPE "))
                    .unwrap_or(l);
                name.starts_with("memsight_cgroup_") && !name.starts_with("memsight_cgroup_info")
                    || name.starts_with("memsight_cgroups")
                    || name.starts_with("node_pressure_")
            })
            .map(|l| format!("{l}\n"))
            .collect();
        assert!(ours.lines().count() > 50, "{fixture_name}: {ours}");
        let (ok, report) = promtool(&ours);
        assert!(
            ok && report.trim().is_empty(),
            "{fixture_name}: promtool: {report}"
        );
    }
}

#[test]
fn prometheus_ingests_the_cgroup_series() {
    let (_ex, target) = exporter(&fixture("cgroups-v2-kubernetes"), &["--cgroup-depth", "9"]);
    let dir = tempfile::tempdir().unwrap();
    let (mut prom_child, mut prom) = start_prometheus(dir.path(), target);
    let q = "memsight_cgroup_memory_bytes{name=\"kubelet.service\",memtype=\"usage\"}";
    let mut restarts = 0;
    let deadline = Instant::now() + Duration::from_secs(90);
    let (labels, value) = loop {
        // Its port, free when picked, may have been taken meanwhile: then it exits; pick again.
        if prom_child.0.try_wait().unwrap().is_some() && restarts < 3 {
            restarts += 1;
            let _ = std::fs::remove_dir_all(dir.path().join("data"));
            (prom_child, prom) = start_prometheus(dir.path(), target);
        }
        if let Some(found) = query(prom, q).into_iter().next() {
            break found;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus never ingested {q}; its log:\n{}",
            std::fs::read_to_string(dir.path().join("prometheus.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(labels["path"], "/system.slice/kubelet.service");
    assert_eq!(value, 12_582_912.0);
    let pods = query(prom, "count(memsight_cgroup_processes{name=~\"pod .*\"})");
    assert_eq!(pods[0].1, 3.0, "three pods");
    let kills = query(
        prom,
        "sum(memsight_cgroup_memory_events_total{event=\"oom_kill\"})",
    );
    assert_eq!(
        kills[0].1,
        (5..=16).sum::<u64>() as f64,
        "i + 4 for i in 1..=12"
    );
    assert_eq!(
        query(prom, "node_pressure_memory_stalled_seconds_total")[0].1,
        1.5
    );
}
