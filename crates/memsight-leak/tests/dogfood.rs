//! memsight proves itself leak-free with memsight-leak, as psutil's test_memleaks.py does with
//! psleak: every public memsight API on main is called in a leak check (Rust heap exact, native
//! heap, USS/RSS/VMS, mappings, fds, threads). Scans of every process run fewer, smaller batches.

use std::hint::black_box;

use memsight::{MemType, Process};
use memsight_leak::{LeakTest, Report};

#[global_allocator]
static ALLOC: memsight::heap::CountingAlloc = memsight::heap::CountingAlloc::system();

fn clean<T>(name: &str, f: impl FnMut() -> memsight::Result<T>) -> Report {
    clean_with(LeakTest::new(), name, f)
}

fn clean_with<T>(t: LeakTest, name: &str, mut f: impl FnMut() -> memsight::Result<T>) -> Report {
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
    clean("meminfo", memsight::meminfo);
}

#[test]
fn cgroup_memory() {
    clean("cgroup_memory", memsight::cgroup_memory);
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
