//! Running one test of this binary again in a child process, under a watchdog: for scenarios
//! that change process-wide state (RUST_BACKTRACE, closed descriptors, forks) or could hang.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Set in the child: the test then runs its scenario instead of spawning.
pub const CHILD: &str = "MEMSIGHT_LEAK_TEST_CHILD";

/// Whether this process is the child of [`rerun`].
pub fn is_child() -> bool {
    std::env::var_os(CHILD).is_some()
}

/// Runs test `name` of this binary in a child with `envs` set, killing it after `limit`
/// (the test fails then: a hang). Returns its output.
pub fn rerun(name: &str, envs: &[(&str, &str)], limit: Duration) -> Output {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new(exe);
    cmd.args(["--exact", name, "--nocapture"])
        .env(CHILD, "1")
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
                "{name}: no result after {limit:?} (hang)\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
