//! `memsight serve`'s per-cgroup series (`memsight_cgroup_*{path,name}`) and the system-wide
//! pressure (`node_pressure_memory_*`) from the fixture trees of scripts/make-cgroup-fixtures.py:
//! the figures, the flags that bound them, `promtool check metrics`, and a real Prometheus scrape.
//!
//! Needs `prometheus` and `promtool` (Debian's `prometheus` package, installed by
//! scripts/setup.sh). Every process a test starts is killed when the test ends.
#![cfg(feature = "serve")]
#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process killed (and reaped) on drop.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(name)
}

/// `memsight serve` on an ephemeral loopback port, reading the tree at `root`.
fn exporter(root: &Path, extra: &[&str]) -> (Guard, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_memsight"))
        .args(["serve", "--listen", "127.0.0.1:0", "--procfs"])
        .arg(root.join("proc"))
        .arg("--sysfs")
        .arg(root.join("sys"))
        .args(extra)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let child = Guard(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("memsight serve: listening on http://")
        .and_then(|s| s.strip_suffix("/metrics"))
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .parse()
        .unwrap();
    (child, addr)
}

fn http_get(addr: SocketAddr, target: &str) -> Option<String> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200").then(|| body.to_owned())
}

fn metrics(addr: SocketAddr) -> String {
    http_get(addr, "/metrics").unwrap()
}

fn sample(body: &str, series: &str) -> Option<f64> {
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
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

/// Copies the directory tree `from` into `to`.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
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

fn promtool(body: &str) -> (bool, String) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool is installed by scripts/setup.sh");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let report =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), report)
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

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// An instant query against Prometheus's HTTP API: the result's (labels, value).
fn query(prom: SocketAddr, promql: &str) -> Vec<(serde_json::Value, f64)> {
    let Some(body) = http_get(prom, &format!("/api/v1/query?query={}", url_encode(promql))) else {
        return Vec::new();
    };
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["data"]["result"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .map(|r| {
                    (
                        r["metric"].clone(),
                        r["value"][1].as_str().unwrap().parse().unwrap(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn start_prometheus(dir: &Path, target: SocketAddr) -> (Guard, SocketAddr) {
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: memsight\n    static_configs:\n      - targets: ['{target}']\n"
        ),
    )
    .unwrap();
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
    let child = Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address={addr}"))
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("prometheus is installed by scripts/setup.sh");
    (Guard(child), addr)
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
