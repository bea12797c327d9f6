//! `memsight info`: layout, JSON keys, errors and exit codes, and another user's process seen as
//! `nobody`.

// Runs the Linux binary against procps, psutil and /proc; tests/windows.rs is the Windows one.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)]

use crate::support;

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_memsight");

fn memsight(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

struct Kid(Child);

impl Drop for Kid {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `sleep` started by the test (as root), with a secret in its environment and `/` as cwd.
fn sleeper() -> Kid {
    let kid = Kid(Command::new("sleep")
        .arg("60")
        .current_dir("/")
        .env("MEMSIGHT_SECRET", "s3cr3t-value-from-root")
        .spawn()
        .unwrap());
    // Wait until it has exec'd sleep and is asleep (state S), so the fields are settled.
    let stat = format!("/proc/{}/stat", kid.0.id());
    let start = std::time::Instant::now();
    while !std::fs::read_to_string(&stat).is_ok_and(|s| s.contains("(sleep) S ")) {
        assert!(start.elapsed().as_secs() < 10, "sleep did not start");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    kid
}

#[test]
fn json_has_psutils_as_dict_keys_and_the_extras() {
    let kid = sleeper();
    let out = memsight(&["info", &kid.0.id().to_string(), "--json"]);
    memsight_test_support::assert_success(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let keys: BTreeSet<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    let want: BTreeSet<&str> = [
        "pid",
        "ppid",
        "name",
        "exe",
        "cwd",
        "cmdline",
        "create_time",
        "status",
        "nice",
        "ionice",
        "num_threads",
        "num_fds",
        "username",
        "uids",
        "gids",
        "terminal",
        "cpu_affinity",
        "cpu_num",
        "cpu_times",
        "memory_info",
        "memory_full_info",
        "memory_percent",
        "memory_maps",
        "environ",
        "io_counters",
        "num_ctx_switches",
        "open_files",
        "net_connections",
        "threads",
        "rlimit",
        "children",
        "page_faults",
        "access_denied",
    ]
    .into();
    assert_eq!(keys, want);
    assert_eq!(v["pid"], kid.0.id());
    assert_eq!(v["ppid"], std::process::id());
    assert_eq!(v["cwd"], "/");
    assert_eq!(v["status"], "sleeping");
    assert_eq!(v["access_denied"], serde_json::json!([]));
    assert_eq!(
        v["rlimit"]["nofile"]["soft"],
        1024u64.max(v["rlimit"]["nofile"]["soft"].as_u64().unwrap())
    );
    assert!(v["rlimit"].as_object().unwrap().len() == 16);
    assert!(v["rlimit"]["cpu"]["soft"].is_null(), "unlimited is null");
    assert_eq!(v["num_threads"], 1);
    assert_eq!(v["threads"][0]["id"], kid.0.id());
}

#[test]
fn default_pid_is_memsight_itself() {
    let out = memsight(&["info", "--json"]);
    memsight_test_support::assert_success(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ppid"], std::process::id());
    assert_eq!(
        v["exe"],
        std::fs::canonicalize(BIN).unwrap().display().to_string()
    );
}

#[test]
fn human_layout_is_procinfos() {
    let kid = sleeper();
    let out = memsight(&["info", &kid.0.id().to_string()]);
    memsight_test_support::assert_success(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    let labels: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with(' '))
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    for label in [
        "pid",
        "name",
        "parent",
        "exe",
        "cwd",
        "cmdline",
        "started",
        "cpu-tspent",
        "cpu-times",
        "cpu-affinity",
        "cpu-num",
        "memory",
        "status",
        "nice",
        "num-threads",
        "num-fds",
        "I/O",
        "open-files",
        "connections",
        "threads",
        "res-limits",
    ] {
        assert!(labels.contains(&label), "no {label} line in\n{text}");
    }
    let line = |label: &str| {
        text.lines()
            .find(|l| l.split_whitespace().next() == Some(label))
            .unwrap()
            .to_owned()
    };
    assert_eq!(line("pid"), format!("{:<11} {}", "pid", kid.0.id()));
    assert_eq!(line("cwd"), format!("{:<11} /", "cwd"));
    assert_eq!(line("cmdline"), format!("{:<11} sleep 60", "cmdline"));
    assert_eq!(line("status"), format!("{:<11} sleeping", "status"));
    assert!(line("memory").contains("rss="), "{text}");
    // The limits table: procinfo's names, `infinity` for unlimited.
    assert!(
        text.contains(&format!(
            "{:<12} {:>15} {:>15}",
            "cputime", "infinity", "infinity"
        )),
        "{text}"
    );
    assert!(!text.contains("\x1b["), "no colour when not a terminal");
}

#[test]
fn missing_pid_exits_1_with_no_such_process() {
    let out = memsight(&["info", "4194303"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "memsight: no such process: 4194303\n"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn bad_pid_is_a_usage_error() {
    for bad in ["12x", "-3", ""] {
        let out = memsight(&["info", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
    }
}

/// Needs root (CI runs as root): runs memsight as `nobody` against a root process.
#[test]
fn nobody_sees_what_may_be_read_and_never_the_environment_root() {
    support::require_root("running memsight as nobody through setpriv");
    let kid = sleeper();
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = dir.path().join("memsight");
    std::fs::copy(BIN, &bin).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let pid = kid.0.id().to_string();
    let run = |json: bool| {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&bin)
            .args(["info", &pid]);
        if json {
            cmd.arg("--json");
        }
        cmd.current_dir("/").output().unwrap()
    };
    let out = run(true);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(!stdout.contains("s3cr3t-value-from-root"), "{stdout}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let denied: BTreeSet<&str> = v["access_denied"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    for field in [
        "exe",
        "cwd",
        "environ",
        "num_fds",
        "open_files",
        "net_connections",
        "io_counters",
        "memory_maps",
        "memory_full_info",
    ] {
        assert!(denied.contains(field), "{field} not denied: {denied:?}");
        assert!(v[field].is_null(), "{field} is {}", v[field]);
    }
    // What anyone may read is there.
    assert_eq!(v["status"], "sleeping");
    assert_eq!(v["ppid"], std::process::id());
    assert_eq!(v["cmdline"], serde_json::json!(["sleep", "60"]));
    assert_eq!(v["username"], "root");
    assert!(v["memory_info"]["rss"].as_u64().unwrap() > 0);
    assert_eq!(v["threads"][0]["id"], kid.0.id());
    assert!(v["rlimit"]["nofile"]["soft"].is_u64());
    assert!(v["cpu_affinity"].is_array());
    for field in [
        "status",
        "ppid",
        "cmdline",
        "memory_info",
        "threads",
        "rlimit",
        "create_time",
    ] {
        assert!(!denied.contains(field), "{field} denied");
    }
    let human = run(false);
    assert_eq!(human.status.code(), Some(0));
    let text = String::from_utf8(human.stdout).unwrap();
    assert!(!text.contains("s3cr3t-value-from-root"));
    assert!(
        text.lines()
            .any(|l| l.starts_with("exe ") && l.trim() == "exe"),
        "blank exe:\n{text}"
    );
}

#[test]
fn escape_sequences_in_name_cmdline_environ_and_paths_do_not_reach_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let kid = crate::hostile::hostile_python(dir.path());
    let pid = kid.0.id().to_string();
    let out = memsight(&["info", &pid]);
    memsight_test_support::assert_success(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.stdout.contains(&0x1b), "{text:?}");
    assert!(!out.stdout.contains(&0x07), "{text:?}");
    // Each place shows the sanitised form: name, cmdline, cwd, the environment variable.
    let shown = "?]0;pwn??[2J";
    assert!(text.matches(shown).count() >= 4, "{text}");
    // JSON keeps the exact values.
    let out = memsight(&["info", &pid, "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["name"], crate::hostile::HOSTILE);
    assert_eq!(
        json["cmdline"].as_array().unwrap().last().unwrap(),
        crate::hostile::HOSTILE
    );
    assert_eq!(json["environ"]["MEMSIGHT_HOSTILE"], crate::hostile::HOSTILE);
    assert!(
        json["cwd"]
            .as_str()
            .unwrap()
            .ends_with(crate::hostile::HOSTILE)
    );
}
