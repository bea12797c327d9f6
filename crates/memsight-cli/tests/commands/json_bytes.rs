//! `--json` survives bytes that are not UTF-8: a child whose working directory, executable (a
//! copy of `sleep` under a non-UTF-8 name: also its name and a mapped file), open file, first
//! argument and environment are not UTF-8, and a cgroup whose directory name is not. Every
//! command's JSON must parse, and carry the exact bytes by the README's rule: the key holds the
//! string with U+FFFD, and `KEY_bytes` the exact bytes when they are not UTF-8.
//!
//! Also the usage errors of size arguments, and bidirectional controls in human output.

#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)]

use crate::support;

use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::{Command, Output};

use memsight_test_support::non_utf8::{Kid, os};
use serde_json::Value;
use support::{Guard, copy_tree, fixture, memsight};

/// The hostile child (memsight-test-support's, shared with the library's tests), returned once
/// its exec is complete.
fn kid() -> Kid {
    Kid::spawn()
}

fn json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn bytes(v: &Value) -> Vec<u8> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a byte array: {v}"))
        .iter()
        .map(|b| u8::try_from(b.as_u64().unwrap()).unwrap())
        .collect()
}

fn raw(p: &Path) -> &[u8] {
    p.as_os_str().as_bytes()
}

#[test]
fn info_json_is_whole_with_exact_bytes() {
    let kid = kid();
    let v = json(
        &memsight()
            .args(["info", &kid.pid().to_string(), "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(v["cwd"], kid.cwd.to_string_lossy().as_ref());
    assert_eq!(bytes(&v["cwd_bytes"]), raw(&kid.cwd));
    assert_eq!(bytes(&v["exe_bytes"]), raw(&kid.exe));
    assert_eq!(v["name"], "sl\u{fffd}eep");
    assert_eq!(bytes(&v["name_bytes"]), b"sl\xffeep");
    assert_eq!(v["cmdline"][0], "zero-\u{fffd}");
    assert_eq!(bytes(&v["cmdline_bytes"][0]), b"zero-\xff");
    assert_eq!(bytes(&v["environ_bytes"][0][0]), b"KEY\xff");
    assert_eq!(bytes(&v["environ_bytes"][0][1]), b"value\xfe");
    let files = v["open_files"].as_array().unwrap();
    assert!(
        files
            .iter()
            .any(|f| bytes(&f["path_bytes"]) == raw(&kid.file)),
        "{files:?}"
    );
    let maps = v["memory_maps"].as_array().unwrap();
    assert!(
        maps.iter().any(|m| m
            .get("path_bytes")
            .is_some_and(|b| bytes(b) == raw(&kid.exe))),
        "{maps:?}"
    );
}

#[test]
fn info_human_output_shows_the_lossy_text() {
    let kid = kid();
    let out = memsight()
        .args(["info", &kid.pid().to_string()])
        .output()
        .unwrap();
    memsight_test_support::assert_success(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("cwd-\u{fffd}"), "{text}");
}

#[test]
fn maps_json_is_whole_with_exact_bytes() {
    let kid = kid();
    for grouped in [false, true] {
        let mut cmd = memsight();
        cmd.args(["maps", &kid.pid().to_string(), "--json"]);
        if grouped {
            cmd.arg("--grouped");
        }
        let v = json(&cmd.output().unwrap());
        let maps = v.as_array().unwrap();
        let exe = maps
            .iter()
            .find(|m| {
                m.get("path_bytes")
                    .is_some_and(|b| bytes(b) == raw(&kid.exe))
            })
            .unwrap_or_else(|| panic!("{maps:?}"));
        assert_eq!(exe["path"], kid.exe.to_string_lossy().as_ref());
        // UTF-8 paths have no sibling.
        assert!(
            maps.iter()
                .any(|m| m["path"] == "[stack]" && m.get("path_bytes").is_none())
        );
    }
}

#[test]
fn ps_json_is_whole_with_exact_bytes() {
    let kid = kid();
    let v = json(
        &memsight()
            .args(["ps", "--pid", &kid.pid().to_string(), "--json"])
            .output()
            .unwrap(),
    );
    let p = &v["processes"][0];
    assert_eq!(p["pid"].as_u64(), Some(u64::from(kid.pid())), "{v}");
    assert_eq!(p["name"], "sl\u{fffd}eep");
    assert_eq!(bytes(&p["name_bytes"]), b"sl\xffeep");
    assert_eq!(bytes(&p["cmdline_bytes"][0]), b"zero-\xff");
    assert_eq!(bytes(&p["cmdline_bytes"][1]), b"100");
}

#[test]
fn cgroups_json_is_whole_with_exact_bytes() {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&fixture("cgroups-v2-systemd"), dir.path());
    let slice = dir.path().join("sys/fs/cgroup/system.slice");
    copy_tree(
        &slice.join("sshd.service"),
        &slice.join(os(b"odd-\xff.service")),
    );
    let v = json(
        &memsight()
            .arg("cgroups")
            .arg("--json")
            .arg("--procfs")
            .arg(dir.path().join("proc"))
            .arg("--sysfs")
            .arg(dir.path().join("sys"))
            .output()
            .unwrap(),
    );
    let all = v["cgroups"].as_array().unwrap();
    let odd = all
        .iter()
        .find(|c| c["path"] == "/system.slice/odd-\u{fffd}.service")
        .unwrap_or_else(|| panic!("{all:?}"));
    assert!(bytes(&odd["directory_bytes"]).ends_with(b"/system.slice/odd-\xff.service"));
    let sshd = all
        .iter()
        .find(|c| c["path"] == "/system.slice/sshd.service")
        .unwrap();
    assert!(sshd.get("directory_bytes").is_none());
}

#[test]
fn record_jsonl_and_summary_carry_exact_names() {
    let kid_dir = tempfile::tempdir().unwrap();
    let sleep = ["/usr/bin/sleep", "/bin/sleep"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap();
    let exe = kid_dir.path().join(os(b"sl\xffeep"));
    std::fs::copy(sleep, &exe).unwrap();
    let out_file = kid_dir.path().join("rec.jsonl");
    let out = memsight()
        .args(["record", "-i", "0.05", "--json", "-o"])
        .arg(&out_file)
        .arg("--")
        .arg(&exe)
        .arg("0.3")
        .output()
        .unwrap();
    let summary = json(&out);
    assert!(summary.is_object(), "{summary}");
    let text = std::fs::read_to_string(&out_file).unwrap();
    let mut names = Vec::new();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        for p in v["processes"].as_array().unwrap() {
            let exact = p.get("name_bytes").map(bytes);
            names.push((p["name"].as_str().unwrap().to_owned(), exact));
        }
    }
    assert!(
        names
            .iter()
            .any(|(n, b)| n == "sl\u{fffd}eep" && b.as_deref() == Some(b"sl\xffeep")),
        "{names:?}"
    );
    // A UTF-8 name has no sibling.
    assert!(
        names
            .iter()
            .all(|(n, b)| n.contains('\u{fffd}') == b.is_some())
    );
    // The summary's peaks name the process the same way.
    let peak = &summary["peaks"][0];
    if peak["name"] == "sl\u{fffd}eep" {
        assert_eq!(bytes(&peak["name_bytes"]), b"sl\xffeep");
    }
}

#[test]
fn sizes_outside_the_documented_units_are_usage_errors() {
    for bad in ["5IB", "5KBB", "1.5"] {
        let out = memsight()
            .args(["record", "--max-pss", bad, "--", "true"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("not a size"), "{bad}: {err}");
    }
}

#[test]
fn bidirectional_controls_are_not_printed_raw() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path().join("evil\u{202E}txt.exe");
    std::fs::create_dir(&cwd).unwrap();
    let guard = Guard(
        Command::new("sleep")
            .arg("100")
            .current_dir(&cwd)
            .spawn()
            .unwrap(),
    );
    let out = memsight()
        .args(["info", &guard.0.id().to_string()])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("evil?txt.exe"), "{text}");
    assert!(!text.contains('\u{202E}'));
    let v = json(
        &memsight()
            .args(["info", &guard.0.id().to_string(), "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(v["cwd"], cwd.to_str().unwrap(), "JSON keeps the exact text");
}
