//! Helpers shared by the `process_*` integration tests: child processes with known properties
//! (killed and reaped on drop) and psutil as an oracle.
#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the test failing
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

/// Ends a test whose prerequisite is missing: `reason` names it. Where it must be there (`CI` set,
/// or, for the venv, `MEMSIGHT_VENV` set: scripts/setup.sh has run or should have) that is a
/// failure. Elsewhere the test is skipped with the reason on stderr: under nextest, which runs
/// each test in its own process, by ending that process with status 0; under `cargo test`, whose
/// tests share one process, by failing with the reason (ending the process would skip the rest).
pub fn skip_or_fail(reason: &str, needed_here: bool) -> ! {
    if needed_here || std::env::var_os("CI").is_some() || std::env::var_os("NEXTEST").is_none() {
        panic!("{reason} (CI and scripts/setup.sh provide it)");
    }
    eprintln!("skipped: {reason}; run scripts/setup.sh (as root) to run this test");
    std::process::exit(0)
}

/// Skips (or fails, see [`skip_or_fail`]) a test that needs root when not run as root.
pub fn require_root(what: &str) {
    if !rustix::process::geteuid().is_root() {
        skip_or_fail(&format!("{what} needs root"), false);
    }
}

/// The python of the test venv (psutil 7.2.2): `$MEMSIGHT_VENV`, else the `.venv` that
/// scripts/setup.sh makes. Missing, the test is skipped or fails (see [`skip_or_fail`]; a
/// `MEMSIGHT_VENV` that is set must hold it).
pub fn python() -> PathBuf {
    let set = std::env::var_os("MEMSIGHT_VENV");
    let venv = set
        .clone()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv"));
    let python = venv.join("bin/python");
    if !python.exists() {
        skip_or_fail(
            &format!("{} (psutil's venv) is missing", python.display()),
            set.is_some(),
        );
    }
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

/// Starts `python -c script` and waits until it prints a line (its "ready" signal).
pub fn spawn_python_ready(script: &str) -> Kid {
    use std::io::BufRead;
    let mut child = Command::new(python())
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn python");
    let stdout = child.stdout.take().expect("piped stdout");
    let kid = Kid(child);
    let mut line = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read ready line");
    assert!(!line.is_empty(), "python child died before it was ready");
    // Let the interpreter finish the statement after the print and settle into its sleep.
    std::thread::sleep(Duration::from_millis(300));
    kid
}

/// Starts `program args...` and waits until it has exec'd (its cmdline starts with `program`'s
/// base name) and its dynamic loader is done.
pub fn spawn_settled(program: &str, args: &[&str]) -> Kid {
    let kid = Kid::spawn(Command::new(program).args(args));
    let base = program
        .rsplit('/')
        .next()
        .unwrap_or(program)
        .as_bytes()
        .to_vec();
    wait_until("the child has exec'd", || {
        std::fs::read(format!("/proc/{}/cmdline", kid.pid())).is_ok_and(|c| c.starts_with(&base))
    });
    std::thread::sleep(Duration::from_millis(200));
    kid
}

/// A child that exited and is not reaped yet (a zombie) until dropped.
pub fn zombie() -> Kid {
    let kid = Kid::spawn(Command::new("true"));
    wait_until("child is a zombie", || state(kid.pid()) == Some(b'Z'));
    kid
}

/// The first child of `parent` (from `/proc/PID/task/PID/children`), waiting for one to appear.
pub fn children_of(parent: u32) -> u32 {
    let mut found = None;
    wait_until("a child appears", || {
        found = std::fs::read_to_string(format!("/proc/{parent}/task/{parent}/children"))
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse().ok());
        found.is_some()
    });
    found.unwrap_or_default()
}

/// Like [`psutil`], but the python process stays alive (blocked on its stdin) until the returned
/// [`Kid`] is dropped, so that pages it shares with the measured process (libc, libpython) are
/// shared the same way while memsight measures.
pub fn psutil_alive(script: &str, args: &[String]) -> (serde_json::Value, Kid) {
    use std::io::BufRead;
    let mut child = Command::new(python())
        .arg("-c")
        .arg(format!(
            "import psutil, json, sys\n{script}\nsys.stdout.flush()\nsys.stdin.read()"
        ))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run python");
    let stdout = child.stdout.take().expect("piped stdout");
    let kid = Kid(child);
    let mut line = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read psutil output");
    (
        serde_json::from_str(&line).expect("psutil printed JSON"),
        kid,
    )
}
