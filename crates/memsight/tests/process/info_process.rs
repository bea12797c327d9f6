//! The procinfo getters against a process the test starts with known properties, against
//! `/proc/PID/status`, `ps -o` and psutil 7.2.2.
#![cfg(target_os = "linux")] // /proc, ptrace modes, psutil oracles: see windows.rs for Windows
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::info_support::{Target, ps};
use memsight::Process;
use memsight::process::{
    Address, AddressFamily, ConnectionKind, ConnectionStatus, ProcessStatus, Resource, SocketType,
};
use memsight_test_support::{Kid, psutil, stat_field, wait_until};

/// The nice `info_target.py` ends up with: this thread's own (field 19 of `/proc/thread-self/stat`,
/// which the child inherits) plus the 5 it adds, capped at 19.
fn expected_target_nice() -> i32 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
    let after_comm = &stat[stat.rfind(')').unwrap() + 2..];
    let own: i32 = after_comm.split(' ').nth(19 - 3).unwrap().parse().unwrap();
    (own + 5).min(19)
}

#[test]
fn known_process_is_reported_exactly() {
    let target = Target::start();
    let p = Process::new(target.pid()).unwrap();

    assert_eq!(p.cwd().unwrap(), target.dir.path().canonicalize().unwrap());
    assert_eq!(
        p.exe().unwrap(),
        std::fs::canonicalize("/usr/bin/python3").unwrap()
    );
    // The target raised its nice by 5 from what it inherited (this thread's: the suite may itself
    // run under `nice`), up to the kernel's ceiling of 19.
    let nice = expected_target_nice();
    assert_eq!(p.nice().unwrap(), nice);
    assert_eq!(p.ppid().unwrap(), std::process::id());
    assert_eq!(p.num_threads().unwrap(), 3);
    wait_until("target asleep on stdin", || {
        p.status().unwrap() == ProcessStatus::Sleeping
    });

    // The same fields as ps reports them for the (idle) target.
    let pid = target.pid();
    assert_eq!(ps("ni", pid), nice.to_string());
    assert_eq!(ps("nlwp", pid), "3");
    assert_eq!(ps("ppid", pid), std::process::id().to_string());
    assert_eq!(ps("tty", pid), "?");
    assert_eq!(p.terminal().unwrap(), None);
    assert_eq!(
        ps("min_flt", pid),
        p.page_faults().unwrap().minor.to_string()
    );
    assert_eq!(
        ps("maj_flt", pid),
        p.page_faults().unwrap().major.to_string()
    );
    let times = p.cpu_times().unwrap();
    assert_eq!(
        ps("times", pid),
        ((times.user + times.system) as u64).to_string()
    );
    assert_eq!(ps("psr", pid), p.cpu_num().unwrap().to_string());

    let tids: Vec<u64> = p
        .threads()
        .unwrap()
        .iter()
        .map(|t| u64::from(t.id))
        .collect();
    let want: Vec<u64> = target.facts["tids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_u64().unwrap())
        .collect();
    assert_eq!(tids, want);

    let nofile = p.rlimit(Resource::Nofile).unwrap();
    assert_eq!((nofile.soft, nofile.hard), (Some(100), Some(200)));

    let files = p.open_files().unwrap();
    let data = files
        .iter()
        .find(|f| f.path == Path::new(target.facts["file"].as_str().unwrap()))
        .unwrap_or_else(|| panic!("data.bin not in {files:?}"));
    assert_eq!(u64::from(data.fd), target.fact("file_fd"));
    assert_eq!(data.position, 1234);
    assert_eq!(data.mode, "r+");
    let log = files
        .iter()
        .find(|f| f.path == Path::new(target.facts["log"].as_str().unwrap()))
        .unwrap();
    assert_eq!(
        (u64::from(log.fd), log.mode.as_str()),
        (target.fact("log_fd"), "a")
    );
    assert_eq!(files.len(), 2, "only the two regular files: {files:?}");

    let conns = p.net_connections(ConnectionKind::Inet).unwrap();
    assert_eq!(conns.len(), 4, "{conns:?}");
    let by_fd = |fd: u64| conns.iter().find(|c| u64::from(c.fd) == fd).unwrap();
    let listen = by_fd(target.fact("listen_fd"));
    let local = |port: u64| Address::Inet(SocketAddr::from(([127, 0, 0, 1], port as u16)));
    assert_eq!(listen.family, AddressFamily::Inet);
    assert_eq!(listen.kind, SocketType::Stream);
    assert_eq!(listen.status, ConnectionStatus::Listen);
    assert_eq!(listen.laddr, local(target.fact("listen_port")));
    assert_eq!(listen.raddr, Address::None);
    let udp = by_fd(target.fact("udp_fd"));
    assert_eq!(
        (udp.kind, udp.status),
        (SocketType::Dgram, ConnectionStatus::None)
    );
    assert_eq!(udp.laddr, local(target.fact("udp_port")));
    assert_eq!(udp.raddr, local(target.fact("sink_port")));
    let sink = by_fd(target.fact("sink_fd"));
    assert_eq!(sink.raddr, Address::None);
    let listen6 = by_fd(target.fact("listen6_fd"));
    assert_eq!(
        (listen6.family, listen6.status),
        (AddressFamily::Inet6, ConnectionStatus::Listen)
    );
    assert_eq!(
        listen6.laddr,
        Address::Inet(SocketAddr::new(
            "::1".parse().unwrap(),
            target.fact("listen6_port") as u16
        ))
    );
    assert_eq!(
        p.net_connections(ConnectionKind::Tcp6).unwrap(),
        std::slice::from_ref(listen6)
    );
    assert_eq!(
        p.net_connections(ConnectionKind::Tcp4).unwrap(),
        std::slice::from_ref(listen)
    );
    assert_eq!(p.net_connections(ConnectionKind::Udp4).unwrap().len(), 2);
    assert!(p.net_connections(ConnectionKind::Udp6).unwrap().is_empty());
    // Python's stdin/stdout pipes are not sockets: the one UNIX socket is the bound one.
    let unix = p.net_connections(ConnectionKind::Unix).unwrap();
    assert_eq!(unix.len(), 1, "{unix:?}");
    assert_eq!(u64::from(unix[0].fd), target.fact("unix_fd"));
    assert_eq!(
        (unix[0].family, unix[0].kind),
        (AddressFamily::Unix, SocketType::Stream)
    );
    assert_eq!(
        unix[0].laddr,
        Address::Unix(target.facts["unix_path"].as_str().unwrap().into())
    );
    assert_eq!(p.net_connections(ConnectionKind::All).unwrap().len(), 5);

    // The known environment, exactly (python's own setenv calls do not reach /proc/PID/environ).
    let env = p.environ().unwrap();
    assert_eq!(env.len(), 2, "{env:?}");
    assert_eq!(env["MEMSIGHT_TEST"], "known value");
    assert_eq!(env["PATH"], "/usr/bin:/bin");

    // The whole record agrees with the single getters and misses nothing.
    let info = p.info().unwrap();
    assert!(info.access_denied.is_empty(), "{:?}", info.access_denied);
    assert_eq!(info.nice, Some(nice));
    assert_eq!(
        info.cwd.as_deref(),
        Some(target.dir.path().canonicalize().unwrap().as_path())
    );
    assert_eq!(info.environ.as_ref(), Some(&env));
    assert_eq!(info.rlimit.as_ref().unwrap()["nofile"].soft, Some(100));
    assert_eq!(info.threads.as_ref().unwrap().len(), 3);
    assert_eq!(info.open_files.as_ref().unwrap().len(), 2);
    assert_eq!(info.net_connections.as_ref().unwrap().len(), 4);
    assert_eq!(info.username.as_deref(), Some("root"));
    assert_eq!(info.name.as_deref(), Some("python3"));
    assert!(info.memory_full_info.unwrap().uss > 0);
    assert!(
        info.memory_maps
            .as_ref()
            .unwrap()
            .iter()
            .any(|m| m.path.contains("python3"))
    );
    assert_eq!(info.page_faults, Some(p.page_faults().unwrap()));
    let ctx = info.num_ctx_switches.unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |k: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(k))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    assert_eq!(ctx.voluntary, field("voluntary_ctxt_switches:"));
    assert_eq!(ctx.involuntary, field("nonvoluntary_ctxt_switches:"));

    // The parent is this test, and this test has the target among its children.
    let me = Process::current().unwrap();
    assert_eq!(p.parent().unwrap().unwrap(), me);
    assert!(me.children(false).unwrap().contains(&p));
    assert!(me.children(true).unwrap().contains(&p));
}

#[test]
fn known_process_matches_psutil() {
    let target = Target::start();
    let pid = target.pid();
    let p = Process::new(pid).unwrap();
    let ours = serde_json::json!({
        "ppid": p.ppid().unwrap(),
        "create_time": p.create_time().unwrap(),
        "status": p.status().unwrap(),
        "nice": p.nice().unwrap(),
        "ionice": p.ionice().unwrap(),
        "num_threads": p.num_threads().unwrap(),
        "num_fds": p.num_fds().unwrap(),
        "terminal": p.terminal().unwrap(),
        "cpu_affinity": p.cpu_affinity().unwrap(),
        "exe": p.exe().unwrap(),
        "cwd": p.cwd().unwrap(),
        "open_files": p.open_files().unwrap(),
        "net_connections": p.net_connections(ConnectionKind::All).unwrap(),
        "threads": p.threads().unwrap().iter().map(|t| t.id).collect::<Vec<_>>(),
        "rlimit": p.rlimits().unwrap().iter().map(|(r, l)| (r.name(), l)).collect::<std::collections::BTreeMap<_, _>>(),
        "io_counters": p.io_counters().unwrap(),
        "num_ctx_switches": p.num_ctx_switches().unwrap(),
        "environ": p.environ().unwrap(),
        "name": p.name().unwrap(),
        "username": p.username().unwrap(),
        "uids": p.uids().unwrap(),
        "gids": p.gids().unwrap(),
    });
    let theirs = psutil(
        r#"
p = psutil.Process(int(sys.argv[1]))
d = p.as_dict(["ppid", "create_time", "status", "nice", "ionice", "num_threads", "num_fds",
               "terminal", "cpu_affinity", "exe", "cwd", "open_files", "net_connections", "threads",
               "io_counters", "num_ctx_switches", "environ", "name", "username", "uids", "gids"])
for k in ("num_ctx_switches", "uids", "gids"):
    d[k] = d[k]._asdict()
d["net_connections"] = p.net_connections("all")
d["ionice"] = {"ioclass": int(d["ionice"].ioclass), "value": d["ionice"].value}
d["io_counters"] = d["io_counters"]._asdict()
d["open_files"] = sorted([f._asdict() for f in d["open_files"]], key=lambda f: f["fd"])
a = lambda x: list(x) if isinstance(x, tuple) else x
d["net_connections"] = sorted([[c.fd, int(c.family), int(c.type), a(c.laddr), a(c.raddr), c.status]
                               for c in d["net_connections"]])
d["threads"] = sorted(t.id for t in d["threads"])
lim = {}
for name in dir(psutil):
    if name.startswith("RLIMIT_"):
        soft, hard = p.rlimit(getattr(psutil, name))
        inf = psutil.RLIM_INFINITY
        lim[name[7:].lower()] = {"soft": None if soft == inf else soft, "hard": None if hard == inf else hard}
d["rlimit"] = lim
print(json.dumps(d))
"#,
        &[pid.to_string()],
    );
    for key in [
        "ppid",
        "status",
        "nice",
        "ionice",
        "num_threads",
        "num_fds",
        "terminal",
        "cpu_affinity",
        "exe",
        "cwd",
        "open_files",
        "threads",
        "rlimit",
        "io_counters",
        "num_ctx_switches",
        "environ",
        "name",
        "username",
        "uids",
        "gids",
    ] {
        assert_eq!(ours[key], theirs[key], "{key}");
    }
    let conns: Vec<serde_json::Value> = ours["net_connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            serde_json::json!([
                c["fd"],
                c["family"],
                c["type"],
                c["laddr"],
                c["raddr"],
                c["status"]
            ])
        })
        .collect();
    assert_eq!(serde_json::Value::from(conns), theirs["net_connections"]);
    let (a, b) = (
        ours["create_time"].as_f64().unwrap(),
        theirs["create_time"].as_f64().unwrap(),
    );
    assert!((a - b).abs() < 0.011, "create_time {a} vs psutil {b}");
}

#[test]
fn getters_match_proc_status_and_ps_for_live_processes() {
    let mut checked = 0;
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(p) = Process::new(pid) else { continue };
        // Compare only when /proc/PID/status is the same before and after our reads, so a
        // process that changed meanwhile (new thread, new parent, woke up) is not a mismatch.
        let read_status = || std::fs::read_to_string(format!("/proc/{pid}/status")).ok();
        let Some(before) = read_status() else {
            continue;
        };
        let (Ok(ppid), Ok(threads), Ok(state), Ok(faults)) =
            (p.ppid(), p.num_threads(), p.status(), p.page_faults())
        else {
            continue;
        };
        let Some(after) = read_status() else { continue };
        let field = |status: &str, key: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{key}:")))
                .map(|v| v.trim().to_owned())
                .unwrap()
        };
        let steady = ["PPid", "Threads", "State"]
            .iter()
            .all(|k| field(&before, k) == field(&after, k));
        if !steady {
            continue;
        }
        assert_eq!(ppid.to_string(), field(&after, "PPid"), "pid {pid}");
        assert_eq!(threads.to_string(), field(&after, "Threads"), "pid {pid}");
        let letter = field(&after, "State").chars().next().unwrap();
        // A busy process flips between running and sleeping faster than two reads.
        if letter != 'R' && state != ProcessStatus::Running {
            assert_eq!(state, ProcessStatus::from_letter(letter as u8), "pid {pid}");
        }
        // Faults only grow: ours were read before this re-read of stat.
        if let Some(now) = stat_field(pid, 10).and_then(|f| f.parse::<u64>().ok()) {
            assert!(faults.minor <= now, "pid {pid}");
        }
        checked += 1;
    }
    assert!(checked > 10, "only {checked} processes checked");

    // ps for this test process, which holds still.
    let me = Process::current().unwrap();
    let pid = std::process::id();
    assert_eq!(ps("ni", pid), me.nice().unwrap().to_string());
    assert_eq!(ps("ppid", pid), me.ppid().unwrap().to_string());
    let tty = ps("tty", pid);
    match me.terminal().unwrap() {
        Some(path) => assert_eq!(format!("/dev/{tty}"), path.display().to_string()),
        None => assert_eq!(tty, "?"),
    }
    // create_time against ps's lstart is minute-exact at best; against psutil it is exact.
    let psutil_ctime = psutil(
        "print(json.dumps(psutil.Process(int(sys.argv[1])).create_time()))",
        &[pid.to_string()],
    );
    assert!((me.create_time().unwrap() - psutil_ctime.as_f64().unwrap()).abs() < 0.011);
    let affinity = me.cpu_affinity().unwrap();
    let nproc: usize = String::from_utf8(Command::new("nproc").output().unwrap().stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(affinity.len(), nproc);
    assert!(affinity.contains(&me.cpu_num().unwrap()));
}

#[test]
fn zombie_status_is_zombie() {
    let kid = Kid(Command::new("true").spawn().unwrap());
    let pid = kid.pid();
    wait_until("zombie", || stat_field(pid, 3).as_deref() == Some("Z"));
    let p = Process::new(pid).unwrap();
    assert_eq!(p.status().unwrap(), ProcessStatus::Zombie);
    assert_eq!(p.status().unwrap().as_str(), "zombie");
    assert!(matches!(
        p.exe(),
        Err(memsight::Error::ZombieProcess { .. })
    ));
    let info = p.info().unwrap();
    assert_eq!(info.status, Some(ProcessStatus::Zombie));
    assert!(info.exe.is_none());
    assert!(
        info.access_denied.contains(&"exe"),
        "{:?}",
        info.access_denied
    );
}

#[test]
fn kernel_thread_answers_like_psutil() {
    let p = Process::new(2).unwrap();
    assert_eq!(p.exe().unwrap(), PathBuf::new());
    let theirs = psutil(
        "p = psutil.Process(2); print(json.dumps([p.exe(), p.cwd(), p.num_threads(), p.status()]))",
        &[],
    );
    assert_eq!(theirs[0], "");
    assert_eq!(theirs[1], p.cwd().unwrap().display().to_string());
    assert_eq!(theirs[2], p.num_threads().unwrap());
    assert_eq!(theirs[3], p.status().unwrap().as_str());
}

#[test]
fn gone_process_is_no_such_process() {
    let mut kid = Kid(Command::new("sleep").arg("30").spawn().unwrap());
    let p = Process::new(kid.pid()).unwrap();
    kid.0.kill().unwrap();
    kid.0.wait().unwrap();
    for result in [
        p.exe().map(drop),
        p.num_fds().map(drop),
        p.ionice().map(drop),
        p.cpu_affinity().map(drop),
        p.threads().map(drop),
        p.info().map(drop),
    ] {
        assert!(
            matches!(result, Err(memsight::Error::NoSuchProcess { .. })),
            "{result:?}"
        );
    }
}

#[test]
fn terminal_of_a_process_on_a_pty_matches_ps() {
    // `script` runs `sleep` on a new pseudo-terminal.
    let script = Kid(Command::new("script")
        .args(["-qfc", "sleep 30", "/dev/null"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap());
    let parent = Process::new(script.pid()).unwrap();
    let mut sleeper = None;
    wait_until("script starts sleep", || {
        sleeper = parent.children(true).unwrap().into_iter().find(|c| {
            std::fs::read_to_string(format!("/proc/{}/comm", c.pid()))
                .is_ok_and(|n| n.trim() == "sleep")
        });
        sleeper.is_some()
    });
    let sleeper = sleeper.unwrap();
    let tty = sleeper.terminal().unwrap().expect("sleep has a terminal");
    assert!(tty.starts_with("/dev/pts/"), "{}", tty.display());
    assert_eq!(
        format!("/dev/{}", ps("tty", sleeper.pid())),
        tty.display().to_string()
    );
    let theirs = psutil(
        "print(json.dumps(psutil.Process(int(sys.argv[1])).terminal()))",
        &[sleeper.pid().to_string()],
    );
    assert_eq!(theirs, tty.display().to_string());
    // script itself has the test's terminal, if any: ps says the same.
    match parent.terminal().unwrap() {
        Some(t) => assert_eq!(
            format!("/dev/{}", ps("tty", parent.pid())),
            t.display().to_string()
        ),
        None => assert_eq!(ps("tty", parent.pid()), "?"),
    }
}

#[test]
fn deleted_executable_with_spaces_is_reported_without_the_suffix() {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("my sleep");
    std::fs::copy("/bin/sleep", &exe).unwrap();
    let kid = Kid(Command::new(&exe).arg("30").spawn().unwrap());
    let p = Process::new(kid.pid()).unwrap();
    wait_until("exec done", || p.exe().is_ok_and(|e| e == exe));
    std::fs::remove_file(&exe).unwrap();
    let raw = std::fs::read_link(format!("/proc/{}/exe", kid.pid())).unwrap();
    assert!(
        raw.to_string_lossy().ends_with(" (deleted)"),
        "{}",
        raw.display()
    );
    assert_eq!(p.exe().unwrap(), exe);
    let theirs = psutil(
        "print(json.dumps(psutil.Process(int(sys.argv[1])).exe()))",
        &[kid.pid().to_string()],
    );
    assert_eq!(theirs, exe.display().to_string());
    // A file that really ends in " (deleted)" keeps its name while it exists.
    let odd = dir.path().join("odd (deleted)");
    std::fs::copy("/bin/sleep", &odd).unwrap();
    let kid2 = Kid(Command::new(&odd).arg("30").spawn().unwrap());
    let p2 = Process::new(kid2.pid()).unwrap();
    wait_until("exec done", || p2.exe().is_ok_and(|e| e == odd));
}

#[test]
fn no_descriptor_outlives_a_call() {
    let name = "no_descriptor_outlives_a_call";
    if !memsight_test_support::alone_in_a_process(&memsight_test_support::test_path(
        module_path!(),
        name,
    )) {
        return;
    }
    let target = Target::start();
    let p = Process::new(target.pid()).unwrap();
    let open_fds = || std::fs::read_dir("/proc/self/fd").unwrap().count();
    p.info().unwrap();
    let before = open_fds();
    for _ in 0..20 {
        p.info().unwrap();
        p.net_connections(ConnectionKind::All).unwrap();
        memsight::net_if_addrs().unwrap();
        memsight::disk_io_counters(true, true).unwrap();
    }
    assert_eq!(open_fds(), before);
}

#[test]
fn boot_time_matches_psutil_and_proc_stat() {
    let ours = memsight::boot_time().unwrap();
    let theirs = psutil("print(json.dumps(psutil.boot_time()))", &[]);
    assert_eq!(ours, theirs.as_f64().unwrap());
    let stat = std::fs::read_to_string("/proc/stat").unwrap();
    let btime: f64 = stat
        .lines()
        .find_map(|l| l.strip_prefix("btime "))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(ours, btime);
}
