//! A tested function that closes the harness's own descriptors gets a clear
//! error, not an abort ("IO Safety violation") or figures read from the wrong file. Each
//! scenario runs in a child process: closing every descriptor breaks whatever else the process
//! holds.
// The harness's own descriptor is its `/proc/self` directory: macOS and FreeBSD hold none;
// Windows has tests/windows.rs.
#![cfg(target_os = "linux")]
#![allow(unsafe_code)] // close_range, close, open: the scenarios' own syscalls

use std::time::Duration;

use memsight_leak::{LeakError, LeakTest};

const LIMIT: Duration = Duration::from_secs(60);

/// In the child: runs the check and prints the error's text on stdout; in the parent: runs the
/// child and returns what it printed, after checking it exited normally.
fn error_text(test: &str, f: impl FnMut()) -> String {
    if memsight_test_support::is_rerun_child() {
        let err = LeakTest::new()
            .check(f)
            .expect_err("the check must stop with an error");
        assert!(
            matches!(err, LeakError::FdClosedUnderHarness { .. }),
            "{err}"
        );
        println!("ERROR: {err}");
        return String::new();
    }
    let out = memsight_test_support::rerun(
        &memsight_test_support::test_path(module_path!(), test),
        &[],
        LIMIT,
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "child died ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(!stderr.contains("IO Safety violation"), "{stderr}");
    stdout
}

#[test]
fn close_range_in_the_tested_function_is_reported_not_aborted() {
    memsight_test_support::settle_harness();
    let out = error_text(
        "close_range_in_the_tested_function_is_reported_not_aborted",
        || {
            // SAFETY: the scenario: close every descriptor from 3 up, as some daemons do.
            unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) };
        },
    );
    if !memsight_test_support::is_rerun_child() {
        assert!(
            out.contains("closed or replaced the harness's own file descriptor"),
            "{out}"
        );
        assert!(out.contains("within the first 1 call(s): closed"), "{out}");
    }
}

#[test]
fn closing_and_reopening_fds_is_reported_not_misread() {
    memsight_test_support::settle_harness();
    let out = error_text("closing_and_reopening_fds_is_reported_not_misread", || {
        for fd in 3..64 {
            // SAFETY: the scenario: close descriptors this function never opened...
            unsafe { libc::close(fd) };
        }
        for _ in 3..64 {
            // ...and open others that take the lowest free numbers (kept open on purpose).
            // SAFETY: a plain open of a C string literal.
            unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY) };
        }
    });
    if !memsight_test_support::is_rerun_child() {
        assert!(
            out.contains("replaced: it now refers to /dev/null"),
            "{out}"
        );
    }
}
