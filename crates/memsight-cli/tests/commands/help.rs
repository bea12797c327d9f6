//! What `--help` says against what the commands do.

// Runs the Linux binary (every command exists there); tests/windows.rs is the Windows one.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

use crate::support;

use support::memsight;

fn run(args: &[&str]) -> std::process::Output {
    memsight().args(args).output().unwrap()
}

#[test]
fn top_level_help_names_every_command() {
    let out = run(&["--help"]);
    memsight_test_support::assert_success(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    // The about paragraph (the crate's description), wrapped to the terminal's width.
    let about = text.split("\n\n").next().unwrap().replace('\n', " ");
    for command in [
        "free", "ps", "info", "maps", "record", "plot", "cgroups", "top", "serve",
    ] {
        assert!(about.contains(command), "{about}");
        assert!(
            text.lines().any(|l| l.trim_start().starts_with(command)),
            "{command} missing from\n{text}"
        );
    }
}

#[test]
fn plot_says_and_enforces_that_the_roots_are_not_its() {
    let help = String::from_utf8(run(&["plot", "--help"]).stdout).unwrap();
    assert!(help.contains("every command but plot"), "{help}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.jsonl");
    std::fs::write(&file, "").unwrap();
    let out = run(&["plot", file.to_str().unwrap(), "--procfs", "/proc"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("mean nothing to plot"), "{err}");
    assert!(!dir.path().join("r.svg").exists());
}
