//! `scripts/test.sh`, the command CI runs: a failed stage does not hide the stages after it, and
//! the run ends naming every failed stage with a non-zero status. Run on a copy of the script
//! whose stages are stubs that log their name (a failing cross stage and a failing nextest).

// The script is bash; CI runs it on Linux.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

fn script(path: &Path, body: &str) {
    fs::write(path, format!("#!/usr/bin/env bash\n{body}\n")).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// Runs a copy of `scripts/test.sh` in a temporary tree whose stage scripts are `stages` (name,
/// body) and whose `cargo` on PATH is `cargo`; returns the output and the tree (kept alive).
fn run_with_stubs(stages: &[(&str, String)], cargo: &str) -> (Output, tempfile::TempDir) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = tempfile::tempdir().unwrap();
    let scripts = dir.path().join("scripts");
    let bin = dir.path().join("bin");
    fs::create_dir_all(&scripts).unwrap();
    fs::create_dir_all(&bin).unwrap();
    fs::copy(repo.join("scripts/test.sh"), scripts.join("test.sh")).unwrap();
    for (name, body) in stages {
        script(&scripts.join(name), body);
    }
    script(&bin.join("cargo"), cargo);
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .arg(scripts.join("test.sh"))
        .env("PATH", path)
        .env_remove("MEMSIGHT_TEST_STAGES")
        .output()
        .unwrap();
    (out, dir)
}

#[test]
fn every_stage_runs_and_the_failed_ones_are_named() {
    let logdir = tempfile::tempdir().unwrap();
    let log = logdir.path().join("ran.log");
    let l = log.to_str().unwrap();
    let stages = [
        ("setup.sh", format!("echo setup >> {l}")),
        (
            "test-cross.sh",
            format!(
                "echo cross >> {l}; seq 1000; echo \"thread 'wine' panicked at src/w.rs:7:1\"; \
                 seq 1000; exit 1"
            ),
        ),
        ("test-python.sh", format!("echo python >> {l}")),
        ("fuzz.sh", format!("echo fuzz >> {l}")),
    ];
    // `cargo test --doc` passes, `cargo nextest run` fails.
    let cargo = format!("echo \"cargo $1\" >> {l}; [ \"$1\" != nextest ]");
    let (out, _tree) = run_with_stubs(&stages, &cargo);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("scripts/test.sh: failed stages: cross nextest"),
        "{err}"
    );
    // After the summary, the failed stage's failure line, without the noise around it.
    let tail = err
        .split("== what failed in stage cross")
        .nth(1)
        .unwrap_or("");
    assert!(
        tail.contains("thread 'wine' panicked at src/w.rs:7:1"),
        "{err}"
    );
    assert!(!tail.contains("\n500\n"), "{err}");
    let ran = fs::read_to_string(&log).unwrap();
    assert_eq!(
        ran.lines().collect::<Vec<_>>(),
        [
            "setup",
            "cross",
            "cargo test",
            "cargo nextest",
            "python",
            "fuzz"
        ],
        "{err}"
    );
}

#[test]
fn all_stages_passing_exits_0() {
    let stages =
        ["setup.sh", "test-cross.sh", "test-python.sh", "fuzz.sh"].map(|n| (n, "true".into()));
    let (out, _tree) = run_with_stubs(&stages, "true");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!err.contains("failed stages"), "{err}");
}
