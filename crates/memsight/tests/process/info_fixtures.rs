//! The procinfo getters on a canned `/proc` tree (built in a temporary directory, so symlinks
//! can point at real files): exact values from known bytes, through the same readers as live.
#![cfg(target_os = "linux")] // /proc, ptrace modes, psutil oracles: see windows.rs for Windows
#![allow(clippy::unwrap_used)]

use std::os::unix::fs::symlink;
use std::path::Path;

use memsight::Process;
use memsight::linux::ProcFs;
use memsight::process::{Address, ConnectionKind, ConnectionStatus, ProcessStatus, Resource};

fn write(path: &Path, data: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, data).unwrap();
}

/// `/proc/4242` of a process `(my (odd) name)` in state `D`, nice -5, 3 threads, started 12345
/// ticks after boot, with one regular file, one TCP socket and one pipe open.
fn tree() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let p = root.path();
    let pid = p.join("4242");
    write(
        &p.join("stat"),
        "cpu  1 2 3 4\nbtime 1700000000\nprocesses 5\n",
    );
    let stat = "4242 (my (odd) name) D 1 4242 4242 0 -1 4194560 1500 0 3 0 250 70 10 20 20 -5 3 0 12345 1000 10 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 9 0 0\n";
    write(&pid.join("stat"), stat);
    write(&pid.join("task/4242/stat"), stat);
    write(
        &pid.join("task/4250/stat"),
        "4250 (worker) S 1 4242 4242 0 -1 0 0 0 0 0 300 40 0 0 20 -5 3 0 12400 0 0 0\n",
    );
    write(
        &pid.join("task/4251/stat"),
        "4251 (worker) S 1 4242 4242 0 -1 0 0 0 0 0 5 6 0 0 20 -5 3 0 12400 0 0 0\n",
    );
    write(
        &pid.join("io"),
        "rchar: 100\nwchar: 200\nsyscr: 3\nsyscw: 4\nread_bytes: 4096\nwrite_bytes: 8192\ncancelled_write_bytes: 0\n",
    );
    write(
        &pid.join("limits"),
        "Limit                     Soft Limit           Hard Limit           Units     \n\
         Max cpu time              unlimited            unlimited            seconds   \n\
         Max open files            100                  200                  files     \n",
    );
    let data = p.join("data file.txt");
    write(&data, "hello");
    std::fs::create_dir_all(pid.join("fd")).unwrap();
    symlink(&data, pid.join("fd/3")).unwrap();
    symlink("socket:[777]", pid.join("fd/4")).unwrap();
    symlink("pipe:[888]", pid.join("fd/5")).unwrap();
    write(
        &pid.join("fdinfo/3"),
        "pos:\t5\nflags:\t02002\nmnt_id:\t1\n",
    );
    let local = format!("{:08X}", u32::from_ne_bytes([10, 0, 0, 1]));
    let remote = format!("{:08X}", u32::from_ne_bytes([10, 0, 0, 2]));
    write(
        &pid.join("net/tcp"),
        &format!(
            "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: {local}:0050 {remote}:C350 01 0:0 0:0 0 0 0 777 1\n   1: {local}:0051 00000000:0000 0A 0:0 0:0 0 0 0 999 1\n"
        ),
    );
    write(
        &pid.join("net/udp"),
        "  sl  local_address rem_address   st\n",
    );
    write(
        &pid.join("net/tcp6"),
        "  sl  local_address rem_address   st\n",
    );
    write(
        &pid.join("net/udp6"),
        "  sl  local_address rem_address   st\n",
    );
    symlink("/", pid.join("cwd")).unwrap();
    root
}

#[test]
fn getters_read_the_canned_tree_exactly() {
    let root = tree();
    let p = ProcFs::new(root.path()).process(4242).unwrap();
    let tck = rustix::param::clock_ticks_per_second() as f64;
    assert_eq!(p.status().unwrap(), ProcessStatus::DiskSleep);
    assert_eq!(p.status().unwrap().as_str(), "disk-sleep");
    assert_eq!(p.ppid().unwrap(), 1);
    assert_eq!(p.nice().unwrap(), -5);
    assert_eq!(p.num_threads().unwrap(), 3);
    assert_eq!(p.cpu_num().unwrap(), 1);
    assert_eq!(p.create_time().unwrap(), 1_700_000_000.0 + 12345.0 / tck);
    let t = p.cpu_times().unwrap();
    assert_eq!(
        (
            t.user,
            t.system,
            t.children_user,
            t.children_system,
            t.iowait
        ),
        (250.0 / tck, 70.0 / tck, 10.0 / tck, 20.0 / tck, 9.0 / tck)
    );
    let f = p.page_faults().unwrap();
    assert_eq!((f.minor, f.major), (1500, 3));
    assert_eq!(p.terminal().unwrap(), None);
    let io = p.io_counters().unwrap();
    assert_eq!(
        (
            io.read_count,
            io.write_count,
            io.read_bytes,
            io.write_bytes,
            io.read_chars,
            io.write_chars
        ),
        (3, 4, 4096, 8192, 100, 200)
    );
    let limits = p.rlimits().unwrap();
    assert_eq!(limits.len(), 2);
    let nofile = p.rlimit(Resource::Nofile).unwrap();
    assert_eq!((nofile.soft, nofile.hard), (Some(100), Some(200)));
    assert_eq!(p.rlimit(Resource::Cpu).unwrap().soft, None);
    assert!(matches!(
        p.rlimit(Resource::Stack),
        Err(memsight::Error::Unsupported(_))
    ));
    let threads = p.threads().unwrap();
    let ids: Vec<u32> = threads.iter().map(|t| t.id).collect();
    assert_eq!(ids, [4242, 4250, 4251]);
    assert_eq!(
        (threads[1].user_time, threads[1].system_time),
        (300.0 / tck, 40.0 / tck)
    );
    assert_eq!(p.num_fds().unwrap(), 3);
    let files = p.open_files().unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].path, root.path().join("data file.txt"));
    assert_eq!(
        (
            files[0].fd,
            files[0].position,
            files[0].mode.as_str(),
            files[0].flags
        ),
        (3, 5, "a+", 0o2002)
    );
    let conns = p.net_connections(ConnectionKind::All).unwrap_err();
    assert!(
        matches!(conns, memsight::Error::Io { .. }),
        "no net/unix in the tree: {conns}"
    );
    let conns = p.net_connections(ConnectionKind::Inet).unwrap();
    assert_eq!(conns.len(), 1, "only inode 777 is the process's: {conns:?}");
    assert_eq!(conns[0].fd, 4);
    assert_eq!(conns[0].status, ConnectionStatus::Established);
    assert_eq!(
        conns[0].laddr,
        Address::Inet("10.0.0.1:80".parse().unwrap())
    );
    assert_eq!(
        conns[0].raddr,
        Address::Inet("10.0.0.2:50000".parse().unwrap())
    );
    assert_eq!(p.cwd().unwrap(), Path::new("/"));
}

#[test]
fn unparsable_files_name_the_file_and_line() {
    let root = tree();
    write(&root.path().join("4242/io"), "rchar: 1\nwchar: lots\n");
    let p = ProcFs::new(root.path()).process(4242).unwrap();
    match p.io_counters().unwrap_err() {
        memsight::Error::Parse { path, line, .. } => {
            assert!(path.ends_with("4242/io"), "{}", path.display());
            assert_eq!(line, 2);
        }
        other => panic!("{other}"),
    }
    write(&root.path().join("4242/stat"), "4242 (x) Q 1 2\n");
    assert!(matches!(p.status(), Err(memsight::Error::Parse { .. })));
}

fn stat_line(pid: u32, ppid: u32, start: u64) -> String {
    format!("{pid} (p{pid}) S {ppid} {pid} {pid} 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 {start} 0 0 0\n")
}

#[test]
fn relatives_started_before_us_are_reused_pids() {
    let root = tree();
    let p = root.path();
    // 4300 names 4242 as parent and started later: a child. 4301 claims 4242 too but started
    // before it, so its pid was reused: not a child. 4400 is 4300's child (a grandchild).
    write(&p.join("4300/stat"), &stat_line(4300, 4242, 20000));
    write(&p.join("4301/stat"), &stat_line(4301, 4242, 100));
    write(&p.join("4400/stat"), &stat_line(4400, 4300, 30000));
    // pid 1 started after 4242: whatever it is now, it is not 4242's parent.
    write(&p.join("1/stat"), &stat_line(1, 0, 99999));
    let procfs = ProcFs::new(p);
    let me = procfs.process(4242).unwrap();
    let pids = |v: Vec<Process>| v.iter().map(Process::pid).collect::<Vec<_>>();
    assert_eq!(pids(me.children(false).unwrap()), [4300]);
    assert_eq!(pids(me.children(true).unwrap()), [4300, 4400]);
    assert_eq!(me.parent().unwrap(), None);
    let child = procfs.process(4300).unwrap();
    assert_eq!(child.parent().unwrap().map(|p| p.pid()), Some(4242));
    write(&p.join("1/stat"), &stat_line(1, 0, 1));
    let child_of_1 = procfs.process(4242).unwrap();
    assert_eq!(child_of_1.parent().unwrap().map(|p| p.pid()), Some(1));
}
