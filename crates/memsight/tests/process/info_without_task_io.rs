//! On a kernel without task I/O accounting there is no `/proc/PID/io`;
//! `info()` still answers, with `io_counters` unavailable (psutil's NotImplementedError) rather
//! than the whole record failing as if the process were gone.
#![cfg(target_os = "linux")] // /proc, ptrace modes, psutil oracles: see windows.rs for Windows
#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the test failing

use std::os::unix::fs::symlink;
use std::path::Path;

use memsight::Error;
use memsight::linux::ProcFs;

fn write(path: &Path, data: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, data).unwrap();
}

/// A canned `/proc` holding fixtures/proc-smaps/1000's files under this test's own pid (so the
/// syscalls behind ionice and cpu_affinity answer), plus what `info()` reads besides, and no `io`.
fn tree_without_io() -> (tempfile::TempDir, u32) {
    let pid = std::process::id();
    let root = tempfile::tempdir().unwrap();
    let p = root.path();
    let dir = p.join(pid.to_string());
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/proc-smaps/1000");
    for entry in std::fs::read_dir(&fixture).unwrap() {
        let entry = entry.unwrap();
        write(
            &dir.join(entry.file_name()),
            &std::fs::read(entry.path()).unwrap(),
        );
    }
    let stat = std::fs::read_to_string(fixture.join("stat"))
        .unwrap()
        .replacen("1000 ", &format!("{pid} "), 1);
    write(&dir.join("stat"), stat.as_bytes());
    write(&dir.join(format!("task/{pid}/stat")), stat.as_bytes());
    write(&p.join("stat"), b"cpu  1 2 3 4\nbtime 1700000000\n");
    write(
        &p.join("meminfo"),
        b"MemTotal: 1000000 kB\nMemFree: 500000 kB\nMemAvailable: 600000 kB\n",
    );
    write(
        &dir.join("limits"),
        b"Limit                     Soft Limit           Hard Limit           Units     \n\
          Max open files            100                  200                  files     \n",
    );
    std::fs::create_dir_all(dir.join("fd")).unwrap();
    std::fs::create_dir_all(dir.join("fdinfo")).unwrap();
    for table in ["tcp", "tcp6", "udp", "udp6"] {
        write(
            &dir.join("net").join(table),
            b"  sl  local_address rem_address   st\n",
        );
    }
    symlink("/", dir.join("cwd")).unwrap();
    symlink("/bin/sleep", dir.join("exe")).unwrap();
    assert!(!dir.join("io").exists());
    (root, pid)
}

#[test]
fn info_without_proc_pid_io_keeps_the_record_and_drops_io_counters() {
    let (root, pid) = tree_without_io();
    let p = ProcFs::new(root.path()).process(pid).unwrap();
    match p.io_counters() {
        Err(Error::Unsupported(why)) => assert!(why.contains("/io"), "{why}"),
        other => panic!("expected Unsupported, got {other:?}"),
    }
    let info = p.info().unwrap();
    assert_eq!(info.pid, pid);
    assert_eq!(info.io_counters, None);
    assert!(
        !info.access_denied.contains(&"io_counters"),
        "{:?}",
        info.access_denied
    );
    // The rest of the record is there, read from the canned files.
    assert_eq!(info.name.as_deref(), Some("sleep"));
    assert_eq!(info.memory_info.unwrap().rss, 372 * page_size());
}

#[test]
fn io_counters_of_a_gone_process_is_still_no_such_process() {
    let (root, pid) = tree_without_io();
    let p = ProcFs::new(root.path()).process(pid).unwrap();
    // The process's directory goes away: its files with it, so `io` missing is not the kernel's.
    std::fs::remove_dir_all(root.path().join(pid.to_string())).unwrap();
    match p.io_counters() {
        Err(Error::NoSuchProcess { pid: gone, .. }) => assert_eq!(gone, pid),
        other => panic!("expected NoSuchProcess, got {other:?}"),
    }
}

fn page_size() -> u64 {
    rustix::param::page_size() as u64
}
