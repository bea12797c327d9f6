//! `memsight cgroups` on the fixture trees of scripts/make-cgroup-fixtures.py (the live figures
//! are checked by the library's tests/cgroups/cgroups_live.rs).

// Runs the Linux binary against procps, psutil and /proc; tests/windows.rs is the Windows one.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

use crate::support;

use std::path::Path;
use std::process::Output;

use support::{copy_tree, fixture, memsight};

fn run(root: &Path, args: &[&str]) -> Output {
    memsight()
        .arg("cgroups")
        .args(args)
        .arg("--procfs")
        .arg(root.join("proc"))
        .arg("--sysfs")
        .arg(root.join("sys"))
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    memsight_test_support::assert_success(out);
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// The cgroup column (everything after the eight figures) of each table row.
fn cgroup_column(text: &str) -> Vec<String> {
    text.lines()
        .skip_while(|l| !l.starts_with("Procs"))
        .skip(1)
        .map(|l| {
            let mut rest = l;
            for _ in 0..8 {
                rest = rest.trim_start();
                rest = &rest[rest.find(' ').unwrap()..];
            }
            rest[2..].to_owned()
        })
        .collect()
}

#[test]
fn v1_tree_indents_children_under_the_root_and_says_what_the_root_figures_are() {
    let text = stdout(&run(&fixture("cgroups-v1-hybrid"), &["--tree"]));
    let rows = cgroup_column(&text);
    let short: Vec<&str> = rows.iter().map(|r| r.split(" [").next().unwrap()).collect();
    assert_eq!(short[0], "/", "{text}");
    assert_eq!(short[1], "  docker", "{text}");
    assert!(short[2].starts_with("    4f3c"), "{text}");
    assert!(short[3].starts_with("      child"), "{text}");
    assert!(
        text.lines()
            .last()
            .unwrap()
            .starts_with("Note: the cgroup v1 root (/) shows the kernel's own figures"),
        "{text}"
    );
    // Not on v2, where the root is not listed.
    let v2 = stdout(&run(&fixture("cgroups-v2-kubernetes"), &["--tree"]));
    assert!(!v2.contains("Note:"), "{v2}");
}

#[test]
fn tree_indents_by_hierarchy_with_names_and_siblings_by_working_set() {
    let text = stdout(&run(&fixture("cgroups-v2-kubernetes"), &["--tree"]));
    assert!(
        text.starts_with(
            "Memory pressure (avg10/avg60/avg300): some 1.25/0.50/0.10%  full 0.75/0.25/0.05%\n"
        ),
        "{text}"
    );
    let rows = cgroup_column(&text);
    let short: Vec<&str> = rows.iter().map(|r| r.split(" [").next().unwrap()).collect();
    assert_eq!(short[0], "system.slice", "{text}");
    assert_eq!(short[1], "  containerd.service", "larger working set first");
    assert_eq!(short[2], "  kubelet.service");
    assert_eq!(short[3], "kubepods.slice");
    assert_eq!(short[4], "  kubepods-besteffort.slice");
    assert!(
        short[5].starts_with("    kubepods-besteffort-pod9999"),
        "{text}"
    );
    assert!(short[6].starts_with("      crio-4f3c"), "{text}");
    assert_eq!(rows.len(), 12);
    assert!(rows[3].ends_with(" [kubepods]"));
    assert!(rows[5].ends_with(" [pod 99999999-8888-7777-6666-555555555555 (besteffort)]"));
    assert!(
        rows[1].ends_with("containerd.service"),
        "no name repeated: {}",
        rows[1]
    );
    let header = text.lines().nth(1).unwrap();
    assert_eq!(
        header.split_whitespace().collect::<Vec<_>>(),
        [
            "Procs", "Usage", "WorkSet", "Limit", "%Lim", "Anon", "File", "Swap", "Cgroup"
        ]
    );
}

#[test]
fn sort_takes_working_set_with_a_dash_or_an_underscore() {
    let root = fixture("cgroups-v2-systemd");
    let dash = stdout(&run(&root, &["--sort", "working-set"]));
    assert_eq!(stdout(&run(&root, &["--sort", "working_set"])), dash);
    assert_eq!(stdout(&run(&root, &[])), dash, "the default");
}

#[test]
fn flat_table_sorts_depth_bounds_and_shows_the_share_of_the_limit() {
    let root = fixture("cgroups-v2-systemd");
    let text = stdout(&run(&root, &["--sort", "pct"]));
    let rows = cgroup_column(&text);
    // sshd: 4 MiB - 192 KiB of 64 MiB is 5.96%, the largest share; session-2.scope 0.7%.
    assert_eq!(rows[0], "/system.slice/sshd.service");
    let sshd = text
        .lines()
        .find(|l| l.ends_with("/system.slice/sshd.service"))
        .unwrap();
    let cells: Vec<&str> = sshd.split_whitespace().collect();
    assert_eq!(&cells[..5], ["2", "4.0M", "3.8M", "64.0M", "6.0"], "{sshd}");
    let text = stdout(&run(&root, &["--depth", "1", "--sort", "usage"]));
    assert_eq!(
        cgroup_column(&text),
        ["/user.slice", "/system.slice", "/init.scope"]
    );
}

#[test]
fn json_is_the_library_records_and_the_system_pressure() {
    let out = run(&fixture("cgroups-v1-hybrid"), &["--json", "--tree"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let all = v["cgroups"].as_array().unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(all[0]["path"], "/");
    let ctr = &all[2];
    assert_eq!(ctr["name"], "docker 4f3c1a2b9d8e");
    assert_eq!(ctr["usage"], 9 << 20);
    assert_eq!(ctr["working_set"], (9 << 20) - (3 << 19));
    assert_eq!(ctr["limit"], 256 << 20);
    assert_eq!(ctr["swap"], 3 * 12288);
    assert_eq!(ctr["stat"]["anon"], 6 << 20);
    assert_eq!(ctr["events"]["oom_kill"], 3);
    assert_eq!(v["pressure"]["some"]["total"], 3.0);
}

#[test]
fn control_characters_in_cgroup_names_are_sanitised_in_the_table_only() {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&fixture("cgroups-v2-systemd"), dir.path());
    let cg = dir.path().join("sys/fs/cgroup/system.slice");
    copy_tree(
        &cg.join("sshd.service"),
        &cg.join("evil\x1b]0;pwned\x07\x1b[2J.service"),
    );
    let text = stdout(&run(dir.path(), &[]));
    assert!(!text.contains('\x1b') && !text.contains('\x07'), "{text:?}");
    assert!(
        text.contains("/system.slice/evil?]0;pwned??[2J.service"),
        "{text}"
    );
    let json = stdout(&run(dir.path(), &["--json"]));
    assert!(
        json.contains("evil\\u001b]0;pwned\\u0007\\u001b[2J.service"),
        "exact in JSON"
    );
}

#[test]
fn a_malformed_memory_stat_is_an_error_naming_file_and_line() {
    let out = run(&fixture("cgroups-v2-truncated"), &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("memsight: cannot parse "), "{err}");
    assert!(
        err.contains("system.slice/memory.stat: line 3: expected `key value`"),
        "{err}"
    );
}
