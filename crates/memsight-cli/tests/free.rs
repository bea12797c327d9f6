//! `memsight free` against procps `free`, and its error handling.

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
        assert!(
            rustix::process::geteuid().is_root(),
            "this test creates a cgroup and needs root (CI runs as root)"
        );
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
