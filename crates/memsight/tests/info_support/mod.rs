//! Helpers for the `info_*` tests: a target process with known properties. Children, psutil and
//! waiting come from `process_support`, which each test declares beside this module.
#![allow(clippy::unwrap_used, dead_code)]

pub use crate::process_support::{Kid, psutil, wait_until};

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{ChildStdin, Command, Stdio};

/// The target of `target.py`: nice 5, RLIMIT_NOFILE (100, 200), `data.bin` open read-write at
/// offset 1234 and `log.txt` open for append, a listening TCP socket, a connected UDP socket, two
/// extra threads, a known environment and cwd.
pub struct Target {
    pub kid: Kid,
    pub stdin: Option<ChildStdin>,
    pub dir: tempfile::TempDir,
    pub facts: serde_json::Value,
}

impl Target {
    pub fn start() -> Target {
        let dir = tempfile::tempdir().unwrap();
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/info_support/target.py");
        let mut child = Command::new("/usr/bin/python3")
            .arg(script)
            .current_dir(dir.path())
            .env_clear()
            .env("MEMSIGHT_TEST", "known value")
            .env("PATH", "/usr/bin:/bin")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().unwrap();
        let kid = Kid(child);
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let facts: serde_json::Value = serde_json::from_str(&line).unwrap();
        let pid = kid.pid();
        wait_until("target asleep on stdin", || {
            stat_field(pid, 3).as_deref() == Some("S")
        });
        Target {
            kid,
            stdin,
            dir,
            facts,
        }
    }

    pub fn pid(&self) -> u32 {
        self.kid.pid()
    }

    pub fn fact(&self, key: &str) -> u64 {
        self.facts[key].as_u64().unwrap()
    }
}

/// Field `n` (1-based, as in proc_pid_stat(5)) of `/proc/PID/stat`.
pub fn stat_field(pid: u32, n: usize) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let close = stat.rfind(')')?;
    stat[close + 2..].split(' ').nth(n - 3).map(str::to_owned)
}

/// `ps -o FIELD= -p PID`, trimmed.
pub fn ps(field: &str, pid: u32) -> String {
    let out = Command::new("ps")
        .args(["-o", &format!("{field}="), "-p", &pid.to_string()])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}
