//! Letting the test harness settle before a process-wide measurement.

/// Waits until libtest's main thread has gone to sleep waiting for this test's result.
///
/// Leak tests measure the whole process, and libtest's main thread allocates about 900 bytes
/// (Rust heap, hence glibc heap too) just after it starts a test's thread: it records the test in
/// a map and registers to wait on a channel. Normally that is done before the test's first line;
/// on a loaded machine the thread can be kept off the CPU for a good part of a measurement, and
/// the 900 bytes then land in a batch (seen: `rust_heap +900 B` in batch 8 of 8, and a heap
/// figure 7% off). Once it sleeps in a futex wait it allocates nothing until the test ends.
/// Returns at once on the main thread itself (a harness-less binary), where `/proc` does not
/// say, or after 5 s at most.
pub fn settle_harness() {
    #[cfg(target_os = "linux")]
    {
        use std::time::{Duration, Instant};
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
