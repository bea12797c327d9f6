//! `memsight maps PID`: the table against `pmap -x`, `--json` against psutil's memory_maps, and the
//! errors (no such process, access denied, usage).

// Runs the Linux binary against procps, psutil and /proc; tests/windows.rs is the Windows one.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the test failing

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Command, Output};

use serde_json::Value;

struct Kid(Child);

impl Drop for Kid {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn sleeper() -> Kid {
    let kid = Kid(Command::new("sleep").arg("100").spawn().unwrap());
    let pid = kid.0.id();
    for _ in 0..500 {
        if std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c.starts_with(b"sleep")) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // Let the dynamic loader finish mapping.
    std::thread::sleep(std::time::Duration::from_millis(100));
    kid
}

fn memsight(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_memsight"))
        .args(args)
        .output()
        .unwrap()
}

fn ok_stdout(args: &[&str]) -> String {
    let out = memsight(args);
    memsight_test_support::assert_success(&out);
    String::from_utf8(out.stdout).unwrap()
}

fn python() -> PathBuf {
    memsight_test_support::python()
}

#[test]
fn table_matches_pmap_x() {
    let kid = sleeper();
    let pid = kid.0.id().to_string();
    let mine = ok_stdout(&["maps", &pid]);
    let out = Command::new("pmap").args(["-x", &pid]).output().unwrap();
    let theirs = String::from_utf8(out.stdout).unwrap();
    let (mine, theirs): (Vec<&str>, Vec<&str>) = (mine.lines().collect(), theirs.lines().collect());
    assert_eq!(mine.len(), theirs.len(), "{mine:#?}\n{theirs:#?}");
    assert_eq!(mine[0], theirs[0], "the `PID:   cmdline` line");
    assert_eq!(mine[1], theirs[1], "the header");
    for (m, t) in mine[2..].iter().zip(&theirs[2..]) {
        let (mf, tf): (Vec<&str>, Vec<&str>) = (
            m.split_whitespace().collect(),
            t.split_whitespace().collect(),
        );
        if t.starts_with("----") || t.starts_with("total") {
            assert_eq!(m, t);
            continue;
        }
        // Address, Kbytes, RSS, Dirty and Mode exactly; pmap shows a file's base name and
        // `[ anon ]` for every pseudo-path, memsight the whole path.
        assert_eq!(mf[..5], tf[..5], "{m}\n{t}");
        let path = mf[5..].join(" ");
        let name = tf[5..].join(" ");
        if path.starts_with('/') {
            assert!(path.ends_with(&format!("/{name}")), "{path} vs {name}");
        } else {
            assert!(name.starts_with('['), "{path} vs {name}");
        }
    }
}

#[test]
fn json_matches_psutil() {
    let kid = sleeper();
    let pid = kid.0.id().to_string();
    for grouped in [false, true] {
        let mut args = vec!["maps", pid.as_str(), "--json"];
        if grouped {
            args.push("--grouped");
        }
        let mine: Value = serde_json::from_str(&ok_stdout(&args)).unwrap();
        let script = "import psutil, json, sys\np = psutil.Process(int(sys.argv[1]))\nprint(json.dumps([m._asdict() for m in p.memory_maps(grouped=sys.argv[2] == '1')]))";
        let out = Command::new(python())
            .args(["-c", script, &pid, if grouped { "1" } else { "0" }])
            .output()
            .unwrap();
        let theirs: Value = serde_json::from_slice(&out.stdout).unwrap();
        // PSS and the clean shared/private split move with every process on the machine that
        // maps libc (the python oracle among them): compare clean pages as a sum, PSS loosely.
        let strip = |v: &Value| -> Vec<Value> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|m| {
                    let mut m = m.as_object().unwrap().clone();
                    let clean =
                        m["shared_clean"].as_u64().unwrap() + m["private_clean"].as_u64().unwrap();
                    m.insert("clean".into(), clean.into());
                    for k in ["pss", "shared_clean", "private_clean"] {
                        m.remove(k);
                    }
                    Value::Object(m)
                })
                .collect()
        };
        assert_eq!(strip(&mine), strip(&theirs), "grouped={grouped}");
        let keys: Vec<&String> = mine[0].as_object().unwrap().keys().collect();
        let theirs_keys: Vec<&String> = theirs[0].as_object().unwrap().keys().collect();
        assert_eq!(keys, theirs_keys);
        assert_eq!(mine[0].get("addr").is_some(), !grouped);
    }
}

#[test]
fn no_such_process() {
    let out = memsight(&["maps", "4194303"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "memsight: no such process: 4194303\n"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn usage_errors() {
    assert_eq!(memsight(&["maps"]).status.code(), Some(2));
    assert_eq!(memsight(&["maps", "abc"]).status.code(), Some(2));
    assert_eq!(memsight(&["maps", "-5"]).status.code(), Some(2));
}

#[test]
fn kernel_thread_has_no_maps() {
    let out = ok_stdout(&["maps", "2", "--json"]);
    assert_eq!(out.trim(), "[]");
    let table = ok_stdout(&["maps", "2"]);
    assert!(table.starts_with("2:   [kthreadd]"), "{table}");
}

#[test]
fn access_denied_as_nobody() {
    let kid = sleeper();
    let pid = kid.0.id().to_string();
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let exe = dir.path().join("memsight");
    std::fs::copy(env!("CARGO_BIN_EXE_memsight"), &exe).unwrap();
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&exe)
        .args(["maps", &pid])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err,
        format!("memsight: access denied: /proc/{pid}/smaps (pid {pid})\n")
    );
}

#[test]
fn escape_sequences_in_the_cmdline_and_mapped_paths_do_not_reach_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let kid = crate::hostile::hostile_python(dir.path());
    let pid = kid.0.id().to_string();
    for args in [&["maps", &pid][..], &["maps", &pid, "--grouped"][..]] {
        let out = memsight(args);
        let text = String::from_utf8_lossy(&out.stdout);
        memsight_test_support::assert_success(&out);
        assert!(!out.stdout.contains(&0x1b), "{args:?}: {text:?}");
        // The header's command line and the mapped file's path, sanitised.
        assert!(
            text.lines().next().unwrap().ends_with("?]0;pwn??[2J"),
            "{text}"
        );
        assert!(text.contains("map-?]0;pwn??[2J"), "{args:?}: {text}");
    }
    // JSON keeps the exact path.
    let out = memsight(&["maps", &pid, "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mapped = format!("map-{}", crate::hostile::HOSTILE);
    assert!(
        json.as_array()
            .unwrap()
            .iter()
            .any(|m| m["path"].as_str().unwrap_or("").ends_with(&mapped)),
        "{json}"
    );
}
