//! What memsight's integration tests share (`publish = false`): child processes with known
//! properties, killed and reaped on drop; psutil as an oracle; the skip-or-fail rule for a test
//! whose prerequisite is missing; running one test again in a child process.
//!
//! A test binary links this crate as a library, so a helper one binary does not call is no dead
//! code there: each binary groups the tests of one topic as modules (`tests/TOPIC/main.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failure is the test failing

pub mod non_utf8;
pub mod self_child;

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A child process that is killed and reaped when dropped.
pub struct Kid(pub Child);

impl Kid {
    /// Spawns `cmd` with stdin from `/dev/null`.
    pub fn spawn(mut cmd: impl std::borrow::BorrowMut<Command>) -> Kid {
        Kid(cmd
            .borrow_mut()
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn"))
    }

    /// The child's process id.
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
/// or `needed_here`, e.g. for the venv when `MEMSIGHT_VENV` is set: scripts/setup.sh has run or
/// should have) that is a failure. Elsewhere the test is skipped with the reason on stderr: under
/// nextest, which runs each test in its own process, by ending that process with status 0; under
/// `cargo test`, whose tests share one process, by failing with the reason (ending the process
/// would skip the rest).
pub fn skip_or_fail(reason: &str, needed_here: bool) -> ! {
    if needed_here || std::env::var_os("CI").is_some() || std::env::var_os("NEXTEST").is_none() {
        panic!("{reason} (CI and scripts/setup.sh provide it)");
    }
    eprintln!("skipped: {reason}; run scripts/setup.sh (as root) to run this test");
    std::process::exit(0)
}

/// Skips (or fails, see [`skip_or_fail`]) a test that needs root when not run as root.
#[cfg(unix)]
pub fn require_root(what: &str) {
    if !rustix::process::geteuid().is_root() {
        skip_or_fail(&format!("{what} needs root"), false);
    }
}

/// The python of the test venv (psutil 7.2.2): `$MEMSIGHT_VENV`, else the `.venv` at the
/// repository's root that scripts/setup.sh makes. Missing, the test is skipped or fails (see
/// [`skip_or_fail`]; a `MEMSIGHT_VENV` that is set must hold it).
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

/// Starts `cmd`. Under load, Wine's `CreateProcess` now and then fails with
/// ERROR_INTERNAL_ERROR (1359) before the new process runs any of its code: that is tried again
/// (a few times, 100 ms apart); any other error fails the test. Elsewhere a plain `spawn`.
#[track_caller]
pub fn spawn_or_retry(cmd: &mut Command) -> Child {
    #[cfg(windows)]
    for _ in 0..4 {
        match cmd.spawn() {
            Err(e) if e.raw_os_error() == Some(1359) => {
                std::thread::sleep(Duration::from_millis(100));
            }
            started => return started.unwrap(),
        }
    }
    cmd.spawn().unwrap()
}

/// Fails the test unless the command that gave `out` exited successfully, showing its exit
/// status and standard error.
#[track_caller]
pub fn assert_success(out: &Output) {
    assert!(
        out.status.success(),
        "{}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `check` up to 10 times, 50 ms apart, until it passes; panics with its last error.
///
/// For checks that compare two readings of a figure other actors move too (other processes on a
/// busy machine, other test threads of this process allocating): psutil's `retry_on_failure`. A
/// check that is wrong fails all ten times.
pub fn retry(mut check: impl FnMut() -> Result<(), String>) {
    let mut last = String::new();
    for _ in 0..10 {
        match check() {
            Ok(()) => return,
            Err(e) => last = e,
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{last}");
}

/// `Ok` if `ok`, else the message `why` builds: one comparison in the shape [`retry`] wants.
pub fn ensure(ok: bool, why: impl FnOnce() -> String) -> Result<(), String> {
    if ok { Ok(()) } else { Err(why()) }
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

/// The state letter of `pid` from `/proc/PID/stat` (Linux), if it exists.
pub fn state(pid: u32) -> Option<u8> {
    let stat = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    let close = stat.iter().rposition(|&b| b == b')')?;
    stat.get(close + 2).copied()
}

/// Field `n` (1-based, as in proc_pid_stat(5)) of `/proc/PID/stat` (Linux).
pub fn stat_field(pid: u32, n: usize) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let close = stat.rfind(')')?;
    stat[close + 2..].split(' ').nth(n - 3).map(str::to_owned)
}

/// A pid of a live kernel thread (kthreadd, pid 2, on every normal boot; Linux).
pub fn kernel_thread() -> u32 {
    const PF_KTHREAD: u64 = 0x0020_0000;
    let pids = std::fs::read_dir("/proc")
        .expect("read /proc")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok());
    for pid in pids {
        let flags: u64 = stat_field(pid, 9).and_then(|f| f.parse().ok()).unwrap_or(0);
        if flags & PF_KTHREAD != 0 {
            return pid;
        }
    }
    panic!("no kernel thread found");
}

/// Starts `python -c script` (the venv's, see [`python`]) and waits until it prints a line (its
/// "ready" signal).
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

/// A python child (the venv's, see [`python`]) holding `mib` MiB of private memory it wrote (a
/// `bytearray` of 0x01 bytes), then sleeping for 100 s; returned once it is ready.
pub fn holding(mib: u64) -> Kid {
    spawn_python_ready(&format!(
        "import sys, time\nb = bytearray(b'\\x01') * ({mib} << 20)\nprint('ready', flush=True)\ntime.sleep(100)"
    ))
}

/// Starts `program args...` and waits until it has exec'd (its cmdline starts with `program`'s
/// base name; Linux) and its dynamic loader is done.
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

/// A child that exited and is not reaped yet (a zombie) until dropped (Linux).
pub fn zombie() -> Kid {
    let kid = Kid::spawn(Command::new("true"));
    wait_until("child is a zombie", || state(kid.pid()) == Some(b'Z'));
    kid
}

/// The first child of `parent` (from `/proc/PID/task/PID/children`; Linux), waiting for one to
/// appear.
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

/// The name libtest knows test `name` by when it is declared in the module `module_path`
/// (pass `module_path!()`): the path without the test binary's crate name, for `--exact`.
pub fn test_path(module_path: &str, name: &str) -> String {
    match module_path.split_once("::") {
        Some((_, inner)) => format!("{inner}::{name}"),
        None => name.to_owned(),
    }
}

/// Set in the child of [`rerun`]: the test then runs its scenario instead of spawning.
pub const RERUN_CHILD: &str = "MEMSIGHT_TEST_RERUN_CHILD";

/// Whether this process is the child of [`rerun`].
pub fn is_rerun_child() -> bool {
    std::env::var_os(RERUN_CHILD).is_some()
}

/// Runs the test `test` (its full name, see [`test_path`]) of this binary again in a child with
/// `envs` set, killing it after `limit` (the test fails then: a hang). Returns its output. For
/// scenarios that change process-wide state (RUST_BACKTRACE, closed descriptors, forks) or could
/// hang.
pub fn rerun(test: &str, envs: &[(&str, &str)], limit: Duration) -> Output {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new(exe);
    cmd.args(["--exact", test, "--nocapture"])
        .env(RERUN_CHILD, "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "{test}: no result after {limit:?} (hang)\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// For a test that counts this process's own resources (descriptors): under `cargo test` the
/// other tests of its binary run in threads of the same process and open their own meanwhile.
/// In the child of [`rerun`] returns true: the caller runs its body there, alone. Otherwise runs
/// `test` (its full name, see [`test_path`]) in that child, checks that it passed, and returns
/// false: the caller is done.
pub fn alone_in_a_process(test: &str) -> bool {
    if is_rerun_child() {
        return true;
    }
    let out = rerun(test, &[], Duration::from_secs(600));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{test} in a process of its own ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    false
}

/// Waits until libtest's main thread has gone to sleep waiting for this test's result.
///
/// Leak tests measure the whole process, and libtest's main thread allocates about 900 bytes
/// (Rust heap, hence glibc heap too) just after it starts a test's thread: it records the test in
/// a map and registers to wait on a channel. Normally that is done before the test's first line;
/// on a loaded machine the thread can be kept off the CPU for a good part of a measurement, and
/// the 900 bytes then land in a batch (seen: `rust_heap +900 B` in batch 8 of 8, and a heap
/// figure 7% off). Once it sleeps in a futex wait it allocates nothing until the test ends.
/// Returns at once on the main thread itself (a harness-less binary), where `/proc` does not
/// say (other systems than Linux), or after 5 s at most.
pub fn settle_harness() {
    #[cfg(target_os = "linux")]
    {
        let pid = std::process::id();
        if rustix::thread::gettid()
            .as_raw_nonzero()
            .get()
            .unsigned_abs()
            == pid
        {
            return;
        }
        let path = format!("/proc/self/task/{pid}/syscall");
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            // "running", or the number of the system call it is blocked in, then its arguments.
            let Ok(text) = std::fs::read_to_string(&path) else {
                return;
            };
            if text.split(' ').next().and_then(|n| n.parse::<i64>().ok()) == Some(libc::SYS_futex) {
                return;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}
