//! memsight proves itself leak-free with memsight-leak, as psutil's test_memleaks.py does with
//! psleak: every public memsight API on main is called in a leak check (Rust heap exact, native
//! heap, USS/RSS/VMS, mappings, fds, threads). Scans of every process run fewer, smaller batches.
// It calls memsight's Linux-only APIs (meminfo, cgroups, net_connections, disk_io_counters);
// Windows has tests/windows.rs.
#![cfg(target_os = "linux")]

use std::hint::black_box;

use memsight::{MemType, Process};
use memsight_leak::{LeakTest, Report};

fn clean<T>(name: &str, f: impl FnMut() -> memsight::Result<T>) -> Report {
    clean_with(LeakTest::new(), name, f)
}

fn clean_with<T>(t: LeakTest, name: &str, mut f: impl FnMut() -> memsight::Result<T>) -> Report {
    memsight_test_support::settle_harness();
    let r = t
        .name(name)
        .check(|| {
            black_box(f().unwrap());
        })
        .unwrap_or_else(|e| panic!("memsight leaks in {name}:\n{e}"));
    assert!(r.passed());
    assert!(r.checked.contains(memsight_leak::Metric::RustHeap));
    r
}

/// For calls that read every process: fewer and smaller batches.
fn scan() -> LeakTest {
    LeakTest::new().warmup(8).batch(16, 64)
}

#[test]
fn virtual_memory() {
    clean("virtual_memory", memsight::virtual_memory);
}

#[test]
fn swap_memory() {
    clean("swap_memory", memsight::swap_memory);
}

#[test]
fn meminfo() {
    clean("meminfo", memsight::linux::meminfo);
}

#[test]
fn cgroup_memory() {
    clean("cgroup_memory", memsight::linux::cgroup_memory);
}

#[test]
fn page_size() {
    clean("page_size", || Ok(memsight::page_size()));
}

#[test]
fn heap_info() {
    clean("heap::info", memsight::heap::info);
}

#[test]
fn heap_trim() {
    clean("heap::trim", memsight::heap::trim);
}

#[test]
fn process_handle_open_and_drop() {
    // Opens an O_PATH fd of /proc/PID each call and must close it.
    clean("Process::current", Process::current);
    let me = std::process::id();
    clean("Process::new", || Process::new(me));
}

#[test]
fn process_is_running_and_oneshot() {
    let p = Process::current().unwrap();
    clean("is_running", || Ok(p.is_running()));
    clean("oneshot", || {
        p.oneshot(|p| Ok((p.memory_info()?, p.name()?)))
    });
}

#[test]
fn process_memory_info() {
    let p = Process::current().unwrap();
    clean("memory_info", || p.memory_info());
    clean("memory_info_ex", || p.memory_info_ex());
    clean("memory_full_info", || p.memory_full_info());
}

#[test]
fn process_memory_percent() {
    let p = Process::current().unwrap();
    clean("memory_percent(rss)", || p.memory_percent(MemType::Rss));
    clean("memory_percent(uss)", || p.memory_percent(MemType::Uss));
}

#[test]
fn process_memory_maps() {
    let p = Process::current().unwrap();
    clean("memory_maps(grouped)", || p.memory_maps(true));
    clean("memory_maps", || p.memory_maps(false));
}

#[test]
fn process_environ() {
    let p = Process::current().unwrap();
    clean("environ", || p.environ());
    clean("environ_os", || p.environ_os());
}

#[test]
fn process_identity_getters() {
    let p = Process::current().unwrap();
    clean("name", || p.name());
    clean("cmdline", || p.cmdline());
    clean("uids", || p.uids());
    clean("gids", || p.gids());
    clean("username", || p.username());
    clean("owner_uid", || p.owner_uid());
}

#[test]
fn process_getters_on_a_child() {
    let mut child = std::process::Command::new("sleep")
        .arg("60")
        .spawn()
        .unwrap();
    let p = Process::new(child.id()).unwrap();
    clean("child memory_full_info", || p.memory_full_info());
    clean("child environ", || p.environ());
    clean("child cmdline", || p.cmdline());
    child.kill().unwrap();
    child.wait().unwrap();
    // A gone process: the error path must not leak either.
    let r = LeakTest::new()
        .check_err(|| p.memory_info())
        .unwrap_or_else(|e| panic!("error path leaks:\n{e}"));
    assert!(r.passed());
}

#[test]
fn pids_and_process_iter() {
    clean_with(scan(), "pids", memsight::pids);
    clean_with(scan(), "process_iter", || {
        Ok(memsight::process_iter().filter_map(Result::ok).count())
    });
}

#[test]
fn memory_scan() {
    clean_with(
        scan().warmup(4).batch(8, 16),
        "memory_scan",
        memsight::memory_scan,
    );
}

#[test]
fn boot_time() {
    clean("boot_time", memsight::boot_time);
}

#[test]
fn disk_io_counters() {
    clean("disk_io_counters", || {
        memsight::disk_io_counters(false, false)
    });
    clean("disk_io_counters(perdisk)", || {
        memsight::disk_io_counters(true, false)
    });
    // nowrap remembers the last values per disk: after the first call that memory is steady.
    clean("disk_io_counters(perdisk, nowrap)", || {
        memsight::disk_io_counters(true, true)
    });
    clean("disk_io_counters_cache_clear + nowrap", || {
        memsight::disk_io_counters_cache_clear();
        memsight::disk_io_counters(true, true)
    });
}

#[test]
fn net_if_addrs() {
    clean("net_if_addrs", memsight::net_if_addrs);
}

#[test]
fn process_stat_getters() {
    let p = Process::current().unwrap();
    clean("status", || p.status());
    clean("create_time", || p.create_time());
    clean("cpu_times", || p.cpu_times());
    clean("cpu_num", || p.cpu_num());
    clean("nice", || p.nice());
    clean("num_threads", || p.num_threads());
    clean("page_faults", || p.page_faults());
    clean("terminal", || p.terminal());
    clean("ppid", || p.ppid());
    clean("num_ctx_switches", || p.num_ctx_switches());
}

#[test]
fn process_sched_and_limits() {
    let p = Process::current().unwrap();
    clean("ionice", || p.ionice());
    clean("cpu_affinity", || p.cpu_affinity());
    clean("rlimits", || p.rlimits());
    clean("rlimit(nofile)", || {
        p.rlimit(memsight::process::Resource::Nofile)
    });
}

#[test]
fn process_files_and_threads() {
    let p = Process::current().unwrap();
    clean("exe", || p.exe());
    clean("cwd", || p.cwd());
    clean("num_fds", || p.num_fds());
    clean("io_counters", || p.io_counters());
    clean("open_files", || p.open_files());
    clean("threads", || p.threads());
}

#[test]
fn process_family() {
    let p = Process::current().unwrap();
    clean("parent", || p.parent());
    clean_with(scan(), "children", || p.children(false));
    clean_with(scan(), "children(recursive)", || p.children(true));
}

#[test]
fn process_net_connections() {
    let p = Process::current().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    clean_with(scan(), "net_connections(inet)", || {
        p.net_connections(memsight::process::ConnectionKind::Inet)
    });
    clean_with(scan(), "net_connections(all)", || {
        p.net_connections(memsight::process::ConnectionKind::All)
    });
    drop(listener);
}

#[test]
fn process_info_everything() {
    let p = Process::current().unwrap();
    clean_with(scan(), "info", || p.info());
}
