//! `memsight free` against procps `free`, and its error handling.

// Runs the Linux binary against procps, psutil and /proc; tests/windows.rs is the Windows one.
#![cfg(target_os = "linux")]

use crate::support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn memsight() -> Command {
    Command::new(env!("CARGO_BIN_EXE_memsight"))
}

fn stdout(command: &mut Command) -> String {
    let out = command.env("LANG", "C.UTF-8").output().unwrap();
    assert!(
        out.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn free(args: &[&str]) -> String {
    stdout(Command::new("free").args(args))
}

fn ours(args: &[&str]) -> String {
    stdout(memsight().arg("free").args(args))
}

/// Rows as (label, cells), to compare column by column.
fn cells(table: &str) -> Vec<(String, Vec<String>)> {
    table
        .lines()
        .map(|line| {
            let mut parts = line.split_whitespace().map(str::to_owned);
            let label = if line.starts_with(' ') {
                String::new()
            } else {
                parts.next().unwrap_or_default()
            };
            (label, parts.collect())
        })
        .collect()
}

/// Compares a `memsight free` table with procps's: the same header and labels, every line the
/// same width, exact totals, and each number within `tolerance` (in the printed unit), retrying
/// because memory moves between the two samples.
fn compare(args: &[&str], tolerance: f64) {
    let mut last = String::new();
    for _ in 0..10 {
        let (theirs, mine) = (free(args), ours(args));
        let layout_ok = theirs.lines().count() == mine.lines().count()
            && theirs.lines().next() == mine.lines().next()
            && theirs
                .lines()
                .zip(mine.lines())
                .all(|(a, b)| a.len() == b.len());
        let values_ok =
            cells(&theirs)
                .iter()
                .zip(cells(&mine))
                .skip(1)
                .all(|((la, a), (lb, b))| {
                    la == &lb
                        && a.len() == b.len()
                        && a.iter().zip(&b).enumerate().all(|(i, (x, y))| {
                            if i == 0 {
                                return x == y; // total is exact
                            }
                            match (number(x), number(y)) {
                                (Some(x), Some(y)) => (x - y).abs() <= tolerance,
                                _ => x == y,
                            }
                        })
                });
        if layout_ok && values_ok {
            return;
        }
        last = format!("procps:\n{theirs}\nmemsight:\n{mine}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("`free {args:?}` differs\n{last}");
}

/// A cell as a number in its own unit (`8.7Mi` -> 8.7), for tolerance checks.
fn number(cell: &str) -> Option<f64> {
    cell.trim_end_matches(|c: char| c.is_ascii_alphabetic())
        .parse()
        .ok()
}

#[test]
fn bytes_column_by_column() {
    compare(&["-b"], (5 << 20) as f64);
}

#[test]
fn every_unit_option_matches_procps() {
    compare(&[], (5 << 10) as f64);
    compare(&["-k"], (5 << 10) as f64);
    compare(&["-m"], 5.0);
    compare(&["-g"], 0.0);
    compare(&["--si", "-k"], 5300.0);
    compare(&["--mega"], 5.0);
    compare(&["-w", "-t", "-b"], (5 << 20) as f64);
}

#[test]
fn human_output_matches_procps() {
    // Human cells round to one decimal, so allow one step of the last digit.
    compare(&["-h"], 1.0);
    compare(&["-h", "--si"], 1.0);
    compare(&["-h", "-w", "-t"], 1.0);
}

#[test]
fn json_has_psutil_keys_in_bytes() {
    let json: serde_json::Value = serde_json::from_str(&ours(&["--json"])).unwrap();
    for key in [
        "total",
        "available",
        "percent",
        "used",
        "free",
        "active",
        "inactive",
        "buffers",
        "cached",
        "shared",
        "slab",
    ] {
        assert!(json["mem"].get(key).is_some(), "mem.{key} missing: {json}");
    }
    for key in ["total", "used", "free", "percent", "sin", "sout"] {
        assert!(
            json["swap"].get(key).is_some(),
            "swap.{key} missing: {json}"
        );
    }
    let total = json["mem"]["total"].as_u64().unwrap();
    let procps_total: u64 = free(&["-b"])
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(total, procps_total);
    assert!(json.get("cgroup").is_some());
}

#[test]
fn unknown_option_is_a_usage_error() {
    let out = memsight().args(["free", "--bogus"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Usage"), "{stderr}");
    let out = memsight().args(["free", "-m", "-g"]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "two units are a usage error, as in procps"
    );
}

#[test]
fn closed_pipe_ends_quietly() {
    // `memsight free | head -0`: the reader is gone before memsight writes a byte.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = memsight()
        .args(["free", "-w", "-t"])
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A memory cgroup the test creates and removes (needs root; CI runs as root).
struct TestCgroup {
    dir: PathBuf,
    version: u8,
}

impl TestCgroup {
    fn create(limit: u64) -> TestCgroup {
        support::require_root("creating a memory cgroup");
        let name = format!("memsight-test-{}", std::process::id());
        let v1 = Path::new("/sys/fs/cgroup/memory");
        let (dir, version) = if v1.join("memory.limit_in_bytes").exists() {
            (v1.join(name), 1)
        } else {
            let root = Path::new("/sys/fs/cgroup");
            std::fs::write(root.join("cgroup.subtree_control"), "+memory").unwrap();
            (root.join(name), 2)
        };
        std::fs::create_dir(&dir).unwrap();
        let limit_file = if version == 1 {
            "memory.limit_in_bytes"
        } else {
            "memory.max"
        };
        std::fs::write(dir.join(limit_file), limit.to_string()).unwrap();
        TestCgroup { dir, version }
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        // Move any straggler back to the root so the directory can go.
        let procs = std::fs::read_to_string(self.dir.join("cgroup.procs")).unwrap_or_default();
        let root = self.dir.parent().unwrap().join("cgroup.procs");
        for pid in procs.lines() {
            let _ = std::fs::write(&root, pid);
        }
        let _ = std::fs::remove_dir(&self.dir);
    }
}

#[test]
fn reports_a_real_cgroup_limit_usage_and_peak_as_root() {
    let limit = 96u64 << 20;
    let cgroup = TestCgroup::create(limit);
    let procs = cgroup.dir.join("cgroup.procs");
    let scratch = tempfile::tempdir().unwrap();
    let ready = scratch.path().join("ready");
    // A shell joins the cgroup, starts a holder of 32 MiB of touched memory in it, waits (at
    // most 20 s) until the holder is ready, then runs memsight there.
    let script = format!(
        "echo $$ > {procs} || exit 1; \
         python3 -c 'import time; b=bytearray(b\"x\")*(32<<20); print(1,flush=True); time.sleep(30)' > {ready} & \
         n=0; while [ ! -s {ready} ]; do n=$((n+1)); [ $n -gt 400 ] && exit 1; sleep 0.05; done; \
         {exe} free --json; {exe} free -b; kill $!",
        procs = procs.display(),
        ready = ready.display(),
        exe = env!("CARGO_BIN_EXE_memsight"),
    );
    let out = Command::new("sh").arg("-c").arg(&script).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json_end = text.find("\n}\n").unwrap() + 3;
    let json: serde_json::Value = serde_json::from_str(&text[..json_end]).unwrap();
    let cg = &json["cgroup"];
    assert_eq!(
        cg["version"].as_u64(),
        Some(u64::from(cgroup.version)),
        "{cg}"
    );
    assert_eq!(cg["limit"].as_u64(), Some(limit), "{cg}");
    let usage = cg["usage"].as_u64().unwrap();
    assert!(usage >= 32 << 20 && usage <= limit, "usage {usage}: {cg}");
    assert!(cg["peak"].as_u64().unwrap() >= usage, "{cg}");
    assert!(cg["working_set"].as_u64().unwrap() <= usage);
    let line = text[json_end..]
        .lines()
        .find(|l| l.starts_with("Cgroup:"))
        .unwrap();
    assert_eq!(
        line.split_whitespace().nth(1),
        Some(limit.to_string().as_str()),
        "{line}"
    );
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(name)
        .join("proc")
}

/// procps `free ARGS` reading `meminfo` in place of /proc/meminfo: a private mount namespace
/// (`unshare -m`) with the file bind-mounted over it, so procps itself reads the fixture. Needs
/// root (CI runs as root); `None`, with the reason printed, where that cannot be done.
fn procps_on(meminfo: &Path, args: &[&str]) -> Option<String> {
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped: reading a fixture with procps needs root for a mount namespace");
        return None;
    }
    let out = Command::new("unshare")
        .args([
            "-m",
            "sh",
            "-c",
            r#"mount --bind "$0" /proc/meminfo && exec free "$@""#,
        ])
        .arg(meminfo)
        .args(args)
        .env("LANG", "C")
        .output()
        .unwrap();
    if !out.status.success() {
        eprintln!(
            "skipped: cannot run procps in a mount namespace: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    Some(String::from_utf8(out.stdout).unwrap())
}

fn ours_on(root: &Path, args: &[&str]) -> String {
    stdout(memsight().arg("--procfs").arg(root).arg("free").args(args))
}

/// Every option combination of -l, -v, -t, -w and the units, byte for byte with procps reading the
/// same meminfo: a 32-bit highmem kernel whose memory is overcommitted (negative `Comm:` free).
#[test]
fn lohi_and_committed_lines_match_procps_byte_for_byte() {
    let root = fixture("highmem-overcommit");
    for args in [
        &["-l"][..],
        &["-v"],
        &["-l", "-v", "-t", "-w"],
        &["-l", "-v", "-b"],
        &["-l", "-v", "-m"],
        &["-l", "-v", "-h"],
        &["-l", "-v", "-h", "--si"],
        &["-v", "--mega"],
    ] {
        let Some(theirs) = procps_on(&root.join("meminfo"), args) else {
            return;
        };
        assert_eq!(ours_on(&root, args), theirs, "free {args:?}");
    }
}

/// On a kernel without highmem (no `LowTotal`), procps shows all RAM as low and high as 0.
#[test]
fn lohi_without_highmem_shows_all_ram_as_low_like_procps() {
    let root = fixture("kernel-6.18");
    let args = ["-l", "-v", "-b"];
    if let Some(theirs) = procps_on(&root.join("meminfo"), &args) {
        assert_eq!(ours_on(&root, &args), theirs);
    }
}

/// Kernels before 3.14 print no `MemAvailable`: memsight estimates it as psutil does (from
/// /proc/zoneinfo), procps shows `MemFree`; `--procps-available` gives procps's answer.
#[test]
fn procps_available_flag_gives_memfree_without_memavailable() {
    let root = fixture("kernel-3.10");
    let Some(theirs) = procps_on(&root.join("meminfo"), &["-b"]) else {
        return;
    };
    assert_eq!(ours_on(&root, &["-b", "--procps-available"]), theirs);
    let psutil = ours_on(&root, &["-b"]);
    assert_ne!(
        psutil, theirs,
        "the psutil estimate should differ from MemFree here"
    );
    let json: serde_json::Value =
        serde_json::from_str(&ours_on(&root, &["--json", "--procps-available"])).unwrap();
    let memfree = 200_000 * 1024;
    assert_eq!(json["mem"]["available"], memfree, "{json}");
    assert_eq!(json["mem"]["used"], 1_000_000 * 1024 - memfree, "{json}");
    assert_eq!(json["mem"]["percent"], 80.0, "{json}");
}

/// `-c N -s S` prints N tables with a blank line between them and none after the last, exactly
/// as procps does on the same meminfo.
#[test]
fn repeated_reports_match_procps_byte_for_byte() {
    let root = fixture("highmem-overcommit");
    let args = ["-c", "3", "-s", "0.05", "-l", "-v"];
    let Some(theirs) = procps_on(&root.join("meminfo"), &args) else {
        return;
    };
    let mine = ours_on(&root, &args);
    assert_eq!(mine, theirs);
    assert_eq!(mine.matches("Mem:").count(), 3);
}

/// Live: `-c 3` gives as many reports as procps's `-c 3`, and `-c` alone waits 1 s between them.
#[test]
fn count_alone_repeats_one_second_apart_like_procps() {
    let started = std::time::Instant::now();
    let mine = ours(&["-c", "2"]);
    let elapsed = started.elapsed();
    assert!(
        elapsed >= std::time::Duration::from_millis(950),
        "{elapsed:?}"
    );
    let theirs = free(&["-c", "2", "-s", "0.05"]);
    let shape = |text: &str| {
        text.lines()
            .map(|l| l.split_whitespace().next().unwrap_or("").to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(shape(&mine), shape(&theirs));
    assert_eq!(
        shape(&ours(&["-c", "3", "-s", "0.01"])),
        shape(&free(&["-c", "3", "-s", "0.01"]))
    );
}

/// Reads `child`'s stdout until `reports` tables have arrived.
fn read_reports(child: &mut std::process::Child, reports: usize) -> String {
    use std::io::Read;
    let stdout = child.stdout.as_mut().unwrap();
    let mut text = String::new();
    let mut buf = [0u8; 4096];
    while text.matches("Swap:").count() < reports {
        let n = stdout.read(&mut buf).unwrap();
        assert!(n > 0, "memsight stopped early: {text}");
        text.push_str(std::str::from_utf8(&buf[..n]).unwrap());
    }
    text
}

/// `-s` alone repeats until interrupted; SIGINT ends it with status 0 after whole reports.
#[test]
fn seconds_alone_repeats_until_sigint_and_exits_cleanly() {
    let mut child = memsight()
        .args(["free", "-s", "0.05"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let read = read_reports(&mut child, 3);
    let pid = rustix::process::Pid::from_child(&child);
    rustix::process::kill_process(pid, rustix::process::Signal::INT).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Everything written is whole reports, each ended by a blank line (the read above may have
    // stopped inside the third, before its blank line).
    let all = read + &String::from_utf8(out.stdout).unwrap();
    assert!(all.ends_with("\n\n"), "{all:?}");
    assert_eq!(
        all.matches("Swap:").count(),
        all.matches("\n\n").count(),
        "{all:?}"
    );
}

/// A reader that goes away mid-series ends `free -s` quietly with status 0.
#[test]
fn repeated_reports_to_a_closed_pipe_end_quietly() {
    let mut child = memsight()
        .args(["free", "-s", "0.02"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    read_reports(&mut child, 1);
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `-L`: procps 4.0.3's one line. Its numbers are the table's cells (procps reading the same
/// meminfo), its layout `LABEL %11s ` four times; byte for byte with procps where the installed
/// one has `-L` (4.0.3 and later).
#[test]
fn one_line_output_matches_procps_table_cells() {
    let root = fixture("highmem-overcommit");
    for unit in ["-k", "-b", "-h", "-m"] {
        let line = ours_on(&root, &["-L", unit]);
        assert!(
            line.ends_with(" \n") && line.lines().count() == 1,
            "{line:?}"
        );
        let Some(table) = procps_on(&root.join("meminfo"), &[unit]) else {
            return;
        };
        let rows = cells(&table);
        let (mem, swap) = (&rows[1].1, &rows[2].1);
        let expected: String = [
            ("SwapUse", &swap[1]),
            ("CachUse", &mem[4]),
            (" MemUse", &mem[1]),
            ("MemFree", &mem[2]),
        ]
        .iter()
        .map(|(label, value)| format!("{label} {value:>11} "))
        .collect();
        assert_eq!(line, format!("{expected}\n"), "-L {unit}");
    }
    match procps_on(&root.join("meminfo"), &["-L"]) {
        Some(theirs) => assert_eq!(ours_on(&root, &["-L"]), theirs),
        None => eprintln!("procps here has no -L (before 4.0.3): compared with its table only"),
    }
    let counted = ours_on(&root, &["-L", "-c", "3", "-s", "0.01"]);
    assert_eq!(counted.lines().count(), 3, "{counted:?}");
    assert!(!counted.contains("\n\n"), "{counted:?}");
}

/// `--json` with `-l -v`: `low`, `high` and `commit` objects, in bytes, the table's numbers; with
/// `-c`, one compact object per line.
#[test]
fn json_with_lohi_committed_and_count() {
    let root = fixture("highmem-overcommit");
    let json: serde_json::Value =
        serde_json::from_str(&ours_on(&root, &["--json", "-l", "-v"])).unwrap();
    let table = cells(&ours_on(&root, &["-b", "-l", "-v"]));
    let row = |label: &str| {
        table
            .iter()
            .find(|(l, _)| l == label)
            .map(|(_, cells)| cells.clone())
            .unwrap()
    };
    for (key, label) in [("low", "Low:"), ("high", "High:")] {
        let cells = row(label);
        for (i, field) in ["total", "used", "free"].iter().enumerate() {
            assert_eq!(json[key][field].to_string(), cells[i], "{key}.{field}");
        }
    }
    let comm = row("Comm:");
    for (i, field) in ["limit", "committed_as", "free"].iter().enumerate() {
        assert_eq!(json["commit"][field].to_string(), comm[i], "commit.{field}");
    }
    assert!(json["commit"]["free"].as_i64().unwrap() < 0);
    let plain: serde_json::Value = serde_json::from_str(&ours_on(&root, &["--json"])).unwrap();
    assert!(
        plain.get("low").is_none() && plain.get("commit").is_none(),
        "{plain}"
    );

    let series = ours_on(&root, &["--json", "-c", "2", "-s", "0.01"]);
    let lines: Vec<&str> = series.lines().collect();
    assert_eq!(lines.len(), 2, "{series}");
    for line in lines {
        let report: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(report["mem"]["total"], 3_104_548u64 * 1024);
    }
}

/// Live: -l and -v against procps on this machine (Low: is all of RAM here, Comm: moves a little).
#[test]
fn lohi_and_committed_match_live_procps() {
    compare(&["-l"], (5 << 10) as f64);
    compare(&["-v", "-t", "-w"], (5 << 10) as f64);
}

fn usage_error(args: &[&str]) -> String {
    let out = memsight().arg("free").args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
    assert!(out.stdout.is_empty());
    String::from_utf8(out.stderr).unwrap()
}

/// A usage error names both flags that cannot go together.
#[test]
fn conflicting_flags_are_named_in_the_usage_error() {
    let stderr = usage_error(&["-b", "-m"]);
    assert!(
        stderr.contains("'--bytes' cannot be used with '--mebi'"),
        "{stderr}"
    );
    let stderr = usage_error(&["-L", "-w"]);
    assert!(
        stderr.contains("'--line' cannot be used with '--wide'"),
        "{stderr}"
    );
    let stderr = usage_error(&["--json", "-L"]);
    assert!(
        stderr.contains("'--json' cannot be used with '--line'"),
        "{stderr}"
    );
    let stderr = usage_error(&["-s", "0"]);
    assert!(stderr.contains("--seconds"), "{stderr}");
    let stderr = usage_error(&["-c", "0"]);
    assert!(stderr.contains("--count"), "{stderr}");
}
