//! `memsight serve` end to end: the real binary on a loopback port, scraped by plain HTTP and by
//! `promtool check metrics`, and fed malformed requests (a real Prometheus server scrapes it in
//! serve_fleet.rs beside it).
//!
//! Needs `prometheus` and `promtool` (Debian's `prometheus` package, installed by
//! scripts/setup.sh). Every process a test starts is killed when the test ends, pass or fail.

// Runs the Linux binary against procps, psutil and /proc; tests/windows.rs is the Windows one.
#![cfg(target_os = "linux")]
#![cfg(feature = "serve")]
#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

use crate::support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::scrape::{Exporter, get, promtool, raw, sample};
use support::{Guard, memsight};

const MIB: u64 = 1024 * 1024;

/// `memsight serve` on an ephemeral loopback port, with a secret in its environment.
fn start(extra: &[&str]) -> Exporter {
    let mut serve = memsight();
    serve
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(extra)
        .env("MEMSIGHT_TEST_SECRET", "env-secret-must-not-leak")
        .stderr(Stdio::inherit());
    Exporter::spawn(serve)
}

/// A process that allocates and touches `mib` MiB, then sleeps until killed.
fn memory_hog(mib: u64) -> (Guard, u32) {
    let script = format!(
        "import sys, time\nb = bytearray(b'\\x01') * ({mib} << 20)\nprint('ready', flush=True)\ntime.sleep(600)\n"
    );
    let mut child = Command::new("python3")
        .args(["-c", &script, "memsight-hog-marker"])
        .env("MEMSIGHT_TEST_SECRET", "env-secret-must-not-leak")
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let stdout = child.stdout.take().unwrap();
    let pid = child.id();
    let guard = Guard(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready");
    (guard, pid)
}

fn meminfo_kb(key: &str) -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .unwrap()
        .lines()
        .find_map(|l| {
            let rest = l.strip_prefix(key)?.strip_prefix(':')?;
            rest.trim().trim_end_matches(" kB").parse().ok()
        })
        .unwrap()
}

#[test]
fn metrics_carry_a_known_process_and_system_memory() {
    let (_hog, pid) = memory_hog(64);
    let ex = start(&["--top", "all"]);
    let r = get(ex.addr, "/metrics", "");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let uss = sample(
        &r.body,
        &format!("memsight_process_memory_bytes{{pid=\"{pid}\",name=\"python3\",memtype=\"uss\"}}"),
    )
    .unwrap_or_else(|| panic!("no uss for pid {pid}:\n{}", r.body));
    assert!(uss >= (64 * MIB) as f64, "uss {uss}");
    assert!(uss < (128 * MIB) as f64, "uss {uss}");
    for memtype in ["pss", "rss", "vms", "swap"] {
        let series = format!(
            "memsight_process_memory_bytes{{pid=\"{pid}\",name=\"python3\",memtype=\"{memtype}\"}}"
        );
        assert!(sample(&r.body, &series).is_some(), "no {series}");
    }
    // MemTotal does not move: exact against /proc/meminfo.
    assert_eq!(
        sample(&r.body, "node_memory_MemTotal_bytes"),
        Some((meminfo_kb("MemTotal") * 1024) as f64)
    );
    assert!(sample(&r.body, "node_memory_MemAvailable_bytes").is_some());
    assert!(sample(&r.body, "node_memory_Active_anon_bytes").is_some());
    assert!(sample(&r.body, "node_memory_HugePages_Total").is_some());
    assert!(sample(&r.body, "memsight_swap_in_bytes_total").is_some());
    // The group of python3 processes holds at least the hog.
    let group = sample(
        &r.body,
        "memsight_group_memory_bytes{groupname=\"python3\",memtype=\"uss\"}",
    )
    .unwrap();
    assert!(group >= uss, "group {group} < uss {uss}");
    // Self metrics, against the exporter's own /proc files.
    let me = ex.child.0.id();
    assert!(sample(&r.body, "process_resident_memory_bytes").unwrap() > 0.0);
    let limits = std::fs::read_to_string(format!("/proc/{me}/limits")).unwrap();
    let soft: f64 = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3)?.parse().ok())
        .unwrap();
    assert_eq!(sample(&r.body, "process_max_fds"), Some(soft));
    let fds = sample(&r.body, "process_open_fds").unwrap();
    assert!((4.0..100.0).contains(&fds), "fds {fds}"); // stdio, listener, epoll, connection
    let threads = sample(&r.body, "process_threads").unwrap();
    assert!(threads >= 1.0, "threads {threads}");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let start = sample(&r.body, "process_start_time_seconds").unwrap();
    assert!((now - start).abs() < 60.0, "start {start}, now {now}");
    assert!(sample(&r.body, "process_cpu_seconds_total").unwrap() >= 0.0);
    assert!(sample(&r.body, "memsight_scrape_processes").unwrap() >= 2.0);
    assert_eq!(sample(&r.body, "memsight_scans_total"), Some(1.0));
    // Neither environment nor command lines are exported by default.
    assert!(!r.body.contains("env-secret-must-not-leak"));
    assert!(!r.body.contains("memsight-hog-marker"));
    assert!(!r.body.contains("cmdline="));
}

#[test]
fn cmdline_only_with_the_flag_and_never_the_environment() {
    let (_hog, pid) = memory_hog(1);
    let ex = start(&["--top", "all", "--cmdline"]);
    let body = get(ex.addr, "/metrics", "").body;
    let line = body
        .lines()
        .find(|l| l.contains(&format!("pid=\"{pid}\"")) && l.contains("memtype=\"rss\""))
        .unwrap_or_else(|| panic!("no series for {pid}"));
    // The whole argv joined by spaces; the script's newlines escaped as the format requires.
    assert!(
        line.contains(" -c import sys, time\\nb = bytearray("),
        "{line}"
    );
    assert!(line.contains("memsight-hog-marker"), "{line}");
    assert!(!body.contains("env-secret-must-not-leak"));
}

#[test]
fn grouping_and_top_bound_the_series() {
    let (_hog, hog) = memory_hog(48);
    let ex = start(&["--top", "1", "--group-by", "user"]);
    let body = get(ex.addr, "/metrics", "").body;
    let pids: std::collections::BTreeSet<&str> = body
        .lines()
        .filter(|l| l.starts_with("memsight_process_memory_bytes{"))
        .filter_map(|l| l.split("pid=\"").nth(1)?.split('"').next())
        .collect();
    assert_eq!(pids.len(), 1, "{pids:?}");
    assert!(sample(&body, "memsight_group_processes{groupname=\"root\"}").unwrap() >= 2.0);
    assert!(!body.contains("groupname=\"python3\""));
    drop(ex);

    let ex = start(&["--top", "0", "--group-by", "none"]);
    let body = get(ex.addr, "/metrics", "").body;
    assert!(!body.contains("memsight_process_memory_bytes"));
    assert!(!body.contains("memsight_group_"));
    assert!(!body.contains(&format!("pid=\"{hog}\"")));
    assert!(body.contains("node_memory_MemTotal_bytes"));
}

#[test]
fn openmetrics_when_the_scraper_asks_for_it() {
    let ex = start(&[]);
    let accept = "Accept: application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1\r\n";
    let r = get(ex.addr, "/metrics", accept);
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    assert!(r.body.ends_with("# EOF\n"));
    assert!(
        r.body
            .contains("# TYPE memsight_scans counter\nmemsight_scans_total ")
    );
    let plain = get(ex.addr, "/metrics", "Accept: text/plain\r\n");
    assert!(!plain.body.contains("# EOF"));
    assert!(plain.body.contains("# TYPE memsight_scans_total counter\n"));
}

/// `GET /metrics` with `headers`, the answer's head and its body as bytes.
fn get_bytes(addr: SocketAddr, headers: &str) -> (String, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{headers}\r\n"
    )
    .unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    (head, buf[end + 4..].to_vec())
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[test]
fn gzip_when_the_scraper_accepts_it() {
    // --max-age keeps one scan for all three scrapes, so the bodies must be the same text.
    let ex = start(&["--max-age", "60"]);
    let (head, plain) = get_bytes(ex.addr, "Accept: text/plain\r\n");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(header(&head, "content-encoding"), None);
    assert_eq!(header(&head, "vary"), Some("Accept-Encoding"));
    // What Prometheus sends, in both formats.
    for (accept, om) in [
        ("text/plain", false),
        ("application/openmetrics-text", true),
    ] {
        let (head, gz) = get_bytes(
            ex.addr,
            &format!("Accept: {accept}\r\nAccept-Encoding: gzip\r\n"),
        );
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert_eq!(header(&head, "content-encoding"), Some("gzip"), "{head}");
        assert_eq!(
            header(&head, "content-length"),
            Some(gz.len().to_string().as_str())
        );
        let mut body = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut body)
            .unwrap();
        let text = String::from_utf8(body).unwrap();
        assert!(text.contains("node_memory_MemTotal_bytes "), "{text}");
        assert_eq!(text.ends_with("# EOF\n"), om);
        if !om {
            assert_eq!(text.as_bytes(), &plain[..]);
        }
        assert!(gz.len() * 4 < text.len(), "{} of {}", gz.len(), text.len());
    }
    // A refused gzip gets the plain body.
    let (head, body) = get_bytes(
        ex.addr,
        "Accept: text/plain\r\nAccept-Encoding: gzip;q=0\r\n",
    );
    assert_eq!(header(&head, "content-encoding"), None);
    assert_eq!(body, plain);
}

#[test]
fn index_page_links_to_metrics() {
    let ex = start(&[]);
    let r = get(ex.addr, "/", "");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert!(r.body.contains("<a href=\"/metrics\">"));
}

/// A `sleep` whose process name holds a quote, a backslash and a newline, which label values
/// must escape.
fn oddly_named_sleeper(dir: &Path) -> (Guard, u32) {
    let exe = dir.join("q\"b\\s\nl");
    std::fs::copy("/bin/sleep", &exe).unwrap();
    let child = Command::new(&exe).arg("600").spawn().unwrap();
    let pid = child.id();
    let guard = Guard(child);
    // Wait until the exec has happened (comm is the new name).
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::read(format!("/proc/{pid}/comm")).unwrap_or_default() != b"q\"b\\s\nl\n" {
        assert!(Instant::now() < deadline, "sleeper never exec'd");
        std::thread::sleep(Duration::from_millis(10));
    }
    (guard, pid)
}

#[test]
fn promtool_finds_nothing_but_node_exporters_camel_case() {
    let (_hog, _) = memory_hog(1);
    let dir = tempfile::tempdir().unwrap();
    let (_odd, odd) = oddly_named_sleeper(dir.path());
    let ex = start(&["--top", "all", "--cmdline"]);
    let body = get(ex.addr, "/metrics", "").body;
    // Label values escaped as the format requires: \" \\ \n.
    assert!(
        body.contains(&format!("pid=\"{odd}\",name=\"q\\\"b\\\\s\\nl\"")),
        "{body}"
    );
    assert!(body.contains("groupname=\"q\\\"b\\\\s\\nl\""));
    let (_, report) = promtool(&body);
    let mut camel = 0;
    for line in report.lines().filter(|l| !l.trim().is_empty()) {
        if line.starts_with("node_memory_")
            && line.ends_with("metric names should be written in 'snake_case' not 'camelCase'")
        {
            camel += 1;
        } else {
            panic!("promtool: {line}\n(full report:\n{report})");
        }
    }
    // MemTotal, MemFree, MemAvailable, ... are camelCase in node_exporter too.
    assert!(camel >= 3, "{report}");
}

/// Reads what is left on a connection until the server closes it or `limit` passes.
fn closed_within(s: &mut TcpStream, limit: Duration) -> (bool, Vec<u8>) {
    s.set_read_timeout(Some(limit)).unwrap();
    let mut buf = Vec::new();
    match s.read_to_end(&mut buf) {
        Ok(_) => (true, buf),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => (true, buf),
        Err(_) => (false, buf),
    }
}

#[test]
fn malformed_requests_get_answers_and_the_exporter_keeps_serving() {
    let mut ex = start(&["--header-timeout", "1"]);
    let a = ex.addr;
    assert_eq!(get(a, "/nope", "").status, 404);
    assert_eq!(get(a, "/metrics/", "").status, 404);
    assert_eq!(get(a, "/metrics?x=1&y", "").status, 200);
    assert_eq!(get(a, "/../../etc/passwd", "").status, 404);
    assert_eq!(get(a, "http://example.com/metrics", "").status, 200);
    let post = raw(
        a,
        b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
    );
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));
    let head = raw(
        a,
        b"HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(raw(a, b"GET /metrics HTTP/1.0\r\n\r\n").status, 200);
    assert_eq!(
        raw(a, b"BREW /metrics HTTP/1.1\r\nHost: x\r\n\r\n").status,
        405
    );
    assert_eq!(raw(a, b"\x00\x01\x02garbage\r\n\r\n").status, 400);
    assert_eq!(raw(a, b"GET /metrics HTTP/9.9\r\n\r\n").status / 100, 4);
    assert_eq!(
        raw(a, b"GET /metrics HTTP/1.1\r\nBad Header\r\n\r\n").status,
        400
    );
    // A body that never comes (announced or chunked) does not hold the answer back.
    let r = raw(
        a,
        b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\nabc",
    );
    assert_eq!(r.status, 200);
    let r = raw(
        a,
        b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
    );
    assert_eq!(r.status, 200);
    // Huge headers: 431, not a buffer that grows with the client.
    let huge = format!(
        "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(1 << 20)
    );
    assert_eq!(raw(a, huge.as_bytes()).status, 431);
    let many: String = (0..500).map(|i| format!("X-H{i}: v\r\n")).collect();
    assert_eq!(
        raw(a, format!("GET /metrics HTTP/1.1\r\n{many}\r\n").as_bytes()).status,
        431
    );
    let long_uri = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "x".repeat(100_000));
    assert_eq!(raw(a, long_uri.as_bytes()).status / 100, 4);

    // Slowloris: ten connections that never finish their headers are cut off after the
    // header timeout, and a proper scrape is answered while they hang.
    let started = Instant::now();
    let mut slow: Vec<TcpStream> = (0..10)
        .map(|_| {
            let mut s = TcpStream::connect(a).unwrap();
            s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                .unwrap();
            s
        })
        .collect();
    assert_eq!(get(a, "/metrics", "").status, 200);
    for s in &mut slow {
        let _ = s.write_all(b"a");
        let (closed, _) = closed_within(s, Duration::from_secs(5));
        assert!(closed, "slow client not cut off");
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    // An idle connection that sends nothing at all is closed too.
    let mut idle = TcpStream::connect(a).unwrap();
    assert!(closed_within(&mut idle, Duration::from_secs(5)).0);
    // A client that vanishes mid-request.
    {
        let mut s = TcpStream::connect(a).unwrap();
        s.write_all(b"GET /metr").unwrap();
    }

    assert!(ex.is_running());
    let r = get(a, "/metrics", "");
    assert_eq!(r.status, 200);
    assert!(r.body.contains("memsight_scans_total"));
}

#[test]
fn a_scan_slower_than_the_scrape_timeout_gets_a_503_and_service_goes_on() {
    // No scan of this machine's processes finishes in a millisecond.
    let mut ex = start(&["--scrape-timeout", "0.001"]);
    let r = get(ex.addr, "/metrics", "");
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(r.body.contains("did not finish in time"));
    assert_eq!(get(ex.addr, "/", "").status, 200);
    assert!(ex.is_running());
}

#[test]
fn a_full_exporter_closes_the_longest_idle_connection_for_a_newcomer() {
    let ex = start(&["--max-connections", "2", "--header-timeout", "5"]);
    // Two keep-alive connections, each proven accepted by one answered request, stay open.
    let mut held: Vec<TcpStream> = (0..2)
        .map(|_| {
            let mut s = TcpStream::connect(ex.addr).unwrap();
            s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
            s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
            let mut got = Vec::new();
            let mut buf = [0u8; 4096];
            while !got.ends_with(b"</html>\n") {
                let n = s.read(&mut buf).unwrap();
                assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&got));
                got.extend_from_slice(&buf[..n]);
            }
            std::thread::sleep(Duration::from_millis(50));
            s
        })
        .collect();
    // The newcomer is served; the first holder (idle longest) is closed, the second is not.
    assert_eq!(get(ex.addr, "/metrics", "").status, 200);
    assert!(closed_within(&mut held[0], Duration::from_secs(1)).0);
    held[1]
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut buf = [0u8; 16];
    let still_open = matches!(held[1].read(&mut buf), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut);
    assert!(still_open, "the younger holder was closed too");
}

#[test]
fn concurrent_scrapes_share_scans() {
    let ex = start(&["--top", "all"]);
    let addr = ex.addr;
    let threads: Vec<_> = (0..16)
        .map(|_| {
            std::thread::spawn(move || {
                (0..5)
                    .map(|_| {
                        let r = get(addr, "/metrics", "");
                        assert_eq!(r.status, 200);
                        sample(&r.body, "memsight_scans_total").unwrap()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut seen = Vec::new();
    for t in threads {
        seen.extend(t.join().unwrap());
    }
    let scans = seen.iter().cloned().fold(0.0, f64::max);
    assert_eq!(seen.len(), 80);
    // 80 scrapes at concurrency 16 are served by far fewer scans than scrapes.
    assert!(scans < 80.0 * 0.75, "{scans} scans for 80 scrapes");
}

// --- cgroups --------------------------------------------------------------------------------

#[test]
fn cgroup_series_from_a_fixture_root() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/cgroup-v2");
    let procfs = root.join("proc");
    let sysfs = root.join("sys");
    let ex = start(&[
        "--procfs",
        procfs.to_str().unwrap(),
        "--sysfs",
        sysfs.to_str().unwrap(),
    ]);
    let body = get(ex.addr, "/metrics", "").body;
    // Values written in the fixture's files (memory.max of the parent pod, memory.current, ...).
    let expect = [
        ("node_memory_MemTotal_bytes", 1_024_000_000.0),
        ("node_memory_Buffers_bytes", 10_240_000.0),
        ("memsight_cgroup_memory_limit_bytes", 134_217_728.0),
        ("memsight_cgroup_memory_usage_bytes", 67_108_864.0),
        ("memsight_cgroup_memory_working_set_bytes", 58_720_256.0),
        ("memsight_cgroup_memory_peak_bytes", 80_000_000.0),
        ("memsight_cgroup_swap_usage_bytes", 4096.0),
        ("memsight_cgroup_oom_events_total", 2.0),
        ("memsight_cgroup_oom_kills_total", 1.0),
        (
            "memsight_cgroup_memory_pressure_stalled_seconds_total{kind=\"some\"}",
            1.5,
        ),
        (
            "memsight_cgroup_memory_pressure_stalled_seconds_total{kind=\"full\"}",
            0.25,
        ),
        (
            "memsight_cgroup_info{path=\"/kubepods/pod1/ctr\",version=\"2\"}",
            1.0,
        ),
    ];
    for (series, value) in expect {
        assert_eq!(sample(&body, series), Some(value), "{series}\n{body}");
    }
    // No swap limit is set (memory.swap.max is "max"), so none is exported.
    assert!(!body.contains("memsight_cgroup_swap_limit_bytes"));
}

#[test]
fn cgroup_root_without_a_limit_exports_no_cgroup_series() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/cgroup-v2-root");
    let ex = start(&[
        "--procfs",
        root.join("proc").to_str().unwrap(),
        "--sysfs",
        root.join("sys").to_str().unwrap(),
    ]);
    let body = get(ex.addr, "/metrics", "").body;
    assert!(!body.contains("memsight_cgroup_"), "{body}");
    assert_eq!(
        sample(&body, "memsight_scrape_errors{reason=\"system\"}"),
        Some(0.0)
    );
}

/// The exporter inside a new memory cgroup with a limit (needs root; CI runs as root) exports
/// that limit and its usage.
#[test]
fn exporter_in_a_real_limited_cgroup_reports_the_limit() {
    support::require_root("creating a memory cgroup");
    let limit: u64 = 200 << 20;
    let name = format!("memsight-serve-test-{}", std::process::id());
    let v1 = Path::new("/sys/fs/cgroup/memory");
    let (dir, limit_file) = if v1.join("memory.limit_in_bytes").exists() {
        (v1.join(&name), "memory.limit_in_bytes")
    } else {
        let root = Path::new("/sys/fs/cgroup");
        std::fs::write(root.join("cgroup.subtree_control"), "+memory").unwrap();
        (root.join(&name), "memory.max")
    };
    std::fs::create_dir(&dir).unwrap();
    struct Cleanup(PathBuf);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let procs = std::fs::read_to_string(self.0.join("cgroup.procs")).unwrap_or_default();
            let root = self.0.parent().unwrap().join("cgroup.procs");
            for pid in procs.lines() {
                let _ = std::fs::write(&root, pid);
            }
            let _ = std::fs::remove_dir(&self.0);
        }
    }
    let cleanup = Cleanup(dir.clone());
    std::fs::write(dir.join(limit_file), limit.to_string()).unwrap();
    // The shell moves itself into the cgroup, then becomes the exporter (same pid).
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "echo $$ > {} && exec {} serve --listen 127.0.0.1:0",
            dir.join("cgroup.procs").display(),
            env!("CARGO_BIN_EXE_memsight")
        ))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let guard = Guard(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let addr: SocketAddr = line
        .trim()
        .trim_start_matches("memsight serve: listening on http://")
        .trim_end_matches("/metrics")
        .parse()
        .unwrap();
    let body = get(addr, "/metrics", "").body;
    drop(guard);
    drop(cleanup);
    assert_eq!(
        sample(&body, "memsight_cgroup_memory_limit_bytes"),
        Some(limit as f64),
        "{body}"
    );
    let usage = sample(&body, "memsight_cgroup_memory_usage_bytes").unwrap();
    // The exporter's own pages are charged to the cgroup.
    assert!(usage > 0.0 && usage <= limit as f64, "usage {usage}");
    assert!(body.contains(&format!("path=\"/{name}\"")), "{body}");
}

/// An exporter running as `nobody` may not read root's smaps_rollup: root's processes still get
/// RSS and VMS (statm is world-readable) but no USS/PSS/swap, and are counted as denied.
#[test]
fn unprivileged_exporter_exports_rss_of_denied_processes_and_counts_them() {
    support::require_root("running the exporter as nobody through setpriv");
    let (_hog, pid) = memory_hog(16);
    let mut child = Command::new("setpriv")
        .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"])
        .arg(env!("CARGO_BIN_EXE_memsight"))
        .args(["serve", "--listen", "127.0.0.1:0", "--top", "all"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("setpriv (util-linux) runs");
    let stdout = child.stdout.take().unwrap();
    let _guard = Guard(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let addr: SocketAddr = line
        .trim()
        .trim_start_matches("memsight serve: listening on http://")
        .trim_end_matches("/metrics")
        .parse()
        .unwrap_or_else(|_| panic!("unexpected first line: {line:?}"));
    let body = get(addr, "/metrics", "").body;
    let series = |memtype: &str| {
        format!(
            "memsight_process_memory_bytes{{pid=\"{pid}\",name=\"python3\",memtype=\"{memtype}\"}}"
        )
    };
    let rss = sample(&body, &series("rss")).unwrap_or_else(|| panic!("no rss:\n{body}"));
    assert!(rss >= (16 * MIB) as f64, "rss {rss}");
    assert!(sample(&body, &series("vms")).is_some());
    for memtype in ["uss", "pss", "swap"] {
        assert_eq!(
            sample(&body, &series(memtype)),
            None,
            "{memtype} of a denied process"
        );
    }
    assert!(sample(&body, "memsight_scrape_errors{reason=\"denied\"}").unwrap() >= 1.0);
    // Its own processes it reads in full.
    assert!(body.contains("memtype=\"uss\""));
}

#[test]
fn sigterm_and_sigint_end_the_exporter_cleanly() {
    for signal in ["-TERM", "-INT"] {
        let mut ex = start(&[]);
        assert_eq!(get(ex.addr, "/metrics", "").status, 200);
        let pid = ex.child.0.id().to_string();
        assert!(
            Command::new("kill")
                .args([signal, &pid])
                .status()
                .unwrap()
                .success()
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(status) = ex.child.0.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "still running after {signal}");
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(status.success(), "{signal}: {status:?}");
    }
}

#[test]
fn a_taken_port_is_a_clear_runtime_error_and_bad_flags_a_usage_error() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_memsight"))
        .args(["serve", "--listen", &addr])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(&format!("memsight: cannot listen on {addr}: ")),
        "{stderr}"
    );
    for bad in [
        &["--top", "x"][..],
        &["--group-by", "pid"],
        &["--listen", "nowhere"],
        &["--header-timeout", "0"],
        &["--max-connections", "0"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_memsight"))
            .arg("serve")
            .args(bad)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
    }
}
