//! `memsight plot` on recordings the test writes: empty, infinite, cut, huge-by-pids and
//! hostile ones, and devices in place of a file.

// The commands binary is the Linux one (tests/windows.rs draws a recording on Windows).
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the test failing

use crate::support;

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Output};

use support::memsight;

const HEADER: &str = "time,duration,pid,name,rss,vms,uss,pss,swap\n";
const MIB: u64 = 1 << 20;

fn plot(args: &[&str]) -> Output {
    memsight().arg("plot").args(args).output().unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

/// A ramp to 200 MiB and back, as CSV: one process (pid 42, `name`), 50 samples.
fn ramp_csv(name: &str) -> String {
    let mut text = HEADER.to_string();
    for i in 0..50u64 {
        let v = (i.min(40)) * 5 * MIB;
        let t = i as f64 * 0.1;
        writeln!(text, "{t},0.001,42,{name},{v},{},{v},{v},0", v * 2).unwrap();
        writeln!(text, "{t},0.001,,total,{v},{},{v},{v},0", v * 2).unwrap();
    }
    text
}

#[test]
fn an_empty_recording_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [("e.csv", HEADER), ("e.jsonl", ""), ("blank.jsonl", "\n\n")] {
        let file = write(dir.path(), name, text);
        let out = plot(&[&file]);
        assert_eq!(out.status.code(), Some(1), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("no samples"), "{name}: {err}");
    }
}

#[test]
fn infinite_times_are_refused_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let csv = format!("{HEADER}0,0,,total,1,1,1,1,1\ninf,0,,total,2,2,2,2,2\n");
    let jsonl = "{\"time\":-1.7e308,\"duration\":0,\"rss\":1,\"vms\":1,\"processes\":[]}\n\
                 {\"time\":1.7e308,\"duration\":0,\"rss\":1,\"vms\":1,\"processes\":[]}\n";
    for (name, text, line) in [
        ("t.csv", csv.as_str(), "line 3"),
        ("t.jsonl", jsonl, "line 1"),
    ] {
        let file = write(dir.path(), name, text);
        let out = plot(&[&file]);
        assert_eq!(out.status.code(), Some(1), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(line) && err.contains("time"), "{name}: {err}");
    }
}

#[test]
fn devices_are_refused_instead_of_read_until_memory_runs_out() {
    for device in ["/dev/zero", "/dev/urandom"] {
        let out = plot(&[device, "-o", "/dev/null"]);
        assert_eq!(out.status.code(), Some(1), "{device}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("not a regular file"), "{device}: {err}");
    }
}

#[test]
fn a_cut_last_line_is_dropped_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = ramp_csv("python3");
    text.push_str("5.0,0.001,42,python3,12");
    let file = write(dir.path(), "cut.csv", &text);
    let svg = dir.path().join("cut.svg");
    let out = plot(&[&file, "-o", svg.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("last line is cut"), "{err}");
    assert!(
        std::fs::read_to_string(&svg)
            .unwrap()
            .contains("50 samples")
    );
}

/// Parses `path` as XML with python3's xml.etree: None when well-formed, else the error.
fn xml_error(path: &Path) -> Option<String> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])",
        ])
        .arg(path)
        .output()
        .unwrap();
    (!out.status.success()).then(|| String::from_utf8_lossy(&out.stderr).into_owned())
}

/// A build: `make` (pid 100) for 6,000 samples and 9,000 short-lived compilers, two alive at a
/// time, one named with control characters and markup.
fn build_csv() -> String {
    let mut text = HEADER.to_string();
    let mut next_pid = 1000u64;
    for i in 0..6000u64 {
        let t = i as f64 * 0.1;
        let mut total = 8 * MIB;
        writeln!(
            text,
            "{t},0.001,100,make,{},{},{},{},0",
            8 * MIB,
            16 * MIB,
            4 * MIB,
            5 * MIB
        )
        .unwrap();
        // 1.5 new compilers a sample, each living 2 samples.
        for k in 0..2u64 {
            let pid = 1000 + (i * 3 + k * 2) / 2;
            next_pid = next_pid.max(pid);
            let name = if pid == 1234 {
                "cc1\u{1}\u{1b}[2J<&>"
            } else {
                "cc1"
            };
            let v = (20 + (pid % 40)) * MIB;
            total += v;
            writeln!(text, "{t},0.001,{pid},\"{name}\",{v},{},{v},{v},0", v * 2).unwrap();
        }
        writeln!(text, "{t},0.001,,total,{total},0,{total},{total},0").unwrap();
    }
    assert!(next_pid - 1000 >= 8999, "{next_pid}");
    text
}

#[test]
fn stacking_a_build_stays_small_and_well_formed() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "build.csv", &build_csv());
    let svg = dir.path().join("build.svg");
    let out = plot(&[&file, "--stack", "-o", svg.to_str().unwrap()]);
    memsight_test_support::assert_success(&out);
    let size = std::fs::metadata(&svg).unwrap().len();
    // 9 bands and 3 lines of 6,000 points each; it was 405 MB with a band per pid.
    assert!(size < 8 << 20, "{size} bytes of SVG");
    if let Some(e) = xml_error(&svg) {
        panic!("ill-formed SVG: {e}");
    }
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.contains(" others"), "no others band");
    let png = dir.path().join("build.png");
    let out = plot(&[&file, "--stack", "-o", png.to_str().unwrap()]);
    memsight_test_support::assert_success(&out);
}

#[test]
fn hostile_names_make_well_formed_svg() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "h.csv",
        &ramp_csv("\"x\u{1}\u{1b}]0;t\u{7}<&\u{ffff}\""),
    );
    let svg = dir.path().join("h.svg");
    for extra in [&[][..], &["--stack"]] {
        let mut args = vec![file.as_str(), "-o", svg.to_str().unwrap()];
        args.extend(extra);
        let out = plot(&args);
        memsight_test_support::assert_success(&out);
        if let Some(e) = xml_error(&svg) {
            panic!("ill-formed SVG {extra:?}: {e}");
        }
    }
}

#[test]
fn the_axis_has_round_binary_ticks_and_the_title_names_the_process() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "r.csv", &ramp_csv("python3"));
    let svg = dir.path().join("r.svg");
    let out = plot(&[&file, "-o", svg.to_str().unwrap()]);
    memsight_test_support::assert_success(&out);
    let text = std::fs::read_to_string(&svg).unwrap();
    for tick in ["64 MiB", "128 MiB", "192 MiB", "256 MiB"] {
        assert!(text.lines().any(|l| l.trim() == tick), "no tick {tick}");
    }
    assert!(text.contains("python3 (pid 42)"), "no title");
    assert!(text.contains("peak USS 200.0 MiB"), "no peak label");
    let out = plot(&[&file, "-o", svg.to_str().unwrap(), "--title", "make -j2"]);
    memsight_test_support::assert_success(&out);
    assert!(
        std::fs::read_to_string(&svg)
            .unwrap()
            .contains("make -j2: 50 samples")
    );
}
