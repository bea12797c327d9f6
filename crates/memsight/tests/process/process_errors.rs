//! The error model: pid reuse never reads the new process, vanished pids, and (as `nobody`)
//! AccessDenied for root's smaps_rollup and environ while memory_info still works, and
//! ZombieProcess for the exe of root's zombie.
#![cfg(target_os = "linux")] // /proc, ptrace modes, psutil oracles: see windows.rs for Windows
#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the test failing

use memsight_test_support as support;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use memsight::{Error, Process};
use support::Kid;

fn is_no_such(r: Result<impl std::fmt::Debug, Error>, pid: u32) -> bool {
    matches!(r, Err(Error::NoSuchProcess { pid: p, .. }) if p == pid)
}

/// Forces the kernel to hand `pid` to a new process: writes `pid - 1` to
/// /proc/sys/kernel/ns_last_pid (root only) and spawns, retrying if some other process on the
/// machine takes the pid first.
fn spawn_with_pid(pid: u32) -> Kid {
    support::require_root("writing /proc/sys/kernel/ns_last_pid");
    for _ in 0..50 {
        std::fs::write("/proc/sys/kernel/ns_last_pid", (pid - 1).to_string())
            .expect("write ns_last_pid (needs root)");
        let kid = Kid::spawn(Command::new("sleep").arg("100"));
        if kid.pid() == pid {
            return kid;
        }
    }
    panic!("could not get pid {pid} back");
}

#[test]
fn reused_pid_is_never_read_through_an_old_handle() {
    let mut first = Kid::spawn(Command::new("sleep").arg("100"));
    let pid = first.pid();
    let old = Process::new(pid).unwrap();
    let untouched = Process::new(pid).unwrap();
    assert!(old.is_running());
    let name = old.name().unwrap();
    assert_eq!(name, "sleep");
    first.0.kill().unwrap();
    first.0.wait().unwrap();

    let second = spawn_with_pid(pid);
    support::wait_until("the new process has exec'd", || {
        std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c.starts_with(b"sleep"))
    });
    // The new process is alive under the same pid, but the old handle refuses to read it.
    assert!(!old.is_running());
    assert!(is_no_such(old.memory_info(), pid));
    assert!(is_no_such(old.memory_full_info(), pid));
    assert!(is_no_such(old.name(), pid));
    assert!(is_no_such(old.cmdline(), pid));
    assert!(is_no_such(old.environ(), pid));
    assert!(is_no_such(old.memory_maps(false), pid));
    assert!(is_no_such(old.uids(), pid));
    // A handle that read nothing while its process lived (the start time is read lazily) must
    // not take the new process's now.
    assert!(is_no_such(untouched.create_time(), pid));
    assert!(is_no_such(untouched.parent(), pid));
    assert!(!untouched.is_running());
    // A new handle reads the new process, and is a different process.
    let new = Process::new(pid).unwrap();
    assert!(new.is_running());
    assert_ne!(new, old);
    assert_ne!(new, untouched);
    assert!(new.memory_info().unwrap().rss > 0);
    drop(second);
}

#[test]
fn exited_process_gives_no_such_process() {
    let mut kid = Kid::spawn(Command::new("sleep").arg("100"));
    let p = Process::new(kid.pid()).unwrap();
    kid.0.kill().unwrap();
    kid.0.wait().unwrap();
    assert!(is_no_such(p.memory_info(), kid.pid()));
    assert!(is_no_such(p.memory_full_info(), kid.pid()));
    assert!(is_no_such(p.environ(), kid.pid()));
    assert!(is_no_such(Process::new(kid.pid()), kid.pid()));
    assert!(is_no_such(Process::new(4_194_303), 4_194_303));
}

/// The part of [`nobody_gets_access_denied_for_root`] that runs as uid 65534: the outer test runs
/// this test binary again under setpriv with `MEMSIGHT_NOBODY_TARGET` set. Without that variable
/// (a normal run) it has nothing to do.
#[test]
fn as_nobody_side() {
    let Ok(target) = std::env::var("MEMSIGHT_NOBODY_TARGET") else {
        return;
    };
    let pid: u32 = target.parse().unwrap();
    assert_eq!(rustix::process::getuid().as_raw(), 65534);
    let p = Process::new(pid).unwrap();
    let m = p.memory_info().unwrap();
    assert!(m.rss > 0);
    assert!(p.memory_info_ex().unwrap().peak_rss > 0);
    assert_eq!(p.name().unwrap(), "sleep");
    assert_eq!(p.cmdline().unwrap(), ["sleep", "100"]);
    assert_eq!(p.username().unwrap(), "root");
    let denied = |r: Result<(), Error>| {
        matches!(&r, Err(Error::AccessDenied { pid: Some(p), .. }) if *p == pid)
            .then_some(())
            .ok_or(r)
    };
    denied(p.memory_full_info().map(drop)).unwrap();
    denied(p.memory_maps(false).map(drop)).unwrap();
    denied(p.environ().map(drop)).unwrap();
    denied(p.memory_percent(memsight::MemType::Uss).map(drop)).unwrap();
    assert!(p.memory_percent(memsight::MemType::Rss).unwrap() > 0.0);
    // Another user's zombie: its exe link is refused (ptrace) and its command line is gone, so
    // exe() answers ZombieProcess, as psutil's guess from the command line does.
    let zombie: u32 = std::env::var("MEMSIGHT_NOBODY_ZOMBIE")
        .unwrap()
        .parse()
        .unwrap();
    let z = Process::new(zombie).unwrap();
    assert!(
        matches!(z.exe(), Err(Error::ZombieProcess { pid, .. }) if pid == zombie),
        "{:?}",
        z.exe()
    );
    assert!(matches!(z.cmdline(), Err(Error::ZombieProcess { .. })));
    // Listing works, and every process can be opened.
    let all: Vec<_> = memsight::process_iter().collect();
    assert!(all.iter().all(Result::is_ok));
    assert!(all.iter().flatten().any(|q| q.pid() == pid));
    println!("NOBODY-SIDE-RAN");
}

#[test]
fn nobody_gets_access_denied_for_root() {
    let root_kid = Kid::spawn(Command::new("sleep").arg("100"));
    // A zombie of root's: a child that exited and is not waited for until the end.
    let mut zombie = Command::new("true").spawn().unwrap();
    let zombie_pid = zombie.id();
    support::wait_until("the child is a zombie", || {
        std::fs::read_to_string(format!("/proc/{zombie_pid}/stat")).is_ok_and(|s| {
            s.rsplit(')')
                .next()
                .is_some_and(|r| r.trim_start().starts_with('Z'))
        })
    });
    // The test binary may sit under a directory nobody cannot enter: run a 0755 copy.
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let exe = dir.path().join("process_errors");
    std::fs::copy(std::env::current_exe().unwrap(), &exe).unwrap();
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&exe)
        .args([
            "--exact",
            &support::test_path(module_path!(), "as_nobody_side"),
            "--nocapture",
            "--test-threads=1",
        ])
        .env("MEMSIGHT_NOBODY_TARGET", root_kid.pid().to_string())
        .env("MEMSIGHT_NOBODY_ZOMBIE", zombie_pid.to_string())
        .current_dir(dir.path())
        .output()
        .unwrap();
    zombie.wait().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("NOBODY-SIDE-RAN"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

#[test]
fn no_fd_left_open() {
    if !support::alone_in_a_process(&support::test_path(module_path!(), "no_fd_left_open")) {
        return;
    }
    let kid = Kid::spawn(Command::new("sleep").arg("100"));
    let before = open_fds();
    for _ in 0..3 {
        let scan = memsight::memory_scan().unwrap();
        assert!(!scan.processes.is_empty());
        let p = Process::new(kid.pid()).unwrap();
        p.memory_full_info().unwrap();
        p.memory_info_ex().unwrap();
        p.memory_maps(true).unwrap();
        p.environ().unwrap();
        p.name().unwrap();
        p.cmdline().unwrap();
        p.username().unwrap();
        p.owner_uid().unwrap();
        // The handle itself holds exactly one descriptor, released on drop.
        assert_eq!(open_fds(), before + 1);
        drop(p);
        let _: Vec<_> = memsight::process_iter().collect::<Vec<_>>();
    }
    assert_eq!(open_fds(), before);
}
