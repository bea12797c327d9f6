//! The FreeBSD backend on processes the test starts. These cannot run on the Linux machines CI has:
//! scripts/test-cross.sh links them for x86_64-unknown-freebsd (which proves every FFI call the
//! backend makes resolves against FreeBSD's libc), and `cargo test -p memsight` runs them on a
//! FreeBSD machine.
#![cfg(target_os = "freebsd")]
#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the test failing
#![allow(unsafe_code)] // malloc/free to move heap::info

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use memsight::{Error, Process};

const MIB: u64 = 1 << 20;

/// `sleep 60` started from `sh` with `/etc/passwd` open on descriptor 3, a known cwd and a known
/// environment variable; killed and reaped on drop.
struct Kid(Child);

impl Kid {
    fn spawn(cwd: &std::path::Path) -> Kid {
        let child = Command::new("/bin/sh")
            .args(["-c", "exec 3</etc/passwd; exec /bin/sleep 60"])
            .env("MEMSIGHT_TEST_VAR", "hello freebsd")
            .current_dir(cwd)
            .spawn()
            .unwrap();
        let kid = Kid(child);
        // Wait until sh has exec'd sleep.
        let deadline = Instant::now() + Duration::from_secs(10);
        while Process::new(kid.pid())
            .and_then(|p| p.name())
            .ok()
            .as_deref()
            != Some("sleep")
        {
            assert!(Instant::now() < deadline, "the child never became sleep");
            std::thread::sleep(Duration::from_millis(10));
        }
        kid
    }

    fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Kid {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn system_memory_adds_up() {
    let m = memsight::virtual_memory().unwrap();
    assert!(m.total > 0 && m.available <= m.total, "{m:?}");
    assert_eq!(m.available, m.inactive + m.cached + m.free);
    assert_eq!(m.used, m.active + m.wired + m.cached);
    let s = memsight::swap_memory().unwrap();
    assert!(s.used <= s.total && s.free == s.total - s.used, "{s:?}");
    let booted = memsight::boot_time().unwrap();
    let me = Process::current().unwrap();
    assert!(booted > 1e9 && booted <= me.create_time().unwrap());
    assert!(memsight::page_size() >= 4096);
}

#[test]
fn a_child_seen_from_every_getter() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path().canonicalize().unwrap();
    let kid = Kid::spawn(&cwd);
    let p = Process::new(kid.pid()).unwrap();
    let me = Process::current().unwrap();

    assert!(memsight::pids().unwrap().contains(&kid.pid()));
    assert_eq!(p.ppid().unwrap(), std::process::id());
    assert_eq!(p.parent().unwrap(), Some(me.clone()));
    assert!(me.children(false).unwrap().contains(&p));
    assert_eq!(p.cmdline().unwrap(), ["/bin/sleep", "60"]);
    assert_eq!(p.exe().unwrap(), std::path::Path::new("/bin/sleep"));
    assert_eq!(p.cwd().unwrap(), cwd);
    let env = p.environ().unwrap();
    assert_eq!(
        env.get("MEMSIGHT_TEST_VAR").map(String::as_str),
        Some("hello freebsd")
    );
    let files = p.open_files().unwrap();
    assert!(
        files
            .iter()
            .any(|f| f.fd == 3 && f.path == std::path::Path::new("/etc/passwd")),
        "{files:?}"
    );
    assert!(p.num_fds().unwrap() >= 4); // 0, 1, 2 and 3
    assert_eq!(
        p.status().unwrap(),
        memsight::process::ProcessStatus::Sleeping
    );
    assert_eq!(p.num_threads().unwrap(), 1);
    assert_eq!(p.uids().unwrap(), me.uids().unwrap());
    assert_eq!(p.username().unwrap(), me.username().unwrap());
    assert!(p.create_time().unwrap() >= me.create_time().unwrap());

    let m = p.memory_info().unwrap();
    assert!(m.rss > 0 && m.vms >= m.rss && m.text > 0, "{m:?}");
    let maps = p.memory_maps(false).unwrap();
    assert!(
        maps.iter()
            .any(|m| m.path == "/bin/sleep" && m.perms.contains('x'))
    );
    let grouped = p.memory_maps(true).unwrap();
    let rss = |v: &[memsight::MemoryMap]| v.iter().map(|m| m.rss).sum::<u64>();
    assert_eq!(rss(&grouped), rss(&maps));
    assert!(matches!(p.memory_footprint(), Err(Error::Unsupported(_))));

    drop(kid);
    assert!(!p.is_running());
    assert!(matches!(p.memory_info(), Err(Error::NoSuchProcess { .. })));
}

#[test]
fn an_unreaped_child_is_a_zombie() {
    let dir = tempfile::tempdir().unwrap();
    let mut kid = Kid::spawn(dir.path());
    let p = Process::new(kid.pid()).unwrap();
    kid.0.kill().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while p.status().unwrap() != memsight::process::ProcessStatus::Zombie {
        assert!(Instant::now() < deadline, "the child never became a zombie");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(p.is_running());
    assert!(matches!(p.environ(), Err(Error::ZombieProcess { .. })));
    assert_eq!(p.name().unwrap(), "sleep");
}

#[test]
fn heap_info_sees_a_64_mib_malloc() {
    let before = memsight::heap::info().unwrap();
    assert_eq!(before.allocator, "jemalloc");
    // SAFETY: a plain malloc, written so it is in use, freed below.
    let block = unsafe { libc::malloc((64 * MIB) as usize) };
    assert!(!block.is_null());
    // SAFETY: the block has 64 MiB.
    unsafe { std::ptr::write_bytes(block.cast::<u8>(), 1, (64 * MIB) as usize) };
    let during = memsight::heap::info().unwrap();
    // SAFETY: the block came from malloc and is freed once.
    unsafe { libc::free(block) };
    assert!(
        during.heap_used >= before.heap_used + 64 * MIB,
        "{before:?} {during:?}"
    );
    assert!(memsight::heap::trim().unwrap());
}

#[test]
fn unknown_pids_and_memtypes() {
    assert!(matches!(
        Process::new(99_999_999),
        Err(Error::NoSuchProcess { .. })
    ));
    let me = Process::current().unwrap();
    let pct = me.memory_percent("rss".parse().unwrap()).unwrap();
    assert!(pct > 0.0 && pct < 100.0);
}
