//! The cgroup walk on hierarchies a user with a delegated subtree can make: paths longer than
//! `PATH_MAX`, chains thousands of levels deep, and a directory that cannot be read. The trees
//! are built in a temporary directory (a synthetic cgroup2 mount), with `mkdirat`/`openat`
//! since their paths are too long for path-based calls.
#![cfg(target_os = "linux")]

use std::os::fd::OwnedFd;

use memsight::linux::ProcFs;
use rustix::fs::{self, Mode, OFlags};

const PATH_MAX: usize = 4096;

fn write_at(dir: &OwnedFd, name: &str, text: &str) {
    let fd = fs::openat(
        dir,
        name,
        OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o644),
    )
    .unwrap();
    assert_eq!(rustix::io::write(&fd, text.as_bytes()).unwrap(), text.len());
}

/// The memory files of a v2 cgroup whose usage is `usage` bytes.
fn memory_files(dir: &OwnedFd, usage: u64) {
    write_at(dir, "memory.current", &format!("{usage}\n"));
    write_at(dir, "memory.stat", "anon 4096\nfile 0\ninactive_file 0\n");
    write_at(dir, "cgroup.procs", "");
}

/// A synthetic host with a cgroup2 mount and a chain of `names` below its root, each level a
/// memory cgroup whose usage is its depth in KiB. Returns the view and the temporary directory.
fn chain(names: impl Iterator<Item = String>) -> (ProcFs, tempfile::TempDir) {
    // On tmpfs where there is one: thousands of directories on a busy disk take seconds.
    let shm = std::path::Path::new("/dev/shm");
    let tmp = if shm.is_dir() {
        tempfile::tempdir_in(shm)
    } else {
        tempfile::tempdir()
    }
    .unwrap();
    let proc_self = tmp.path().join("proc/self");
    std::fs::create_dir_all(&proc_self).unwrap();
    std::fs::write(
        proc_self.join("mountinfo"),
        "24 30 0:22 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw\n",
    )
    .unwrap();
    let top = tmp.path().join("sys/fs/cgroup");
    std::fs::create_dir_all(&top).unwrap();
    std::fs::write(top.join("cgroup.controllers"), "memory\n").unwrap();
    let mut dir = fs::open(&top, OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty()).unwrap();
    for (depth, name) in (1u64..).zip(names) {
        fs::mkdirat(&dir, name.as_str(), Mode::from_raw_mode(0o755)).unwrap();
        dir = fs::openat(
            &dir,
            name.as_str(),
            OFlags::RDONLY | OFlags::DIRECTORY,
            Mode::empty(),
        )
        .unwrap();
        memory_files(&dir, depth << 10);
    }
    let procfs = ProcFs::new(tmp.path().join("proc")).with_sys_root(tmp.path().join("sys"));
    (procfs, tmp)
}

#[test]
fn paths_longer_than_path_max_are_read_like_any_other() {
    // 63 levels of 64-byte names: a 4,095-byte cgroup path, past PATH_MAX under any mount point.
    let names = (0..63).map(|i| format!("{i:02}{}", "x".repeat(62)));
    let (procfs, _tmp) = chain(names);
    let walk = procfs.cgroups_walk(usize::MAX).unwrap();
    assert!(walk.unreadable.is_empty(), "{:?}", walk.unreadable);
    assert_eq!(walk.cgroups.len(), 63);
    for (depth, cg) in (1..).zip(&walk.cgroups) {
        assert_eq!(cg.depth, depth);
        assert_eq!(cg.usage, (depth as u64) << 10, "{}", cg.path);
        assert_eq!(cg.working_set, (depth as u64) << 10);
    }
    let deepest = walk.cgroups.last().unwrap();
    assert_eq!(deepest.path.len(), 63 * 65);
    assert!(deepest.directory.as_os_str().len() > PATH_MAX);
}

#[test]
fn a_chain_thousands_of_levels_deep_needs_no_deep_stack() {
    // 2,100 one-letter levels: a recursive walk took a frame per level (it overflowed serve's
    // worker stack); this one keeps its own stack. The deepest paths are also past PATH_MAX.
    let (procfs, _tmp) = chain((0..2100).map(|_| "a".to_owned()));
    // On a thread with a small stack, so that a walk that recursed would overflow it.
    let walk = std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(move || procfs.cgroups_walk(1900).unwrap())
        .unwrap()
        .join()
        .unwrap();
    assert!(walk.unreadable.is_empty());
    assert_eq!(walk.cgroups.len(), 1900, "bounded by the depth asked for");
    assert_eq!(walk.cgroups[1899].depth, 1900);
    assert_eq!(walk.cgroups[1899].usage, 1900 << 10);
}

#[test]
fn a_cgroup_that_cannot_be_read_is_named_and_the_rest_is_read() {
    let (procfs, tmp) = chain(["a".to_owned()].into_iter());
    let top = tmp.path().join("sys/fs/cgroup");
    // Siblings of /a: one whose memory.stat cannot be read (a directory: EISDIR, as root cannot
    // be denied a file), and a readable one after it.
    for name in ["b", "c"] {
        std::fs::create_dir(top.join(name)).unwrap();
        let dir = fs::open(
            top.join(name),
            OFlags::RDONLY | OFlags::DIRECTORY,
            Mode::empty(),
        )
        .unwrap();
        memory_files(&dir, 1 << 20);
    }
    std::fs::remove_file(top.join("b/memory.stat")).unwrap();
    std::fs::create_dir(top.join("b/memory.stat")).unwrap();
    let walk = procfs.cgroups_walk(usize::MAX).unwrap();
    let paths: Vec<&str> = walk.cgroups.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(paths, ["/a", "/c"]);
    assert_eq!(walk.unreadable.len(), 1);
    assert_eq!(walk.unreadable[0].path, "/b");
    assert!(!walk.unreadable[0].error.is_empty());
    // The plain list leaves it out too, instead of failing whole.
    assert_eq!(procfs.cgroups().unwrap().len(), 2);
}
