//! Helpers shared by the `process_*` integration tests: child processes with known properties
//! (killed and reaped on drop) and psutil as an oracle.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process that is killed and reaped when dropped.
pub struct Kid(pub Child);

impl Kid {
    pub fn spawn(mut cmd: impl std::borrow::BorrowMut<Command>) -> Kid {
        Kid(cmd
            .borrow_mut()
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn"))
    }

    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Kid {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The python of the venv that `scripts/setup.sh` made (psutil 7.2.2).
pub fn python() -> PathBuf {
    let venv = std::env::var_os("MEMSIGHT_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv"));
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "{} missing: run scripts/setup.sh",
        python.display()
    );
    python
}

/// Runs a psutil script (`import psutil, json, sys` done) and parses its stdout as JSON.
pub fn psutil(script: &str, args: &[String]) -> serde_json::Value {
    let out = Command::new(python())
        .arg("-c")
        .arg(format!("import psutil, json, sys\n{script}"))
        .args(args)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "psutil script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("psutil printed JSON")
}

/// Waits until `cond` holds, for at most 10 s.
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out: {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The state letter of `pid` from `/proc/PID/stat`, if it exists.
pub fn state(pid: u32) -> Option<u8> {
    let stat = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    let close = stat.iter().rposition(|&b| b == b')')?;
    stat.get(close + 2).copied()
}

/// A pid of a live kernel thread (kthreadd, pid 2, on every normal boot).
pub fn kernel_thread() -> u32 {
    let flags_kthread = 0x0020_0000u64;
    for pid in memsight::pids().unwrap() {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let flags: u64 = stat[close + 2..]
            .split(' ')
            .nth(6)
            .and_then(|f| f.parse().ok())
            .unwrap_or(0);
        if flags & flags_kthread != 0 {
            return pid;
        }
    }
    panic!("no kernel thread found");
}
