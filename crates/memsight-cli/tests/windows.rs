//! The Windows `memsight` (run under Wine by the cargo runner): `free`, `ps`, `info` and `maps`
//! print valid JSON with the Linux keys Windows has and without those it has not, about a real
//! child process this test starts; `plot` draws a recording; the Linux-only commands are not there.

#![cfg(windows)]

use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

/// The environment variable that turns this test binary into the sleeping child.
const CHILD_VAR: &str = "MEMSIGHT_WINDOWS_CHILD";

/// Not a test of its own: the child the other tests inspect. Run with `CHILD_VAR` set, it sleeps
/// until killed (at most a minute); otherwise it returns at once.
#[test]
fn child_sleeps_when_asked() {
    if std::env::var_os(CHILD_VAR).is_some() {
        std::thread::sleep(std::time::Duration::from_secs(60));
    }
}

/// A running child (this binary, sleeping), killed when dropped.
struct Sleeper(Child);

impl Sleeper {
    fn start() -> Sleeper {
        let exe = std::env::current_exe().unwrap();
        let child = Command::new(exe)
            .args(["--exact", "child_sleeps_when_asked", "--test-threads=1"])
            .env(CHILD_VAR, "marker-42")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Sleeper(child)
    }

    fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `memsight ARGS`, which must succeed, and parses its standard output as JSON.
fn json(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_memsight"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "memsight {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "memsight {args:?} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect()
}

fn set<'a>(names: &[&'a str]) -> BTreeSet<&'a str> {
    names.iter().copied().collect()
}

fn u64_of(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} is not a u64 in {v}"))
}

#[test]
fn free_json_has_psutils_windows_keys() {
    let v = json(&["free", "--json"]);
    assert_eq!(keys(&v), set(&["mem", "swap"]), "no cgroup on Windows");
    let mem = &v["mem"];
    assert_eq!(
        keys(mem),
        set(&[
            "total",
            "available",
            "percent",
            "used",
            "free",
            "cached",
            "wired"
        ])
    );
    assert!(u64_of(mem, "total") > 0);
    assert_eq!(
        u64_of(mem, "used") + u64_of(mem, "available"),
        u64_of(mem, "total")
    );
    assert_eq!(
        keys(&v["swap"]),
        set(&["total", "used", "free", "percent", "sin", "sout"])
    );
    // -c 2: two compact objects, one per line.
    let out = Command::new(env!("CARGO_BIN_EXE_memsight"))
        .args(["free", "--json", "-c", "2", "-s", "0.01"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        assert!(u64_of(&v["mem"], "total") > 0);
    }
}

/// Runs `memsight ARGS`, which must succeed: its JSON and its standard error.
fn json_and_stderr(args: &[&str]) -> (Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_memsight"))
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "memsight {args:?}: {stderr}");
    (serde_json::from_slice(&out.stdout).unwrap(), stderr)
}

/// Whether this runs under Wine (the cargo runner sets WINEPREFIX, which Wine passes on).
fn under_wine() -> bool {
    std::env::var_os("WINEPREFIX").is_some()
}

#[test]
fn ps_json_has_the_linux_keys_but_pss_and_swap() {
    let (v, _) = json_and_stderr(&["ps", "--json", "--sort", "pid"]);
    assert_eq!(keys(&v), set(&["processes", "access_denied", "totals"]));
    assert_eq!(keys(&v["totals"]), set(&["uss", "rss", "vms"]));
    let procs = v["processes"].as_array().unwrap();
    for p in procs {
        assert_eq!(
            keys(p),
            set(&["pid", "username", "name", "cmdline", "uss", "rss", "vms"]),
            "{p}"
        );
        assert!(u64_of(p, "uss") > 0, "{p}");
    }
    // memsight itself is always readable: its own working set, command line and name.
    let me = procs
        .iter()
        .find(|p| {
            p["cmdline"]
                .as_array()
                .is_some_and(|c| c.get(1).is_some_and(|a| a == "ps"))
        })
        .unwrap_or_else(|| panic!("memsight ps is not in its own list: {v}"));
    assert_eq!(me["name"], "memsight.exe");
    assert!(u64_of(me, "rss") >= u64_of(me, "uss"));
    assert!(u64_of(me, "vms") > 0);
    let sum: u64 = procs.iter().map(|p| u64_of(p, "uss")).sum();
    assert_eq!(u64_of(&v["totals"], "uss"), sum);
}

#[test]
fn ps_json_reads_a_started_child_or_says_why_not() {
    let child = Sleeper::start();
    let pid = child.pid().to_string();
    let (v, stderr) = json_and_stderr(&["ps", "--json", "--pid", &pid]);
    match v["processes"].as_array().and_then(|a| a.first()) {
        Some(p) => {
            assert_eq!(u64_of(p, "pid").to_string(), pid);
            let cmdline = p["cmdline"].as_array().unwrap();
            assert!(
                cmdline.iter().any(|a| a == "child_sleeps_when_asked"),
                "{p}"
            );
        }
        // Wine walks the working set of the calling process only: the child has no USS there,
        // and memsight says so instead of printing 0.
        None => {
            assert!(under_wine(), "the child is not listed: {v} {stderr}");
            assert!(
                stderr.contains(&format!("no USS for pid {pid}")),
                "{stderr}"
            );
        }
    }
}

#[test]
fn info_json_reads_the_childs_fields_and_leaves_out_linux_ones() {
    let child = Sleeper::start();
    // `num_threads` and `threads` come from two snapshots, and a child just started may still be
    // starting its test thread between them (once 2 threads against num_threads 1): read until
    // one run's two agree.
    let settled =
        |v: &Value| v["threads"].as_array().map(|t| t.len() as u64) == v["num_threads"].as_u64();
    let mut v = json(&["info", &child.pid().to_string(), "--json"]);
    for _ in 0..20 {
        if settled(&v) {
            break;
        }
        v = json(&["info", &child.pid().to_string(), "--json"]);
    }
    // Under Wine the child's USS cannot be read (null, not listed as denied); elsewhere it can.
    assert_eq!(v["memory_full_info"].is_null(), under_wine(), "{v}");
    let k = keys(&v);
    for key in [
        "pid",
        "ppid",
        "name",
        "exe",
        "cwd",
        "cmdline",
        "create_time",
        "status",
        "num_threads",
        "num_handles",
        "username",
        "cpu_times",
        "memory_info",
        "memory_info_ex",
        "memory_full_info",
        "memory_percent",
        "memory_maps",
        "environ",
        "io_counters",
        "threads",
        "children",
        "access_denied",
    ] {
        assert!(k.contains(key), "no {key} in {k:?}");
    }
    for linux_only in [
        "uids",
        "gids",
        "terminal",
        "nice",
        "ionice",
        "num_fds",
        "rlimit",
        "page_faults",
    ] {
        assert!(!k.contains(linux_only), "{linux_only} on Windows: {k:?}");
    }
    assert_eq!(u64_of(&v, "pid"), u64::from(child.pid()));
    assert_eq!(u64_of(&v, "ppid"), u64::from(std::process::id()));
    assert_eq!(
        v["access_denied"].as_array().map(Vec::len),
        Some(0),
        "{}",
        v["access_denied"]
    );
    // The variable this test set, under its upper-cased name (psutil's parse_environ_block).
    assert_eq!(v["environ"][CHILD_VAR], "marker-42");
    assert_eq!(
        keys(&v["memory_info"]),
        set(&["rss", "vms", "peak_rss", "peak_vms"])
    );
    assert_eq!(
        keys(&v["cpu_times"]),
        set(&["user", "system", "children_user", "children_system"])
    );
    let exe = std::env::current_exe().unwrap();
    let name = exe.file_name().unwrap().to_string_lossy();
    assert_eq!(v["name"], name.as_ref());
    let threads = v["threads"].as_array().unwrap();
    assert_eq!(threads.len() as u64, u64_of(&v, "num_threads"));
    assert_eq!(keys(&threads[0]), set(&["id", "user_time", "system_time"]));
}

#[test]
fn maps_json_has_the_childs_image() {
    let child = Sleeper::start();
    let pid = child.pid().to_string();
    let exe = std::env::current_exe().unwrap();
    let name = exe.file_name().unwrap().to_string_lossy().to_lowercase();
    let regions = json(&["maps", &pid, "--json"]);
    let regions = regions.as_array().unwrap();
    assert!(!regions.is_empty());
    for r in regions {
        assert_eq!(keys(r), set(&["addr", "perms", "path", "rss"]), "{r}");
        assert!(r["addr"].as_str().unwrap().starts_with("0x"));
    }
    let image = |r: &&Value| r["path"].as_str().unwrap().to_lowercase().ends_with(&name);
    assert!(regions.iter().any(|r| image(&r)), "no region maps {name}");
    let total = |list: &[Value]| list.iter().map(|r| u64_of(r, "rss")).sum::<u64>();
    // The grouped sizes sum to the regions' own. Each is a separate run against a child that may
    // still be mapping its DLLs, so the grouped run is bracketed by two ungrouped ones and only a
    // bracket whose two totals agree is compared (once 17 pages appeared between two runs).
    let mut before = regions.clone();
    for _ in 0..20 {
        let grouped = json(&["maps", &pid, "--json", "--grouped"]);
        let grouped = grouped.as_array().unwrap();
        for g in grouped {
            assert_eq!(keys(g), set(&["path", "rss"]), "{g}");
        }
        let after = json(&["maps", &pid, "--json"]);
        let after = after.as_array().unwrap().clone();
        if total(&before) == total(&after) {
            assert_eq!(total(grouped), total(&after));
            assert!(grouped.len() < after.len());
            return;
        }
        before = after;
    }
    panic!("the child's mappings never held still over three runs of memsight maps");
}

#[test]
fn linux_only_commands_are_not_there() {
    for command in ["serve", "cgroups", "record"] {
        let out = Command::new(env!("CARGO_BIN_EXE_memsight"))
            .args([command, "--help"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "memsight {command}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_memsight"))
        .arg("--procfs")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// `memsight plot` draws a CSV and a JSON-lines recording (with Windows' figures: no PSS or swap,
/// a process without USS) to SVG and PNG, as on Linux.
#[test]
fn plot_draws_a_recording_with_windows_figures() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("time,duration,pid,name,rss,vms,uss,pss,swap\n");
    let mut jsonl = String::new();
    for i in 0..20u64 {
        let (t, rss) = (i as f64 * 0.1, (i + 1) << 20);
        csv.push_str(&format!("{t},0.001,7,a.exe,{rss},{rss},,,\n"));
        csv.push_str(&format!("{t},0.001,,total,{rss},{rss},,,\n"));
        jsonl.push_str(&format!(
            "{{\"time\":{t},\"duration\":0.001,\"rss\":{rss},\"vms\":{rss},\"uss\":{rss},\
             \"processes\":[{{\"pid\":7,\"name\":\"a.exe\",\"rss\":{rss},\"vms\":{rss},\
             \"uss\":{rss}}}]}}\n"
        ));
    }
    let rec_csv = dir.path().join("r.csv");
    let rec_jsonl = dir.path().join("r.jsonl");
    std::fs::write(&rec_csv, csv).unwrap();
    std::fs::write(&rec_jsonl, jsonl).unwrap();
    for (rec, out, metric) in [(&rec_csv, "r.svg", "rss"), (&rec_jsonl, "r.png", "uss,rss")] {
        let out = dir.path().join(out);
        let run = Command::new(env!("CARGO_BIN_EXE_memsight"))
            .arg("plot")
            .arg(rec)
            .arg("-o")
            .arg(&out)
            .args(["--metric", metric])
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "memsight plot {}: {}",
            rec.display(),
            String::from_utf8_lossy(&run.stderr)
        );
        let bytes = std::fs::read(&out).unwrap();
        if out.extension().is_some_and(|e| e == "svg") {
            let text = String::from_utf8(bytes).unwrap();
            assert!(text.contains("<svg") && text.contains("a.exe"), "{text}");
        } else {
            assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
        }
    }
}
