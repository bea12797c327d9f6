//! The Windows `memsight` (run under Wine by the cargo runner): `free`, `ps`, `info` and `maps`
//! print valid JSON with the Linux keys Windows has and without those it has not, about a real
//! child process this test starts; `record` records a command and an attached process, with
//! budgets; `plot` draws a recording; the Linux-only commands are not there.

#![cfg(windows)]

use std::collections::BTreeSet;
use std::process::{Child, Command, Output, Stdio};

use memsight_test_support::spawn_or_retry;
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

/// Runs `cmd` to its end, as `Command::output` does (no input, both outputs captured), through
/// [`spawn_or_retry`].
fn output(cmd: &mut Command) -> Output {
    spawn_or_retry(
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    )
    .wait_with_output()
    .unwrap()
}

/// A running child (this binary, sleeping), killed when dropped.
struct Sleeper(Child);

impl Sleeper {
    fn start() -> Sleeper {
        let exe = std::env::current_exe().unwrap();
        let child = spawn_or_retry(
            Command::new(exe)
                .args(["--exact", "child_sleeps_when_asked", "--test-threads=1"])
                .env(CHILD_VAR, "marker-42")
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        );
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
    let out = output(Command::new(env!("CARGO_BIN_EXE_memsight")).args(args));
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
    let out = output(
        Command::new(env!("CARGO_BIN_EXE_memsight"))
            .args(["free", "--json", "-c", "2", "-s", "0.01"]),
    );
    memsight_test_support::assert_success(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        assert!(u64_of(&v["mem"], "total") > 0);
    }
}

/// Runs `memsight ARGS`, which must succeed: its JSON and its standard error.
fn json_and_stderr(args: &[&str]) -> (Value, String) {
    let out = output(Command::new(env!("CARGO_BIN_EXE_memsight")).args(args));
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
    for command in ["serve", "cgroups"] {
        let out = output(Command::new(env!("CARGO_BIN_EXE_memsight")).args([command, "--help"]));
        assert_eq!(out.status.code(), Some(2), "memsight {command}");
    }
    let out = output(Command::new(env!("CARGO_BIN_EXE_memsight")).arg("--procfs"));
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
        let run = output(
            Command::new(env!("CARGO_BIN_EXE_memsight"))
                .arg("plot")
                .arg(rec)
                .arg("-o")
                .arg(&out)
                .args(["--metric", metric]),
        );
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

/// The environment variable that makes this test binary the command `record` runs.
const RECORDED_VAR: &str = "MEMSIGHT_WINDOWS_RECORDED";

/// Not a test of its own: the command the `record` tests run. With `RECORDED_VAR` set, it holds
/// 64 MiB for 0.6 s, then exits with status 7; otherwise it returns at once.
#[test]
fn child_holds_memory_and_exits_7_when_asked() {
    if std::env::var_os(RECORDED_VAR).is_some() {
        let block = std::hint::black_box(vec![1u8; 64 << 20]);
        std::thread::sleep(std::time::Duration::from_millis(600));
        drop(block);
        std::process::exit(7);
    }
}

/// Runs `memsight record ARGS -- <this binary as the 64 MiB child>`.
fn record(args: &[&std::ffi::OsStr]) -> std::process::Output {
    output(
        Command::new(env!("CARGO_BIN_EXE_memsight"))
            .arg("record")
            .args(args)
            .arg("--")
            .arg(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "child_holds_memory_and_exits_7_when_asked",
                "--test-threads=1",
            ])
            .env(RECORDED_VAR, "1"),
    )
}

/// The process rows of a CSV recording: (pid, name, rss, the pss and swap fields).
fn csv_rows(path: &std::path::Path) -> Vec<(u32, String, u64, String)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("time,duration,pid,name,rss,vms,uss,pss,swap")
    );
    lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|f| !f[2].is_empty())
        .map(|f| {
            assert_eq!(f.len(), 9, "{f:?}");
            let pss_swap = format!("{},{}", f[7], f[8]);
            (
                f[2].parse().unwrap(),
                f[3].to_string(),
                f[4].parse().unwrap(),
                pss_swap,
            )
        })
        .collect()
}

#[test]
fn record_writes_the_commands_samples_and_passes_its_status() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("r.csv");
    let out = record(&[
        "-i".as_ref(),
        "0.05".as_ref(),
        "-o".as_ref(),
        csv.as_os_str(),
        "--json".as_ref(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{stderr}");
    let rows = csv_rows(&csv);
    assert!(!rows.is_empty(), "no process rows: {stderr}");
    let exe = std::env::current_exe().unwrap();
    let exe_name = exe.file_name().unwrap().to_string_lossy().to_lowercase();
    let pid = rows[0].0;
    for (p, name, rss, pss_swap) in &rows {
        assert_eq!((*p, name.to_lowercase()), (pid, exe_name.clone()));
        assert!(*rss > 0);
        // No PSS or swap on Windows: empty fields, never 0.
        assert_eq!(pss_swap, ",");
    }
    let peak = rows.iter().map(|r| r.2).max().unwrap_or(0);
    assert!(peak >= 64 << 20, "peak rss {peak}");
    // The summary ends stdout, after the command's own output (libtest's "test NAME ... ",
    // cut by the exit without its newline).
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap();
    let summary: Value = serde_json::from_str(&last[last.find('{').unwrap()..]).unwrap();
    assert_eq!(summary["samples"].as_u64(), Some(rows.len() as u64));
    assert_eq!(summary["peaks"][0]["bytes"].as_u64(), Some(peak));
    assert_eq!(summary["peaks"][0]["pid"].as_u64(), Some(u64::from(pid)));
    assert!(summary["peaks"][3].is_null(), "no PSS peak: {summary}");
}

#[test]
fn record_budgets_exit_3_or_say_why_they_cannot_be_checked() {
    let arg = |a: &'static str| std::ffi::OsStr::new(a);
    let out = record(&[arg("--max-rss"), arg("1M")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("went over --max-rss 1.0M"), "{stderr}");
    // PSS is Linux's: a usage error, before the command starts.
    let out = record(&[arg("--max-pss"), arg("1M")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no PSS figure"), "{stderr}");
    // USS: Windows reads it, Wine only for the calling process: an unread budget is no pass.
    let out = record(&[arg("--max-uss"), arg("1M")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if under_wine() {
        assert_eq!(out.status.code(), Some(7), "{stderr}");
        assert!(stderr.contains("USS could not be read"), "{stderr}");
    } else {
        assert_eq!(out.status.code(), Some(3), "{stderr}");
    }
}

#[test]
fn record_attached_ends_when_the_process_exits() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("a.csv");
    let mut sleeper = Sleeper::start();
    let pid = sleeper.pid();
    let rec = spawn_or_retry(
        Command::new(env!("CARGO_BIN_EXE_memsight"))
            .args(["record", "-i", "0.05", "-p", &pid.to_string(), "-o"])
            .arg(&csv)
            .stdout(Stdio::null())
            .stderr(Stdio::piped()),
    );
    // Two samples written, then the process ends: the recording ends with status 0.
    while std::fs::read_to_string(&csv).map_or(0, |t| t.matches(",total,").count()) < 2 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let _ = sleeper.0.kill();
    let _ = sleeper.0.wait();
    let out = rec.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let rows = csv_rows(&csv);
    assert!(
        rows.len() >= 2 && rows.iter().all(|r| r.0 == pid && r.2 > 0),
        "{rows:?}"
    );
}

#[test]
fn record_killed_takes_its_command_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("k.csv");
    let mut rec = spawn_or_retry(
        Command::new(env!("CARGO_BIN_EXE_memsight"))
            .args(["record", "-i", "0.05", "-o"])
            .arg(&csv)
            .arg("--")
            .arg(std::env::current_exe().unwrap())
            .args(["--exact", "child_sleeps_when_asked", "--test-threads=1"])
            .env(CHILD_VAR, "killed-with-memsight")
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    // The command's pid from the first process row, once memsight has written it whole (the
    // file exists, empty, before the header is in).
    let pid = loop {
        let text = std::fs::read_to_string(&csv).unwrap_or_default();
        let first_row = text
            .split_inclusive('\n')
            .nth(1)
            .filter(|l| l.ends_with('\n'));
        if let Some(pid) = first_row.and_then(|l| l.split(',').nth(2)?.parse::<u32>().ok()) {
            break pid;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let command = memsight::Process::new(pid).unwrap();
    assert!(command.is_running());
    // TerminateProcess, as a task manager kills: memsight's job handle closes with it.
    rec.kill().unwrap();
    rec.wait().unwrap();
    // The command would sleep for a minute; ended with memsight, it is gone long before. The
    // bound only keeps a broken build from hanging here.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while command.is_running() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(!command.is_running(), "the command outlived memsight");
}
