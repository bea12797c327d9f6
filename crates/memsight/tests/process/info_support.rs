//! A target process with known properties, for the `info_*` tests.
#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the test failing

use memsight_test_support::{Kid, stat_field, wait_until};

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{ChildStdin, Command, Stdio};

/// The target of `info_target.py`: nice 5, RLIMIT_NOFILE (100, 200), `data.bin` open read-write at
/// offset 1234 and `log.txt` open for append, a listening TCP socket, a connected UDP socket, two
/// extra threads, a known environment and cwd.
pub struct Target {
    pub kid: Kid,
    /// Held open: the target sleeps reading it, and ends when it closes.
    _stdin: Option<ChildStdin>,
    pub dir: tempfile::TempDir,
    pub facts: serde_json::Value,
}

impl Target {
    pub fn start() -> Target {
        let dir = tempfile::tempdir().unwrap();
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/process/info_target.py");
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
            _stdin: stdin,
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

/// `ps -o FIELD= -p PID`, trimmed.
pub fn ps(field: &str, pid: u32) -> String {
    let out = Command::new("ps")
        .args(["-o", &format!("{field}="), "-p", &pid.to_string()])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}
