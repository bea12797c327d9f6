//! The macOS backend against the tools macOS ships (`sysctl`, `vm_stat`, `ps`) and processes the
//! test starts. Compiled and linked on Linux (`scripts/test-cross.sh`, zig as the linker); it
//! runs only on a Mac. The child that allocates is this test binary again, running
//! `child_helper` with `MEMSIGHT_CHILD` set.
#![cfg(target_os = "macos")]
#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the test failing

use std::process::Command;
use std::time::{Duration, Instant};

use memsight::process::ProcessStatus;
use memsight::{Error, Process};
use memsight_test_support::self_child::{Kid, TEST_VAR};

const MIB: u64 = 1 << 20;

fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd).args(args).output().unwrap();
    assert!(out.status.success(), "{cmd} {args:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn total_is_hw_memsize_and_pages_match_vm_stat() {
    let m = memsight::virtual_memory().unwrap();
    let memsize: u64 = run("sysctl", &["-n", "hw.memsize"]).trim().parse().unwrap();
    assert_eq!(m.total, memsize);
    // vm_stat: "Mach Virtual Memory Statistics: (page size of 16384 bytes)", "Pages wired down:".
    let text = run("vm_stat", &[]);
    let page: u64 = text
        .split("page size of ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(memsight::page_size(), page);
    let pages = |label: &str| -> u64 {
        let line = text.lines().find(|l| l.starts_with(label)).unwrap();
        line.rsplit(' ')
            .next()
            .unwrap()
            .trim_end_matches('.')
            .parse()
            .unwrap()
    };
    // psutil's tolerance for moving system figures: 5 MiB... and a busy Mac moves more.
    let close = |ours: u64, theirs: u64| ours.abs_diff(theirs) < 64 * MIB;
    assert!(close(m.wired, pages("Pages wired down:") * page));
    assert!(close(m.free, pages("Pages free:") * page));
    assert!(close(m.active, pages("Pages active:") * page));
    assert!(m.available <= m.total && m.used <= m.total);
}

#[test]
fn swap_is_vm_swapusage() {
    let s = memsight::swap_memory().unwrap();
    // "total = 2048.00M  used = 1107.25M  free = 940.75M  (encrypted)"
    let text = run("sysctl", &["-n", "vm.swapusage"]);
    let mb = |key: &str| -> f64 {
        let v = text
            .split(key)
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap();
        v.trim_end_matches('M').parse().unwrap()
    };
    assert_eq!(
        (s.total as f64 / MIB as f64 * 100.0).round() / 100.0,
        mb("total = ")
    );
    assert_eq!(s.free + s.used, s.total);
}

#[test]
fn own_process_reads_everything() {
    let me = Process::current().unwrap();
    assert_eq!(me, Process::new(std::process::id()).unwrap());
    let m = me.memory_info().unwrap();
    assert!(m.rss > MIB && m.vms >= m.rss);
    let ex = me.memory_info_ex().unwrap();
    assert!(ex.peak_rss >= ex.rss / 2 && ex.phys_footprint > 0);
    assert!(me.memory_footprint().unwrap().uss > 0);
    assert!(!me.memory_maps(false).unwrap().is_empty());
    assert_eq!(
        me.exe().unwrap().canonicalize().unwrap(),
        std::env::current_exe().unwrap().canonicalize().unwrap()
    );
    assert_eq!(me.cwd().unwrap(), std::env::current_dir().unwrap());
    assert_eq!(me.ppid().unwrap(), std::os::unix::process::parent_id());
    assert!(me.num_threads().unwrap() >= 1);
    assert!(me.num_fds().unwrap() >= 3);
    assert!(me.cmdline().unwrap()[0].ends_with(&*me.name().unwrap()));
    assert_eq!(me.status().unwrap(), ProcessStatus::Running);
    let created = me.create_time().unwrap();
    let now = std::time::SystemTime::UNIX_EPOCH
        .elapsed()
        .unwrap()
        .as_secs_f64();
    assert!(created <= now && created > now - 3600.0);
    let start = Instant::now();
    let t0 = me.cpu_times().unwrap();
    while start.elapsed() < Duration::from_millis(300) {}
    let t1 = me.cpu_times().unwrap();
    assert!(t1.user + t1.system - t0.user - t0.system > 0.1);
    let file = tempfile::NamedTempFile::new().unwrap();
    let open = me.open_files().unwrap();
    let path = file.path().canonicalize().unwrap();
    assert!(open.iter().any(|f| f.path == path), "{open:?}");
    assert!(memsight::pids().unwrap().contains(&me.pid()));
}

#[test]
fn memory_info_matches_ps_and_uss_sees_64_mib() {
    let dir = tempfile::tempdir().unwrap();
    let kid = Kid::spawn("alloc64", dir.path());
    let p = Process::new(kid.pid()).unwrap();
    let m = p.memory_info().unwrap();
    let ps = run("ps", &["-o", "rss=,vsz=", "-p", &kid.pid().to_string()]);
    let mut kb = ps
        .split_whitespace()
        .map(|v| v.parse::<u64>().unwrap() * 1024);
    assert!(m.rss.abs_diff(kb.next().unwrap()) < 4 * MIB);
    assert!(m.vms.abs_diff(kb.next().unwrap()) < 64 * MIB);
    assert!(p.memory_footprint().unwrap().uss >= 64 * MIB);
    assert_eq!(p.cwd().unwrap(), dir.path().canonicalize().unwrap());
    assert_eq!(p.environ().unwrap()[TEST_VAR.0], TEST_VAR.1);
    assert_eq!(p.cmdline().unwrap()[1..3], ["--exact", "child_helper"]);
    let me = Process::current().unwrap();
    assert_eq!(p.parent().unwrap(), Some(me.clone()));
    assert!(me.children(false).unwrap().contains(&p));
}

#[test]
fn zombie_status_and_gone_process() {
    let mut child = Command::new("/usr/bin/true").spawn().unwrap();
    let pid = child.id();
    let p = Process::new(pid).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while p.status().unwrap() != ProcessStatus::Zombie {
        assert!(Instant::now() < deadline, "never became a zombie");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(matches!(p.memory_info(), Err(Error::ZombieProcess { .. })));
    child.wait().unwrap();
    assert!(matches!(p.memory_info(), Err(Error::NoSuchProcess { .. })));
    assert!(!p.is_running());
}

#[allow(unsafe_code)]
fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn launchd_denies_without_root_and_never_hangs() {
    if is_root() {
        eprintln!("skipped: running as root, launchd is readable");
        return;
    }
    let launchd = Process::new(1).unwrap();
    assert_eq!(launchd.uids().unwrap().real, 0);
    assert_eq!(launchd.username().unwrap(), "root");
    let start = Instant::now();
    assert!(matches!(
        launchd.memory_info_ex(),
        Err(Error::AccessDenied { .. })
    ));
    assert!(matches!(
        launchd.memory_footprint(),
        Err(Error::AccessDenied { .. })
    ));
    assert!(start.elapsed() < Duration::from_secs(3));
}

#[test]
fn heap_sees_an_allocation() {
    let before = memsight::heap::info().unwrap();
    let v = vec![7u8; 4 * MIB as usize];
    let after = memsight::heap::info().unwrap();
    assert!(after.heap_used >= before.heap_used + 3 * MIB);
    assert_eq!(after.allocator, "libmalloc");
    drop(v);
    memsight::heap::trim().unwrap();
}
