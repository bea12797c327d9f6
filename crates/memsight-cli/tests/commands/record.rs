//! `memsight record` and `memsight plot` against processes the test starts: a memory ramp, a
//! tree of four, shared memory, the budget's exit status, CMD's status, Ctrl-C, a 5 ms command,
//! the pictures, and mprof and psrecord on the same command.

// Runs the Linux binary against procps, psutil and /proc; tests/windows.rs is the Windows one.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the test failing

use crate::support;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use memsight_test_support::python;
use support::memsight;

use serde_json::Value;

const MIB: f64 = (1u64 << 20) as f64;

/// A python script that waits 0.5 s (the interpreter's baseline), ramps its touched memory
/// 0 -> 200 MiB in 10 steps over 2 s, holds 1 s, frees half, holds 0.5 s and exits. It prints
/// the seconds from its start to the start and the end of the first step, to the start of the
/// last step and to the end of the ramp.
const RAMP: &str = r#"
import time, sys
t0 = time.monotonic()
time.sleep(0.5)
blocks = []
for i in range(10):
    time.sleep(0.2)
    start = time.monotonic() - t0
    blocks.append(bytearray(b"\x01") * (20 << 20))
    if i == 0:
        first_start, first = start, time.monotonic() - t0
    last_start = start
print(first_start, first, last_start, time.monotonic() - t0, flush=True)
time.sleep(1.0)
del blocks[5:]
time.sleep(0.5)
"#;

/// The same ramp in 4 forked children of one parent, which waits for them.
const RAMP4: &str = r#"
import os, time
pids = []
for k in range(4):
    pid = os.fork()
    if pid == 0:
        time.sleep(0.5)
        blocks = []
        for i in range(10):
            time.sleep(0.2)
            blocks.append(bytearray(b"\x01") * (20 << 20))
        time.sleep(1.0)
        del blocks[5:]
        time.sleep(0.5)
        os._exit(0)
    pids.append(pid)
for pid in pids:
    os.waitpid(pid, 0)
"#;

fn record(args: &[&str], cmd: &[&str]) -> Output {
    memsight()
        .arg("record")
        .args(args)
        .arg("--")
        .args(cmd)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// [`record`], which must succeed.
fn record_ok(args: &[&str], cmd: &[&str]) -> Output {
    let out = record(args, cmd);
    memsight_test_support::assert_success(&out);
    out
}

/// [`record_ok`] of the test venv's Python running `script`.
fn record_python(args: &[&str], script: &str) -> Output {
    let py = python();
    record_ok(args, &[py.to_str().unwrap(), "-c", script])
}

fn samples(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn series(samples: &[Value], key: &str) -> Vec<(f64, f64)> {
    samples
        .iter()
        .map(|s| (s["time"].as_f64().unwrap(), s[key].as_f64().unwrap()))
        .collect()
}

/// The highest value, and the time of the first sample holding it.
fn peak(series: &[(f64, f64)]) -> (f64, f64) {
    series.iter().fold(
        (0.0, 0.0),
        |best, &(t, v)| if v > best.1 { (t, v) } else { best },
    )
}

/// The level before the ramp: the longest-lasting steady stretch (consecutive samples within
/// 1 MiB of each other) ahead of the first sample 15 MiB above the first one taken at least 0.3 s
/// in. The script sleeps 0.5 s at that level; a fixed window of the recording's clock may hold no
/// sample at all on a loaded machine, and a sample just before the ramp may catch the first
/// 20 MiB step half filled (twice, if the filler was descheduled).
fn baseline(series: &[(f64, f64)]) -> f64 {
    let start = series.iter().position(|&(t, _)| t >= 0.3).unwrap_or(0);
    let first = series[start].1;
    let onset = series[start..]
        .iter()
        .position(|&(_, v)| v > first + 15.0 * MIB)
        .map(|i| i + start)
        .expect("the ramp never started");
    // (time span, value at its end) of the steady stretch ending at each sample before onset.
    let mut best = (f64::MIN, series[onset.max(1) - 1].1);
    let mut run_start = 0;
    for i in 0..onset {
        if i > 0 && (series[i].1 - series[i - 1].1).abs() > MIB {
            run_start = i;
        }
        let span = series[i].0 - series[run_start].0;
        if span >= best.0 {
            best = (span, series[i].1);
        }
    }
    best.1
}

/// The largest gap between two consecutive samples from `from` to `to` seconds: how precisely
/// the recording can place an event there (the interval on an idle machine, more when a loaded
/// machine delayed a sample).
fn widest_gap(series: &[(f64, f64)], from: f64, to: f64) -> f64 {
    series
        .windows(2)
        .filter(|w| w[1].0 >= from && w[0].0 <= to)
        .map(|w| w[1].0 - w[0].0)
        .fold(0.0, f64::max)
}

#[test]
fn ramp_peak_uss_time_and_final_value() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ramp.jsonl");
    let out = record_python(&["-o", file.to_str().unwrap()], RAMP);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let times: Vec<f64> = stdout
        .split_whitespace()
        .map(|t| t.parse().unwrap())
        .collect();
    let (first_start, first_step, last_start, ramp_end) = (times[0], times[1], times[2], times[3]);
    let s = samples(&file);
    let uss = series(&s, "uss");
    let base = baseline(&uss);
    let (_, top) = peak(&uss);
    let grown = (top - base) / MIB;
    // The ramp holds its top for 1 s, during which the process's USS can still grow by a few
    // MiB (the interpreter's own pages, or khugepaged collapsing a partly filled region into a
    // huge page; on a loaded machine the plateau's first samples were once more than 2 MiB below
    // its top): the peak's time is when the plateau is first reached, within a quarter of a
    // 20 MiB step of the top.
    let t = uss
        .iter()
        .find(|&&(_, v)| v >= top - 5.0 * MIB)
        .map(|&(t, _)| t)
        .unwrap();
    assert!(
        (grown - 200.0).abs() <= 6.0,
        "peak USS grew {grown:.1} MiB, not 200"
    );
    // The recording's clock starts at the spawn, before the interpreter's own clock (by its
    // start-up time, longer under load): both are lined up on the first step, whose first sample
    // over the baseline was taken while the step was being filled, between its start and its
    // end on the script's clock. The plateau is first seen while the last step is filled or
    // after it: between its start and the ramp's end, shifted the same way. Each bound widens
    // by the sample gaps there (two intervals on an idle machine, more where a loaded machine
    // delayed a sample, or descheduled the script in the middle of a step).
    let onset = uss
        .iter()
        .find(|&&(_, v)| v > base + 10.0 * MIB)
        .map(|&(t, _)| t)
        .unwrap();
    let (earliest, latest) = (
        last_start + onset - first_step,
        ramp_end + onset - first_start,
    );
    let slack = widest_gap(&uss, onset - 0.5, onset) + widest_gap(&uss, t - 0.5, t);
    assert!(
        t >= earliest - slack.max(0.2) - 0.01 && t <= latest + slack.max(0.2) + 0.01,
        "peak at {t:.3} s, the last step ran from {earliest:.3} to {latest:.3} s on the \
         recording's clock (sample gaps allow {slack:.3} s)"
    );
    // The level after half is freed: the median of the samples from the drop to the exit (by
    // the values, not a window of the script's clock, which a loaded machine stretches).
    let mut after: Vec<f64> = uss
        .iter()
        .filter(|&&(t, _)| t >= earliest)
        .skip_while(|&&(_, v)| v > top - 50.0 * MIB)
        .map(|&(_, v)| v)
        .collect();
    assert!(!after.is_empty(), "no sample after the drop");
    after.sort_by(f64::total_cmp);
    let kept = (after[after.len() / 2] - base) / MIB;
    assert!(
        (kept - 100.0).abs() <= 5.0,
        "final USS {kept:.1} MiB, not 100"
    );
    // The summary names the peak.
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("samples every 0.1 s"), "{err}");
    assert!(
        err.lines()
            .any(|l| l.starts_with("uss ") && l.contains("M ")),
        "{err}"
    );
}

#[test]
fn children_tree_peak_is_the_sum_with_per_process_series() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tree.jsonl");
    record_python(&["--children", "-o", file.to_str().unwrap()], RAMP4);
    let s = samples(&file);
    let uss = series(&s, "uss");
    let base = baseline(&uss);
    let (_, top) = peak(&uss);
    let grown = (top - base) / MIB;
    assert!(
        (grown - 800.0).abs() <= 24.0,
        "tree peak USS grew {grown:.1} MiB, not 800"
    );
    // Each of the 4 children has its own series reaching 200 MiB.
    let root = s[0]["processes"][0]["pid"].as_u64().unwrap();
    let mut per_pid = std::collections::BTreeMap::<u64, f64>::new();
    for sample in &s {
        for p in sample["processes"].as_array().unwrap() {
            let e = per_pid.entry(p["pid"].as_u64().unwrap()).or_default();
            *e = e.max(p["uss"].as_f64().unwrap());
        }
    }
    let kids: Vec<f64> = per_pid
        .iter()
        .filter(|&(&pid, _)| pid != root)
        .map(|(_, &v)| v / MIB)
        .collect();
    assert_eq!(kids.len(), 4, "{per_pid:?}");
    assert!(
        kids.iter().all(|&v| (200.0..215.0).contains(&v)),
        "{kids:?}"
    );
}

#[test]
fn shared_memory_counts_once_in_tree_pss() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("shared.jsonl");
    let script = r#"
import mmap, os, time
m = mmap.mmap(-1, 100 << 20, flags=mmap.MAP_SHARED)
m.write(b"\x01" * (100 << 20))
kids = []
for k in range(3):
    pid = os.fork()
    if pid == 0:
        s = sum(m[i] for i in range(0, 100 << 20, 4096))
        time.sleep(1.5)
        os._exit(0)
    kids.append(pid)
for pid in kids:
    os.waitpid(pid, 0)
"#;
    record_python(&["--children", "-o", file.to_str().unwrap()], script);
    let s = samples(&file);
    let full: Vec<&Value> = s
        .iter()
        .filter(|x| x["processes"].as_array().unwrap().len() == 4)
        .collect();
    assert!(full.len() >= 3, "too few samples with all 4 processes");
    let last = full[full.len() - 1];
    let pss = last["pss"].as_f64().unwrap() / MIB;
    let rss = last["rss"].as_f64().unwrap() / MIB;
    assert!(
        (100.0..125.0).contains(&pss),
        "tree PSS {pss:.1} MiB, not ~100"
    );
    assert!(
        rss >= 400.0,
        "tree RSS {rss:.1} MiB counts the shared pages 4 times"
    );
}

#[test]
fn max_pss_exits_3_above_the_budget_and_0_below() {
    let script = "b = bytearray(b'\\x01') * (64 << 20); import time; time.sleep(0.4)";
    let py = python();
    let over = record(&["--max-pss", "40M"], &[py.to_str().unwrap(), "-c", script]);
    assert_eq!(
        over.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&over.stderr)
    );
    let err = String::from_utf8_lossy(&over.stderr);
    assert!(err.contains("went over --max-pss 40.0M"), "{err}");
    let under = record(&["--max-pss", "1G"], &[py.to_str().unwrap(), "-c", script]);
    assert_eq!(
        under.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&under.stderr)
    );
}

#[test]
fn command_exit_status_passes_through() {
    let out = record(&[], &["sh", "-c", "sleep 0.1; exit 7"]);
    assert_eq!(out.status.code(), Some(7));
    let out = record(&[], &["sh", "-c", "kill -TERM $$"]);
    assert_eq!(out.status.code(), Some(128 + 15));
    let out = record(&[], &["/nonexistent/program"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot run /nonexistent/program"));
}

#[test]
fn sigint_ends_the_recording_with_a_complete_file() {
    let dir = tempfile::tempdir().unwrap();
    for format in ["jsonl", "csv"] {
        let file = dir.path().join(format!("int.{format}"));
        let child = memsight()
            .args([
                "record",
                "-i",
                "0.02",
                "-o",
                file.to_str().unwrap(),
                "--",
                "sleep",
                "30",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Ten samples in the file first (however long a loaded machine takes to write them).
        let total_lines = |text: &str| match format {
            "jsonl" => text.lines().count(),
            _ => text.lines().filter(|l| l.contains(",total,")).count(),
        };
        for _ in 0..1200 {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            if total_lines(&text) >= 10 {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
        rustix::process::kill_process(pid, rustix::process::Signal::INT).unwrap();
        let out = child.wait_with_output().unwrap();
        // sleep got the SIGINT too and died of it: its status is passed through.
        assert_eq!(out.status.code(), Some(130));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("samples every 0.02 s"), "{err}");
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.ends_with('\n'));
        let n = total_lines(&text);
        assert!(n >= 10, "{n} samples");
        if format == "jsonl" {
            assert_eq!(samples(&file).len(), n);
        }
    }
}

#[test]
fn sigint_while_attached_exits_0() {
    let mut sleeper = Command::new("sleep").arg("30").spawn().unwrap();
    let child = memsight()
        .args(["record", "-p", &sleeper.id().to_string()])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(400));
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::INT).unwrap();
    let out = child.wait_with_output().unwrap();
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("sleep"));
}

#[test]
fn attached_recording_ends_when_the_process_exits() {
    let mut sleeper = Command::new("sleep").arg("0.5").spawn().unwrap();
    let out = memsight()
        .args([
            "record",
            "--fast",
            "--json",
            "-p",
            &sleeper.id().to_string(),
        ])
        .output()
        .unwrap();
    let _ = sleeper.wait();
    memsight_test_support::assert_success(&out);
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(summary["samples"].as_u64().unwrap() >= 3, "{summary}");
    // --fast reads statm only: no USS peak.
    assert!(summary["peaks"][2].is_null(), "{summary}");
    assert!(
        summary["peaks"][0]["bytes"].as_u64().unwrap() > 0,
        "{summary}"
    );
}

#[test]
fn a_short_command_gets_a_sample_and_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("short.jsonl");
    // 50 ms: a 5 ms command can end before the first sample when the machine deschedules
    // `record` between the spawn and that sample (seen beside a CPU hog under nice).
    let out = record_ok(&["-o", file.to_str().unwrap()], &["sleep", "0.05"]);
    let s = samples(&file);
    assert!(!s.is_empty());
    assert!(s[0]["rss"].as_u64().unwrap() > 0, "{:?}", s[0]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("memsight record: ") && err.contains("rss "),
        "{err}"
    );
}

/// The pixels of a PNG file: (width, height, RGB(A) bytes).
fn decode_png(path: &Path) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

fn variance(bytes: &[u8]) -> f64 {
    let n = bytes.len() as f64;
    let mean = bytes.iter().map(|&b| f64::from(b)).sum::<f64>() / n;
    bytes
        .iter()
        .map(|&b| (f64::from(b) - mean).powi(2))
        .sum::<f64>()
        / n
}

#[test]
fn plots_are_valid_pictures_of_the_stated_size_with_the_peak_labelled() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.csv");
    let png = dir.path().join("r.png");
    let script = "import time\nb=[]\nfor i in range(5):\n    b.append(bytearray(b'\\x01')*(8<<20)); time.sleep(0.05)\n";
    let py = python();
    let out = record(
        &[
            "-i",
            "0.02",
            "-o",
            file.to_str().unwrap(),
            "--plot",
            png.to_str().unwrap(),
        ],
        &[py.to_str().unwrap(), "-c", script],
    );
    memsight_test_support::assert_success(&out);
    let (w, h, pixels) = decode_png(&png);
    assert_eq!((w, h), (1000, 600));
    assert!(variance(&pixels) > 100.0, "a blank picture");

    let svg = dir.path().join("r.svg");
    let out = memsight()
        .args(["plot", file.to_str().unwrap(), "-o", svg.to_str().unwrap()])
        .args([
            "--metric", "uss,rss", "--stack", "--width", "800", "--height", "500",
        ])
        .output()
        .unwrap();
    memsight_test_support::assert_success(&out);
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.starts_with("<svg") && text.trim_end().ends_with("</svg>"));
    assert!(text.contains(r#"width="800""#) && text.contains(r#"height="500""#));
    assert!(
        text.contains("peak USS ") && text.contains("peak RSS "),
        "no peak label"
    );
    assert!(
        text.contains("<polygon") || text.contains("<path"),
        "no series drawn"
    );

    let png2 = dir.path().join("s.png");
    let out = memsight()
        .args([
            "plot",
            file.to_str().unwrap(),
            "-o",
            png2.to_str().unwrap(),
            "--stack",
        ])
        .output()
        .unwrap();
    memsight_test_support::assert_success(&out);
    assert_eq!(decode_png(&png2).0, 1000);

    let bad = memsight()
        .args(["plot", "/nonexistent.jsonl"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["record"][..],
        &["record", "-i", "0.001", "--", "true"],
        &["record", "-i", "1e20", "--", "true"],
        &["record", "--fast", "--max-uss", "1G", "--", "true"],
        &["record", "--max-pss", "12X", "--", "true"],
        &["record", "--max-pss", "1G", "--max-rss", "2G", "--", "true"],
        &["plot", "x.jsonl", "--metric", "heap"],
    ] {
        let out = memsight().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}

/// Peak RSS of the same command under mprof (memory_profiler) and psrecord: within 5%.
#[test]
fn peak_rss_agrees_with_mprof_and_psrecord() {
    let dir = tempfile::tempdir().unwrap();
    let py = python();
    let bin = py.parent().unwrap();
    let script = dir.path().join("hog.py");
    std::fs::write(
        &script,
        "import time\nb = bytearray(b'\\x01') * (150 << 20)\ntime.sleep(1.0)\n",
    )
    .unwrap();
    let script = script.to_str().unwrap();
    let out = memsight()
        .args(["record", "--json", "--", py.to_str().unwrap(), script])
        .output()
        .unwrap();
    memsight_test_support::assert_success(&out);
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ours = summary["peaks"][0]["bytes"].as_f64().unwrap() / MIB;

    let dat = dir.path().join("mprof.dat");
    let m = Command::new(bin.join("mprof"))
        .args([
            "run",
            "-T",
            "0.1",
            "-o",
            dat.to_str().unwrap(),
            py.to_str().unwrap(),
            script,
        ])
        .output()
        .unwrap();
    memsight_test_support::assert_success(&m);
    // mprof writes "MEM <MiB> <unix time>" lines.
    let mprof = std::fs::read_to_string(&dat)
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("MEM "))
        .filter_map(|l| l.split_whitespace().next()?.parse::<f64>().ok())
        .fold(0.0, f64::max);

    let log = dir.path().join("psrecord.txt");
    let p = Command::new(bin.join("psrecord"))
        .arg(format!("{} {script}", py.display()))
        .args([
            "--include-children",
            "--interval",
            "0.1",
            "--log",
            log.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    memsight_test_support::assert_success(&p);
    // psrecord runs the command under `sh -c`, so the python is its child. Its log: elapsed,
    // CPU %, real MB (RSS, MiB), virtual MB.
    let psrecord = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_whitespace().nth(2)?.parse::<f64>().ok())
        .fold(0.0, f64::max);

    for (name, theirs) in [("mprof", mprof), ("psrecord", psrecord)] {
        assert!(
            (ours - theirs).abs() <= 0.05 * theirs,
            "peak RSS: memsight {ours:.1} MiB, {name} {theirs:.1} MiB"
        );
    }
}

/// Waits for `child` at most `limit` (a hang detector far above any normal run, not a timing
/// assertion): kills it and fails the test if it has not ended by then.
fn wait_or_fail(child: std::process::Child, limit: Duration, what: &str) -> Output {
    let pid = child.id();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = std::sync::Arc::clone(&done);
    let watchdog = std::thread::spawn(move || {
        let start = std::time::Instant::now();
        while start.elapsed() < limit {
            if flag.load(std::sync::atomic::Ordering::Relaxed) {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        if let Some(pid) = rustix::process::Pid::from_raw(pid as i32) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        }
        true
    });
    let out = child.wait_with_output().unwrap();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(
        !watchdog.join().unwrap(),
        "{what}: still running after {limit:?}"
    );
    out
}

fn spawn_record(args: &[&str]) -> std::process::Child {
    memsight()
        .arg("record")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Whether `pid` is gone or a zombie (its memory is freed either way).
fn is_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

/// Waits (up to a generous hang bound) until a pid written by the recorded command appears.
fn read_pid_file(path: &Path) -> u32 {
    for _ in 0..1200 {
        if let Ok(text) = std::fs::read_to_string(path)
            && let Ok(pid) = text.trim().parse()
        {
            return pid;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the recorded command never wrote {}", path.display());
}

#[test]
fn a_long_interval_ends_with_the_command_after_one_sample() {
    let child = spawn_record(&["--json", "-i", "3600", "--", "sleep", "0.3"]);
    let out = wait_or_fail(
        child,
        Duration::from_secs(120),
        "record -i 3600 -- sleep 0.3",
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    // Woken by the exit: one sample, not a second one an hour later.
    assert_eq!(summary["samples"], 1, "{summary}");
}

#[test]
fn absurd_intervals_are_refused_before_the_command_starts() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    for interval in ["inf", "1e12", "1e20", "1000000", "-1", "NaN"] {
        let out = memsight()
            .args(["record", "-i", interval, "--", "touch"])
            .arg(&marker)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "-i {interval}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("3600") || interval == "NaN",
            "-i {interval}: {err}"
        );
        assert!(!marker.exists(), "-i {interval} started the command");
    }
}

#[test]
fn bare_record_names_both_ways_to_give_a_target() {
    let out = memsight().arg("record").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--pid") && err.contains("CMD"), "{err}");
}

/// SIGINT, SIGTERM and SIGHUP to `record` alone (not its process group): the sleep of an hour
/// is cut short, the command is ended, the summary is printed and the file is complete.
#[test]
fn stop_signals_end_the_recording_and_the_command() {
    let dir = tempfile::tempdir().unwrap();
    for (name, signal) in [
        ("int", rustix::process::Signal::INT),
        ("term", rustix::process::Signal::TERM),
        ("hup", rustix::process::Signal::HUP),
    ] {
        let pid_file = dir.path().join(format!("{name}.pid"));
        let file = dir.path().join(format!("{name}.jsonl"));
        let script = format!("echo $$ > {}; exec sleep 60", pid_file.display());
        let child = spawn_record(&[
            "-i",
            "3600",
            "--max-rss",
            "1K",
            "-o",
            file.to_str().unwrap(),
            "--",
            "sh",
            "-c",
            &script,
        ]);
        let sleeper = read_pid_file(&pid_file);
        let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
        rustix::process::kill_process(pid, signal).unwrap();
        let out = wait_or_fail(
            child,
            Duration::from_secs(120),
            "record after a stop signal",
        );
        let err = String::from_utf8_lossy(&out.stderr);
        // The budget check ran (its status wins), after the summary.
        assert_eq!(out.status.code(), Some(3), "{signal:?}: {err}");
        assert!(
            err.contains("memsight record: ") && err.contains("went over --max-rss"),
            "{err}"
        );
        assert!(
            is_gone(sleeper),
            "{signal:?}: the command outlived the recording"
        );
        assert!(std::fs::read_to_string(&file).unwrap().ends_with('\n'));
    }
}

#[test]
fn the_command_dies_with_a_killed_record() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let script = format!("echo $$ > {}; exec sleep 60", pid_file.display());
    let mut child = spawn_record(&["--", "sh", "-c", &script]);
    let sleeper = read_pid_file(&pid_file);
    child.kill().unwrap();
    child.wait().unwrap();
    // The kernel delivers the death signal as the parent exits; the orphan may take a moment to
    // be reaped by whoever adopts it.
    for _ in 0..1200 {
        if is_gone(sleeper) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("pid {sleeper} outlived the SIGKILLed record");
}

/// A command started through a wrapper that execs it, peaking within the first second: the
/// summary and the later samples name the program it became, never the wrapper or memsight.
#[test]
fn a_process_is_named_as_the_program_it_execs() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("exec.jsonl");
    let py = python();
    let script = format!(
        "exec {} -c 'import time; b = bytearray(b\"\\x01\") * (80 << 20); time.sleep(0.4)'",
        py.display()
    );
    for _ in 0..3 {
        let out = record_ok(
            &["--json", "-i", "0.05", "-o", file.to_str().unwrap()],
            &["bash", "-c", &script],
        );
        let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
        let rss = &summary["peaks"][0];
        assert!(rss["bytes"].as_u64().unwrap() > 80 << 20, "{summary}");
        let name = rss["name"].as_str().unwrap();
        assert!(
            name.starts_with("python"),
            "peak held by {name:?}: {summary}"
        );
        let s = samples(&file);
        let last = s.last().unwrap()["processes"][0]["name"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(last.starts_with("python"), "last sample names {last:?}");
    }
}

#[test]
fn summary_names_are_sanitised() {
    let py = python();
    let script = "import ctypes, time\n\
                  ctypes.CDLL(None).prctl(15, b'\\x1b]0;PWNED\\x07\\x1b[2J\\nx', 0, 0, 0)\n\
                  b = bytearray(b'\\x01') * (40 << 20)\n\
                  time.sleep(0.5)\n";
    let out = record_ok(&["-i", "0.05"], &[py.to_str().unwrap(), "-c", script]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains(['\x1b', '\x07']), "{err:?}");
    // The kernel keeps 15 bytes of the name: the newline is the last of them.
    assert!(err.contains("?]0;PWNED??[2J? ("), "{err:?}");
    // Summary line, header, four peaks, sparkline: the newline split none of them.
    assert_eq!(err.lines().count(), 7, "{err:?}");
}

/// `-o` onto a full disk (/dev/full, as CSV through a symlink too): a warning, the recording and
/// its summary go on, the command's status is kept.
#[test]
fn a_full_disk_is_a_warning_not_an_orphaned_command() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("full.csv");
    std::os::unix::fs::symlink("/dev/full", &csv).unwrap();
    for target in [Path::new("/dev/full"), csv.as_path()] {
        let out = record(
            &["-i", "0.02", "-o", target.to_str().unwrap()],
            &["sh", "-c", "sleep 0.3; exit 4"],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        if target == csv.as_path() {
            // The header is written before the command starts: that failure stops everything.
            assert_eq!(out.status.code(), Some(1), "{err}");
            assert!(err.contains("No space left on device"), "{err}");
            continue;
        }
        assert_eq!(out.status.code(), Some(4), "{}: {err}", target.display());
        assert!(
            err.contains("warning") && err.contains("No space left"),
            "{err}"
        );
        assert!(
            err.contains("memsight record: ") && err.contains("held most by"),
            "{err}"
        );
    }
}

/// An unwritable `--plot` fails before the command starts; a picture lost at the end keeps the
/// budget's status and the command's.
#[test]
fn plot_paths_are_checked_first_and_a_late_failure_keeps_the_status_order() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let out = memsight()
        .args(["record", "--plot", "/nonexistent-dir/x.png", "--", "touch"])
        .arg(&marker)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent-dir/x.png"));
    assert!(!marker.exists(), "the command ran");

    // The command removes the picture's directory: drawing fails at the end.
    for (budget, exit, want) in [(None, 0, 1), (None, 5, 5), (Some("1K"), 5, 3)] {
        let sub = dir.path().join("gone");
        std::fs::create_dir_all(&sub).unwrap();
        let png = sub.join("x.png");
        let mut args = vec!["--plot", png.to_str().unwrap()];
        if let Some(b) = budget {
            args.extend(["--max-rss", b]);
        }
        // Long enough for a sample of it to exceed the budget on a loaded machine.
        let script = format!("rm -rf {}; sleep 1; exit {exit}", sub.display());
        let out = record(&args, &["sh", "-c", &script]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(want),
            "{budget:?} exit {exit}: {err}"
        );
        assert!(err.contains("--plot"), "{err}");
    }
}

#[test]
fn an_attached_process_exit_wakes_a_long_interval() {
    let mut sleeper = Command::new("sleep").arg("0.5").spawn().unwrap();
    let child = spawn_record(&["--json", "-i", "3600", "-p", &sleeper.id().to_string()]);
    let out = wait_or_fail(child, Duration::from_secs(120), "record -i 3600 -p PID");
    let _ = sleeper.wait();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["samples"], 1, "{summary}");
}
