//! The fleet end to end: `memsight serve` scraped by one real Prometheus that loads the shipped
//! rules (deploy/prometheus/memsight-rules.yml). Every rule and every query of the shipped Grafana
//! dashboard (deploy/grafana/memsight.json) is evaluated by that Prometheus over the real series,
//! next to a process with a known 64 MiB of private memory, a memory cgroup the test makes, and a
//! process and a cgroup named to break a query; then a child over its cgroup's limit is
//! OOM-killed and the shipped alert must fire. Also: the dashboard JSON's required fields, and
//! which capability lets an unprivileged exporter read other users' smaps_rollup (the one that
//! deploy/systemd/memsight.service and deploy/kubernetes/daemonset.yaml grant).
//!
//! Needs root (for the cgroups and setpriv; CI runs as root), `prometheus` (Debian's package,
//! installed by scripts/setup.sh) and a C compiler for the test's child.

// Runs the Linux binary against procps, psutil and /proc; tests/windows.rs is the Windows one.
#![cfg(target_os = "linux")]
#![cfg(feature = "serve")]
#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

use crate::support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::scrape::{Exporter, sample, spawn_prometheus, try_raw};
use serde_json::Value;
use support::{Guard, memsight, require_root};

const MIB: u64 = 1024 * 1024;

/// Prometheus's scrape interval (and scrape timeout) in this test, in seconds.
const SCRAPE_INTERVAL: f64 = 3.0;

/// A process name made to break a query or an exposition: quotes, a backslash, braces, a
/// newline and PromQL (15 bytes, the longest comm).
const HOSTILE_NAME: &str = "e\"}\\{\n=~\".*\"or1";

/// A cgroup name made the same way (cgroupfs refuses a newline in a name).
const HOSTILE_CGROUP: &str = "memsight-fleet-\"} or vector(1) # \\ {x=~\".*\"}";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rules_file() -> PathBuf {
    repo().join("deploy/prometheus/memsight-rules.yml")
}

fn dashboard() -> Value {
    let path = repo().join("deploy/grafana/memsight.json");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// --- The children -----------------------------------------------------------------------------

/// Compiles the test's child into `dir`: it mallocs and touches the MiB it is given, prints
/// `ready`, and sleeps until killed. Its USS is those MiB and a few pages of libc.
fn compile_hog(dir: &Path) -> PathBuf {
    let src = dir.join("hog.c");
    std::fs::write(
        &src,
        r#"#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
    size_t n = (size_t)atoi(argc > 1 ? argv[1] : "0") << 20;
    volatile char *p = malloc(n ? n : 1);
    if (!p) return 1;
    for (size_t i = 0; i < n; i++) p[i] = 1;
    printf("ready\n");
    fflush(stdout);
    for (;;) pause();
}
"#,
    )
    .unwrap();
    let exe = dir.join("memsight-hog");
    let status = Command::new("cc")
        .args(["-O0", "-o"])
        .arg(&exe)
        .arg(&src)
        .status()
        .expect("cc (scripts/setup.sh installs gcc)");
    assert!(status.success());
    exe
}

/// Starts `exe MIB` through a shell that first moves itself into the cgroup whose `cgroup.procs`
/// is `procs` (if any), so the child's pages are charged there. Returns once it is ready.
fn spawn_in(exe: &Path, mib: u64, procs: Option<&Path>) -> (Guard, u32) {
    let join = procs.map_or(String::new(), |p| {
        format!("echo $$ > '{}' && ", p.display())
    });
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("{join}exec \"$0\" {mib}"))
        .arg(exe)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let pid = child.id();
    let guard = Guard(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready");
    (guard, pid)
}

/// A memory cgroup made for the test, with a limit; its processes moved out and the directory
/// removed on drop.
struct TestCgroup {
    dir: PathBuf,
    /// The path as the exporter labels it (`/NAME`).
    label: String,
}

impl TestCgroup {
    fn new(name: &str, limit: u64) -> TestCgroup {
        let v1 = Path::new("/sys/fs/cgroup/memory");
        let (root, limit_file) = if v1.join("memory.limit_in_bytes").exists() {
            (v1.to_path_buf(), "memory.limit_in_bytes")
        } else {
            let root = Path::new("/sys/fs/cgroup");
            std::fs::write(root.join("cgroup.subtree_control"), "+memory").unwrap();
            (root.to_path_buf(), "memory.max")
        };
        let dir = root.join(name);
        std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        let cg = TestCgroup {
            dir,
            label: format!("/{name}"),
        };
        std::fs::write(cg.dir.join(limit_file), limit.to_string()).unwrap();
        // No swap either, where swap is accounted: over the limit means the OOM killer.
        let no_swap = [
            ("memory.swap.max", "0".to_owned()),
            ("memory.memsw.limit_in_bytes", limit.to_string()),
        ];
        for (file, value) in no_swap {
            if cg.dir.join(file).exists() {
                std::fs::write(cg.dir.join(file), value).unwrap();
            }
        }
        cg
    }

    fn procs(&self) -> PathBuf {
        self.dir.join("cgroup.procs")
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        let procs = std::fs::read_to_string(self.procs()).unwrap_or_default();
        let root = self.dir.parent().unwrap().join("cgroup.procs");
        for pid in procs.lines() {
            let _ = std::fs::write(&root, pid);
        }
        // A killed child leaves the cgroup a moment after it is reaped.
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::fs::remove_dir(&self.dir).is_err() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A `sleep` whose process name is [`HOSTILE_NAME`].
fn hostile_sleeper(dir: &Path) -> (Guard, u32) {
    let exe = dir.join(HOSTILE_NAME);
    std::fs::copy("/bin/sleep", &exe).unwrap();
    let child = Command::new(&exe).arg("600").spawn().unwrap();
    let pid = child.id();
    let guard = Guard(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::read(format!("/proc/{pid}/comm")).unwrap_or_default()
        != format!("{HOSTILE_NAME}\n").as_bytes()
    {
        assert!(Instant::now() < deadline, "sleeper never exec'd");
        std::thread::sleep(Duration::from_millis(10));
    }
    (guard, pid)
}

// --- Prometheus -------------------------------------------------------------------------------

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

/// `GET path` on Prometheus: its JSON answer, or None while it is not answering. Asked in
/// HTTP/1.0, so that a long answer comes whole rather than in chunks.
fn api(prom: SocketAddr, path: &str) -> Option<Value> {
    let request = format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n");
    let r = try_raw(prom, request.as_bytes()).ok()?;
    serde_json::from_str(&r.body).ok()
}

/// Where instant queries go: a Prometheus, and the time they are evaluated at.
#[derive(Clone, Copy)]
struct At {
    prom: SocketAddr,
    /// Seconds since the epoch. Fixed once every series is in, so that a later scrape that runs
    /// out of time on a loaded machine (Prometheus then marks the target's series stale) cannot
    /// take series away from the checks.
    time: f64,
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// An instant query: the vector's (labels, value), or Prometheus's error.
fn instant(at: At, promql: &str) -> Result<Vec<(Value, f64)>, String> {
    let path = format!(
        "/api/v1/query?query={}&time={:.3}",
        url_encode(promql),
        at.time
    );
    let v = api(at.prom, &path).ok_or_else(|| "no answer".to_owned())?;
    if v["status"] != "success" {
        return Err(format!("{}: {}", v["errorType"], v["error"]));
    }
    let data = &v["data"];
    match data["resultType"].as_str() {
        Some("vector") => Ok(data["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let value = r["value"][1].as_str().unwrap().parse().unwrap();
                (r["metric"].clone(), value)
            })
            .collect()),
        Some("scalar") => Ok(vec![(
            Value::Null,
            data["result"][1].as_str().unwrap().parse().unwrap(),
        )]),
        other => Err(format!("unexpected result type {other:?}")),
    }
}

fn query(at: At, promql: &str) -> Vec<(Value, f64)> {
    instant(at, promql).unwrap_or_default()
}

/// One Prometheus on a free loopback port, scraping `target` every [`SCRAPE_INTERVAL`] seconds
/// as job `memsight`, evaluating the shipped rules every second; data and log in `dir`.
fn start_prometheus(dir: &Path, target: SocketAddr) -> (Guard, SocketAddr) {
    spawn_prometheus(
        dir,
        &format!(
            "global:\n  scrape_interval: {SCRAPE_INTERVAL}s\n  scrape_timeout: {SCRAPE_INTERVAL}s\n  evaluation_interval: 1s\n\
             rule_files:\n  - '{}'\n\
             scrape_configs:\n  - job_name: memsight\n    static_configs:\n      - targets: ['{target}']\n",
            rules_file().display()
        ),
    )
}

// --- Reading PromQL ---------------------------------------------------------------------------

/// The metric names a PromQL expression selects (not functions, aggregations, keywords, label
/// names or values, durations or numbers).
fn metric_names(expr: &str) -> BTreeSet<String> {
    const AGGREGATIONS: &[&str] = &[
        "sum",
        "min",
        "max",
        "avg",
        "group",
        "stddev",
        "stdvar",
        "count",
        "count_values",
        "bottomk",
        "topk",
        "quantile",
    ];
    const KEYWORDS: &[&str] = &["and", "or", "unless", "bool", "offset", "inf", "nan"];
    const LABEL_LISTS: &[&str] = &[
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
    ];
    // Drop string literals, then what stands between braces and brackets.
    let mut plain = String::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in expr.chars() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' && q != '`' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None if matches!(c, '"' | '\'' | '`') => quote = Some(c),
            None => plain.push(c),
        }
    }
    let mut outer = String::new();
    let mut depth = 0usize;
    for c in plain.chars() {
        match c {
            '{' | '[' => depth += 1,
            '}' | ']' => depth = depth.saturating_sub(1),
            _ if depth == 0 => outer.push(c),
            _ => {}
        }
    }
    let chars: Vec<char> = outer.chars().collect();
    let mut names = BTreeSet::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() || c == '.' {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
            continue;
        }
        if !(c.is_ascii_alphabetic() || c == '_' || c == ':') {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && (chars[i].is_ascii_alphanumeric() || matches!(chars[i], '_' | ':'))
        {
            i += 1;
        }
        let word: String = chars[start..i].iter().collect();
        let mut next = i;
        while next < chars.len() && chars[next].is_whitespace() {
            next += 1;
        }
        if LABEL_LISTS.contains(&word.as_str()) {
            // Skip the parenthesised label list that follows, if any.
            if chars.get(next) == Some(&'(') {
                while next < chars.len() && chars[next] != ')' {
                    next += 1;
                }
                i = next + 1;
            }
            continue;
        }
        if chars.get(next) == Some(&'(')
            || AGGREGATIONS.contains(&word.as_str())
            || KEYWORDS.contains(&word.to_ascii_lowercase().as_str())
        {
            continue;
        }
        names.insert(word);
    }
    names
}

#[test]
fn metric_names_are_read_from_promql() {
    let names = |e: &str| metric_names(e).into_iter().collect::<Vec<_>>();
    assert_eq!(
        names(
            r#"topk(10, a_b{x="y{z}", w=~"or(q)"} / ignoring (memtype, limit) c:d:e{l="1"}[5m] offset 10m) > 4 * 3600 and 1e3 < sum without (g) (f)"#
        ),
        ["a_b", "c:d:e", "f"]
    );
    assert_eq!(
        names("predict_linear(s_free[1h], 4 * 3600) < 0 or up == 0"),
        ["s_free", "up"]
    );
    assert_eq!(names("sum by (job, path) (x) unless on(job) y"), ["x", "y"]);
}

/// Every (panel title, query) of the dashboard, with Grafana's variables as an operator viewing
/// every instance gets them.
fn dashboard_queries(dash: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for panel in dash["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"].as_str().unwrap();
            let expr = expr
                .replace("$instance", ".+")
                .replace("$__rate_interval", "1m");
            assert!(!expr.contains('$'), "unknown variable in {expr}");
            out.push((panel["title"].as_str().unwrap().to_owned(), expr));
        }
    }
    out
}

/// The names of the rules in the shipped file (`- record: NAME` and `- alert: NAME` lines).
fn shipped_rule_names() -> BTreeSet<String> {
    std::fs::read_to_string(rules_file())
        .unwrap()
        .lines()
        .filter_map(|l| {
            let l = l.trim_start().strip_prefix("- ")?;
            let name = l
                .strip_prefix("record:")
                .or_else(|| l.strip_prefix("alert:"))?;
            Some(name.trim().to_owned())
        })
        .collect()
}

/// Series that a machine may lack, and why: the metric name, and whether this machine has what
/// the exporter needs to export it.
fn host_provides(name: &str) -> bool {
    match name {
        // Per-cgroup PSI exists on cgroup v2 only, with a memory controller.
        "memsight_cgroup_pressure_memory_stalled_seconds_total" => {
            std::fs::read_to_string("/sys/fs/cgroup/cgroup.controllers")
                .is_ok_and(|c| c.split_whitespace().any(|x| x == "memory"))
                && Path::new("/sys/fs/cgroup/memory.pressure").exists()
        }
        n if n.starts_with("node_pressure_memory_") || n.contains("pressure_memory_") => {
            Path::new("/proc/pressure/memory").exists()
        }
        _ => true,
    }
}

// --- The tests --------------------------------------------------------------------------------

#[test]
fn dashboard_json_has_what_grafana_requires() {
    let dash = dashboard();
    assert!(!dash["title"].as_str().unwrap().is_empty());
    let uid = dash["uid"].as_str().unwrap();
    assert!(
        (1..=40).contains(&uid.len())
            && uid
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
        "uid {uid}"
    );
    assert!(dash["schemaVersion"].as_u64().unwrap() >= 36);
    assert!(
        dash.get("id").is_none_or(Value::is_null),
        "provisioned dashboards carry no id"
    );
    // The data source is a variable, so the file works with any Prometheus data source.
    let vars = dash["templating"]["list"].as_array().unwrap();
    let ds = vars
        .iter()
        .find(|v| v["type"] == "datasource")
        .expect("a datasource variable");
    assert_eq!(ds["query"], "prometheus");
    let ds_ref = format!("${{{}}}", ds["name"].as_str().unwrap());
    // Variables a local user could steer (process or cgroup names) would be pasted into
    // queries: only the instance is offered, from Prometheus's own target labels.
    for v in vars.iter().filter(|v| v["type"] == "query") {
        let q = v["definition"].as_str().unwrap();
        assert_eq!(q, "label_values(memsight_build_info, instance)", "{v}");
        assert_eq!(v["datasource"]["uid"], ds_ref.as_str());
    }
    let panels = dash["panels"].as_array().unwrap();
    assert!(panels.len() >= 8);
    let mut ids = BTreeSet::new();
    let mut queries = 0;
    for p in panels {
        let title = p["title"].as_str().unwrap();
        assert!(!title.is_empty());
        assert!(
            ids.insert(p["id"].as_u64().unwrap()),
            "duplicate id in {title}"
        );
        let kind = p["type"].as_str().unwrap();
        let g = &p["gridPos"];
        let (x, w, h) = (
            g["x"].as_u64().unwrap(),
            g["w"].as_u64().unwrap(),
            g["h"].as_u64().unwrap(),
        );
        assert!(
            g["y"].is_u64() && w >= 1 && h >= 1 && x + w <= 24,
            "{title}: {g}"
        );
        if kind == "row" {
            continue;
        }
        assert!(
            ["timeseries", "stat", "table", "gauge", "bargauge"].contains(&kind),
            "{title}: {kind}"
        );
        assert_eq!(p["datasource"]["type"], "prometheus", "{title}");
        assert_eq!(p["datasource"]["uid"], ds_ref.as_str(), "{title}");
        let targets = p["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "{title}");
        let mut refs = BTreeSet::new();
        for t in targets {
            assert!(refs.insert(t["refId"].as_str().unwrap()), "{title}");
            assert_eq!(t["datasource"]["uid"], ds_ref.as_str(), "{title}");
            let expr = t["expr"].as_str().unwrap();
            assert!(
                expr.contains("$instance"),
                "{title}: {expr} ignores the instance picker"
            );
            queries += 1;
        }
    }
    assert!(queries >= 10);
    // What an operator opens it for: free, pressure, top USS/PSS, growth, limits, swap.
    let titles: String = panels
        .iter()
        .map(|p| p["title"].as_str().unwrap().to_lowercase() + "\n")
        .collect();
    for want in ["free", "pressure", "uss", "pss", "growth", "limit", "swap"] {
        assert!(titles.contains(want), "no panel about {want}:\n{titles}");
    }
}

/// The shipped rules and dashboard, against a real Prometheus scraping the real exporter.
#[test]
fn prometheus_ingests_a_known_process() {
    require_root("creating memory cgroups");
    // A rule file Prometheus cannot load stops it at start: say so at once, not by timing out.
    let check = Command::new("promtool")
        .args(["check", "rules"])
        .arg(rules_file())
        .output()
        .expect("promtool is installed by scripts/setup.sh");
    assert!(
        check.status.success(),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    let dir = tempfile::tempdir().unwrap();
    let hog_exe = compile_hog(dir.path());
    let limit = 256 * MIB;
    let cgroup = TestCgroup::new(&format!("memsight-fleet-{}", std::process::id()), limit);
    let hostile_cgroup = TestCgroup::new(HOSTILE_CGROUP, 128 * MIB);
    // Its limit is below what a child will ask for: the OOM killer runs there, under watch.
    let oom_cgroup = TestCgroup::new(
        &format!("memsight-fleet-oom-{}", std::process::id()),
        32 * MIB,
    );
    let (_hog, pid) = spawn_in(&hog_exe, 64, Some(&cgroup.procs()));
    let (_idle, _) = spawn_in(&hog_exe, 1, Some(&hostile_cgroup.procs()));
    let (_odd, odd) = hostile_sleeper(dir.path());

    let mut serve = memsight();
    serve
        .args(["serve", "--listen", "127.0.0.1:0", "--top", "all"])
        // Only the test's cgroups, however many the machine has (--cgroup-max keeps the largest).
        .args(["--cgroup-match", "^/memsight-fleet-"])
        .stderr(Stdio::inherit());
    let ex = Exporter::spawn(serve);
    let (mut prom_child, mut prom) = start_prometheus(dir.path(), ex.addr);
    let log = || std::fs::read_to_string(dir.path().join("prometheus.log")).unwrap_or_default();

    // Wait for three scrapes and for the rules to have recorded over them.
    let ready = [
        format!("memsight_process_memory_bytes{{pid=\"{pid}\",memtype=\"uss\"}}"),
        format!("memsight_process_memory_bytes{{pid=\"{odd}\"}}"),
        "sum_over_time(up{job=\"memsight\"}[1m]) >= 3".to_owned(),
        format!("memsight:process_uss_bytes:deriv30m{{pid=\"{pid}\"}}"),
        format!(
            "memsight:cgroup_working_set_bytes:ratio_to_limit{{path=\"{}\"}}",
            cgroup.label
        ),
    ];
    let mut restarts = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    let at = loop {
        let at = At { prom, time: now() };
        if ready.iter().all(|q| !query(at, q).is_empty()) {
            break at;
        }
        // Its port, free when picked, may have been taken meanwhile: then it exits; pick again.
        if prom_child.0.try_wait().unwrap().is_some() && restarts < 3 {
            restarts += 1;
            (prom_child, prom) = start_prometheus(dir.path(), ex.addr);
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus never ingested all of {ready:#?}; its log:\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(500));
    };

    // The known process: 64 MiB malloc'd and touched, and a few pages of libc.
    let uss = query(at, &ready[0]);
    assert_eq!(uss.len(), 1);
    let (labels, uss) = &uss[0];
    assert_eq!(labels["name"], "memsight-hog");
    assert_eq!(labels["job"], "memsight");
    let want = (64 * MIB) as f64;
    assert!(
        (uss - want).abs() <= want * 0.05,
        "uss {uss}, want 64 MiB within 5%"
    );

    // The cgroup holds it and shows against its limit.
    let usage = query(
        at,
        &format!(
            "memsight_cgroup_memory_bytes{{path=\"{}\",memtype=\"usage\"}}",
            cgroup.label
        ),
    );
    assert_eq!(usage.len(), 1, "{}", cgroup.label);
    assert!(
        usage[0].1 >= want && usage[0].1 <= limit as f64,
        "cgroup usage {}",
        usage[0].1
    );
    let cg_limit = query(
        at,
        &format!(
            "memsight_cgroup_limit_bytes{{path=\"{}\",limit=\"max\"}}",
            cgroup.label
        ),
    );
    assert_eq!(cg_limit.first().map(|s| s.1), Some(limit as f64));
    let ratio = query(at, &ready[4]);
    assert!(
        (0.2..=1.0).contains(&ratio[0].1),
        "working set / limit {}",
        ratio[0].1
    );

    // System series: pressure (where the kernel has PSI), swap, free's figures.
    let mut system = vec![
        "memsight_swap_total_bytes",
        "memsight_swap_used_bytes",
        "memsight_swap_free_bytes",
        "memsight_swap_in_bytes_total",
        "memsight_swap_out_bytes_total",
        "memsight_memory_available_bytes",
        "memsight_memory_used_bytes",
    ];
    if Path::new("/proc/pressure/memory").exists() {
        system.extend([
            "node_pressure_memory_waiting_seconds_total",
            "node_pressure_memory_stalled_seconds_total",
        ]);
    }
    for name in system {
        assert_eq!(query(at, name).len(), 1, "{name}");
    }

    // Scrapes fail only by running out of time, which a machine loaded by other tests can make
    // them do (the exporter answers 503 when its scan misses the scraper's deadline): never for a
    // body Prometheus cannot take. Every scan Prometheus ingested took less than the interval.
    let targets = api(prom, "/api/v1/targets").unwrap();
    let active = targets["data"]["activeTargets"].as_array().unwrap();
    assert_eq!(active.len(), 1, "{targets}");
    let last_error = active[0]["lastError"].as_str().unwrap();
    assert!(
        last_error.is_empty()
            || last_error.contains("deadline exceeded")
            || last_error.contains("status 503"),
        "last scrape: {last_error}"
    );
    let failed = query(
        at,
        "count_over_time(up{job=\"memsight\"}[5m]) - sum_over_time(up{job=\"memsight\"}[5m])",
    );
    if failed[0].1 > 0.0 {
        eprintln!(
            "{} scrapes ran out of time on this loaded machine",
            failed[0].1
        );
    }
    // A scan fits in the interval. A scan that outran a scrape's deadline still finishes and is
    // served to the next scrape, so the slowest one ingested may exceed it; and on a machine
    // loaded past four times its cores by other work, even the fastest may: speed is then left to
    // scripts/bench-serve.sh, and the figures are printed either way.
    let scans = |f: &str| query(at, &format!("{f}memsight_scrape_duration_seconds[5m])"))[0].1;
    let (fastest, typical, slowest) = (
        scans("min_over_time("),
        scans("quantile_over_time(0.5, "),
        scans("max_over_time("),
    );
    let load: f64 = std::fs::read_to_string("/proc/loadavg")
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    eprintln!("scans: fastest {fastest} s, median {typical} s, slowest {slowest} s; load {load}");
    if load <= 4.0 * cores {
        assert!(
            fastest < SCRAPE_INTERVAL,
            "fastest scan {fastest} s at load {load}"
        );
    } else {
        eprintln!("scan time not held to the interval: load {load} on {cores} cores");
    }
    let own = try_raw(prom, b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")
        .unwrap()
        .body;
    let mut counters = 0;
    for line in own
        .lines()
        .filter(|l| l.starts_with("prometheus_target_scrapes_"))
    {
        let (series, value) = line.rsplit_once(' ').unwrap();
        assert_eq!(value, "0", "{series}");
        counters += 1;
    }
    assert!(counters >= 4, "{own}");
    assert_eq!(
        sample(&own, "prometheus_target_scrape_pools_failed_total"),
        Some(0.0)
    );

    // The hostile names come through as label values, byte for byte.
    let odd_series = query(
        at,
        &format!("memsight_process_memory_bytes{{pid=\"{odd}\",memtype=\"rss\"}}"),
    );
    assert_eq!(odd_series.len(), 1);
    assert_eq!(odd_series[0].0["name"], HOSTILE_NAME);
    let groups = query(at, "memsight_group_processes");
    assert_eq!(
        groups
            .iter()
            .filter(|(l, _)| l["groupname"] == HOSTILE_NAME)
            .count(),
        1,
        "{groups:?}"
    );
    let hostile_path = format!("/{HOSTILE_CGROUP}");
    let hostile_ratio = query(at, "memsight:cgroup_working_set_bytes:ratio_to_limit");
    assert!(
        hostile_ratio
            .iter()
            .any(|(l, _)| l["path"] == hostile_path.as_str()),
        "{hostile_ratio:?}"
    );

    // Every shipped rule is loaded, has been evaluated without error, reads series that exist,
    // and its expression is valid PromQL for this Prometheus.
    let shipped = shipped_rule_names();
    let rules = api(prom, "/api/v1/rules").unwrap();
    let mut loaded = BTreeSet::new();
    for group in rules["data"]["groups"].as_array().unwrap() {
        for rule in group["rules"].as_array().unwrap() {
            let name = rule["name"].as_str().unwrap();
            let expr = rule["query"].as_str().unwrap();
            loaded.insert(name.to_owned());
            assert_eq!(rule["health"], "ok", "{name}: {}", rule["lastError"]);
            instant(at, expr).unwrap_or_else(|e| panic!("{name}: {expr}: {e}"));
            for metric in metric_names(expr) {
                if host_provides(&metric) {
                    assert!(
                        !query(at, &format!("count({{__name__=\"{metric}\"}})")).is_empty(),
                        "rule {name} reads {metric}, which this exporter does not export"
                    );
                }
            }
        }
    }
    assert_eq!(loaded, shipped);
    // Every panel of the dashboard returns data.
    let dash = dashboard();
    for (title, expr) in dashboard_queries(&dash) {
        let result = instant(at, &expr).unwrap_or_else(|e| panic!("{title}: {expr}: {e}"));
        assert!(!result.is_empty(), "panel {title}: no data for {expr}");
        for metric in metric_names(&expr) {
            assert!(
                !query(at, &format!("count({{__name__=\"{metric}\"}})")).is_empty(),
                "panel {title} reads {metric}, which this exporter does not export"
            );
        }
    }
    // The cgroups-against-limits panel shows the test's cgroup.
    let expr = |needle: &str| {
        dashboard_queries(&dash)
            .into_iter()
            .find(|(t, _)| t.to_lowercase().contains(needle))
            .unwrap()
            .1
    };
    let limits = instant(at, &expr("against their limits")).unwrap();
    assert!(
        limits
            .iter()
            .any(|(l, _)| l["path"] == cgroup.label.as_str())
    );

    // A child killed by the OOM killer in a cgroup: the alert fires through the real Prometheus.
    let oom_zero = format!(
        "memsight_cgroup_memory_events_total{{path=\"{}\",event=\"oom_kill\"}} == 0",
        oom_cgroup.label
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while query(At { prom, time: now() }, &oom_zero).is_empty() {
        assert!(
            Instant::now() < deadline,
            "no oom_kill count of 0 for {}",
            oom_cgroup.label
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "echo $$ > '{}' && exec \"$0\" 64",
            oom_cgroup.procs().display()
        ))
        .arg(&hog_exe)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9),
        "the child over its cgroup's limit was not OOM-killed: {status:?}"
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let alerts = api(prom, "/api/v1/alerts").unwrap();
        let firing = alerts["data"]["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| {
                a["labels"]["alertname"] == "MemsightCgroupOOMKills"
                    && a["labels"]["path"] == oom_cgroup.label.as_str()
                    && a["state"] == "firing"
            });
        if firing {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "MemsightCgroupOOMKills never fired for {}: {alerts}",
            oom_cgroup.label
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    drop(prom_child);
}

/// Which capability an exporter running as `nobody` needs to read root's smaps_rollup: the
/// kernel opens it only for a reader that may ptrace the process in read mode (same user, or
/// CAP_SYS_PTRACE); file permissions are not what stops it, so CAP_DAC_READ_SEARCH does not help.
#[test]
fn cap_sys_ptrace_alone_reads_other_users_smaps() {
    require_root("running the exporter as nobody through setpriv");
    let dir = tempfile::tempdir().unwrap();
    let hog_exe = compile_hog(dir.path());
    let (_hog, pid) = spawn_in(&hog_exe, 16, None);
    let scrape = |caps: &[&str]| {
        let mut setpriv = Command::new("setpriv");
        // As the systemd unit runs it: another user, no_new_privs, and only the capability given.
        setpriv.args([
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            "--no-new-privs",
        ]);
        if !caps.is_empty() {
            let list = caps
                .iter()
                .map(|c| format!("+{c}"))
                .collect::<Vec<_>>()
                .join(",");
            setpriv.arg(format!("--inh-caps={list}"));
            setpriv.arg(format!("--ambient-caps={list}"));
            setpriv.arg(format!("--bounding-set=-all,{list}"));
        }
        setpriv.arg("--").arg(env!("CARGO_BIN_EXE_memsight")).args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--top",
            "all",
        ]);
        let ex = Exporter::spawn(setpriv);
        let status = std::fs::read_to_string(format!("/proc/{}/status", ex.child.0.id())).unwrap();
        let body = crate::scrape::get(ex.addr, "/metrics", "").body;
        (status, body)
    };
    let series = |memtype: &str| {
        format!(
            "memsight_process_memory_bytes{{pid=\"{pid}\",name=\"memsight-hog\",memtype=\"{memtype}\"}}"
        )
    };
    let field = |status: &str, key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .map(|v| u64::from_str_radix(v.trim(), 16).unwrap())
            .unwrap()
    };
    // CAP_SYS_PTRACE is bit 19, CAP_DAC_READ_SEARCH bit 2.
    let cases: BTreeMap<&str, (&[&str], u64, bool)> = BTreeMap::from([
        ("none", (&[][..], 0, false)),
        ("sys_ptrace", (&["sys_ptrace"][..], 1 << 19, true)),
        ("dac_read_search", (&["dac_read_search"][..], 1 << 2, false)),
    ]);
    for (what, (caps, effective, reads)) in cases {
        let (status, body) = scrape(caps);
        assert!(
            status.contains("Uid:\t65534\t65534\t65534\t65534"),
            "{what}: {status}"
        );
        assert_eq!(field(&status, "CapEff:"), effective, "{what}: {status}");
        let rss = sample(&body, &series("rss")).unwrap_or_else(|| panic!("{what}: no rss"));
        assert!(rss >= (16 * MIB) as f64, "{what}: rss {rss}");
        let uss = sample(&body, &series("uss"));
        if reads {
            let uss = uss.unwrap_or_else(|| panic!("{what}: no uss"));
            assert!(uss >= (16 * MIB) as f64, "{what}: uss {uss}");
        } else {
            assert_eq!(uss, None, "{what}: read root's smaps_rollup");
            assert!(sample(&body, "memsight_scrape_errors{reason=\"denied\"}").unwrap() >= 1.0);
        }
    }
}

/// The checks of scripts/test-deploy.sh, run as part of the test suite: `promtool check rules`
/// and the rules' unit tests (`promtool test rules`), `systemd-analyze verify` and the unit's
/// exposure score, and the DaemonSet against the Kubernetes schemas (kubernetes-validate in the
/// test venv).
#[test]
fn deploy_files_pass_promtool_systemd_analyze_and_the_kubernetes_schemas() {
    let venv = std::env::var_os("MEMSIGHT_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".venv"));
    if !venv.join("bin/kubernetes-validate").exists() {
        support::skip_or_fail(
            &format!("{} has no kubernetes-validate", venv.display()),
            std::env::var_os("MEMSIGHT_VENV").is_some(),
        );
    }
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        support::skip_or_fail("systemd-analyze (Debian's systemd) is missing", false);
    }
    let out = Command::new(repo().join("scripts/test-deploy.sh"))
        .env("MEMSIGHT_VENV", &venv)
        .env("MEMSIGHT_BIN", env!("CARGO_BIN_EXE_memsight"))
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    for want in [
        "SUCCESS: 15 rules found",
        "Unit Testing:  memsight-rules.test.yml\n  SUCCESS",
        "systemd-analyze verify: no complaint",
        "Overall exposure level for memsight.service",
        "passed for resource daemonset/memsight",
        "deploy: every check passed",
    ] {
        assert!(text.contains(want), "no {want:?} in:\n{text}");
    }
}
