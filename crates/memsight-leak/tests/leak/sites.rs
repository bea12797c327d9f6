//! Allocation sites of native leaks: C code called through FFI, built with `-g`, leaking
//! through each hooked allocator; the report names the function and the line (found in the
//! source by its `SITE:` marker). Clean twins name nothing, and tracking always ends: a panic,
//! a fork, another thread allocating while the GOT is rewritten, a second check right after
//! (the GOT read back equals what it was). Every check runs under a watchdog.
#![cfg(target_os = "linux")]
#![allow(unsafe_code)]

use crate::common;

use std::ffi::{CString, c_void};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, mpsc};
use std::time::Duration;

use memsight_leak::sites::{self, FrameKind, GotEntry};
use memsight_leak::{LeakError, LeakTest, Report};

const SITES_C: &str = include_str!("../cleaks/sites.c");
const DEP_C: &str = include_str!("../cleaks/sites_dep.c");
const LATE_C: &str = include_str!("../cleaks/sites_late.c");
const WATCHDOG: Duration = Duration::from_secs(180);

type Fun = unsafe extern "C" fn();

struct Lib {
    dir: PathBuf,
    handle: usize,
}

fn hash(parts: &[&str]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    parts.hash(&mut h);
    h.finish()
}

fn cc(args: &[&str]) {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    let status = std::process::Command::new(&cc)
        .args(args)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {cc}: {e} (scripts/setup.sh installs gcc)"));
    assert!(status.success(), "{cc} {args:?} failed");
}

/// Writes `src` as `dir/name.c` and builds it into `dir/libname.so` (each to a private name
/// first, renamed into place: concurrent test processes). The source stays: the debug info
/// names it.
fn build(dir: &Path, name: &str, src: &str, extra: &[&str]) {
    build_with(dir, name, src, "-g", extra);
}

/// [`build`] with `debug` (`-g`, or `-g0` for none).
fn build_with(dir: &Path, name: &str, src: &str, debug: &str, extra: &[&str]) {
    let so = dir.join(format!("lib{name}.so"));
    if so.exists() {
        return;
    }
    let pid = std::process::id();
    let c = dir.join(format!("{name}.c"));
    let tmp_c = dir.join(format!("{name}-{pid}.tmp"));
    std::fs::write(&tmp_c, src).unwrap();
    std::fs::rename(&tmp_c, &c).unwrap();
    let tmp = dir.join(format!("tmp-{pid}.so"));
    let mut args = vec![debug, "-O0", "-shared", "-fPIC", "-pthread", "-o"];
    args.push(tmp.to_str().unwrap());
    args.push(c.to_str().unwrap());
    args.extend(extra);
    cc(&args);
    std::fs::rename(&tmp, so).unwrap();
}

/// libsites (linking libsitesdep) built with -g and loaded; liblate built, not loaded.
fn lib() -> &'static Lib {
    static LIB: OnceLock<Lib> = OnceLock::new();
    LIB.get_or_init(|| {
        let h = hash(&["-g -O0 v3", SITES_C, DEP_C, LATE_C]);
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("sites-{h:016x}"));
        std::fs::create_dir_all(&dir).unwrap();
        build(&dir, "sites_dep", DEP_C, &[]);
        let rpath = format!("-Wl,-rpath,{}", dir.display());
        let ldir = format!("-L{}", dir.display());
        build(&dir, "sites", SITES_C, &[&ldir, "-lsites_dep", &rpath]);
        build(&dir, "sites_late", LATE_C, &[]);
        build_with(&dir, "sites_nodebug", LATE_C, "-g0", &[]);
        let path = CString::new(dir.join("libsites.so").to_str().unwrap()).unwrap();
        // SAFETY: dlopen of a library just built; it has no constructors.
        let handle = unsafe { libc::dlopen(path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
        assert!(!handle.is_null(), "dlopen libsites.so failed");
        Lib {
            dir,
            handle: handle as usize,
        }
    })
}

/// Function `name` of libsites.
fn fun(name: &str) -> Fun {
    sym(lib().handle as *mut c_void, name)
}

fn sym(handle: *mut c_void, name: &str) -> Fun {
    let c = CString::new(name).unwrap();
    // SAFETY: a valid handle and a NUL-terminated name.
    let p = unsafe { libc::dlsym(handle, c.as_ptr()) };
    assert!(!p.is_null(), "{name} not found");
    // SAFETY: every function looked up here is `void f(void)` in the C sources.
    unsafe { std::mem::transmute::<*mut c_void, Fun>(p) }
}

/// The line carrying `/* SITE: marker */` in `src` (1-based).
fn marker_line(src: &str, marker: &str) -> u32 {
    let tag = format!("/* SITE: {marker} */");
    let i = src
        .lines()
        .position(|l| l.contains(&tag))
        .unwrap_or_else(|| panic!("no {tag} in the source"));
    u32::try_from(i + 1).unwrap()
}

/// Runs `f` on a thread and waits at most WATCHDOG for it (a deadlock fails the test).
fn within_watchdog<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(WATCHDOG)
        .unwrap_or_else(|_| panic!("{what}: no report after {WATCHDOG:?} (deadlock)"))
}

/// The GOT entries of every sites library for the hooked functions, as they are now.
fn got_now() -> Vec<GotEntry> {
    let mut all = Vec::new();
    for s in [
        "malloc", "calloc", "realloc", "free", "strdup", "mmap", "munmap", "dlopen",
    ] {
        all.extend(
            sites::got_entries(s)
                .into_iter()
                .filter(|e| e.object.contains("/sites-")),
        );
    }
    all
}

fn leak_report(res: Result<Report, LeakError>) -> Report {
    match res {
        Err(LeakError::Memory(r)) => *r,
        other => panic!("expected a memory leak, got {other:?}"),
    }
}

/// Checks that the top site is `function` at `file`'s `marker` line.
fn assert_site(r: &Report, function: &str, file: &str, src: &str, marker: &str) {
    let site = r
        .leak_sites
        .first()
        .unwrap_or_else(|| panic!("no leak site named:\n{r}"));
    let f = site
        .site_frame()
        .unwrap_or_else(|| panic!("no user frame:\n{r}"));
    assert_eq!(f.function.as_deref(), Some(function), "{r}");
    assert!(
        f.file.as_deref().is_some_and(|p| p.ends_with(file)),
        "{:?}\n{r}",
        f.file
    );
    assert_eq!(f.line, Some(marker_line(src, marker)), "{r}");
    assert_eq!(f.kind, FrameKind::User);
    assert!(
        site.bytes_per_call > 0.0 && site.bytes_per_call_ci.0 > 0.0,
        "{r}"
    );
    // Printed as `function (file:LINE)` in the report.
    let short = format!("{function} ({file}:{})", marker_line(src, marker));
    assert!(r.to_string().contains(&short), "{short}\n{r}");
}

/// Checks `name` of libsites: a leak, named at `function`'s `marker` line of `src`, with the
/// GOT back as it was afterwards.
fn check_named(
    name: &'static str,
    function: &'static str,
    file: &'static str,
    src: &'static str,
    marker: &'static str,
) -> Report {
    let f = fun(name);
    let before = got_now();
    assert!(
        !before.is_empty(),
        "no GOT entries found for the sites libraries"
    );
    let r = within_watchdog(name, move || {
        // SAFETY: a `void f(void)` of libsites.
        LeakTest::new().name(name).check(move || unsafe { f() })
    });
    let r = leak_report(r);
    assert_site(&r, function, file, src, marker);
    assert_eq!(got_now(), before, "GOT entries not restored");
    assert!(!sites::is_recording());
    r
}

/// Twice: the second session rewrites the entries the first one found (kept per object).
#[test]
fn got_entries_point_at_the_hooks_while_recording_only() {
    let leak = fun("site_malloc_helper");
    let before = got_now();
    let malloc_before: Vec<usize> = before
        .iter()
        .filter(|e| e.symbol == "malloc")
        .map(|e| e.value)
        .collect();
    assert!(!malloc_before.is_empty());
    for session in 1..=2 {
        let (r, during) = within_watchdog("got", move || {
            let mut during = None;
            let r = LeakTest::new().name("got").check(|| {
                // SAFETY: a `void f(void)` of libsites.
                unsafe { leak() };
                if sites::is_recording() && during.is_none() {
                    during = Some(
                        got_now()
                            .into_iter()
                            .filter(|e| e.symbol == "malloc")
                            .map(|e| e.value)
                            .collect::<Vec<usize>>(),
                    );
                }
            });
            (r, during)
        });
        leak_report(r);
        let during = during.expect("the function was called while recording");
        assert_eq!(during.len(), malloc_before.len());
        assert!(
            during.iter().zip(&malloc_before).all(|(d, b)| d != b),
            "session {session}: malloc's GOT entries were not rewritten: {during:x?} vs \
             {malloc_before:x?}"
        );
        assert_eq!(got_now(), before, "session {session}");
    }
}

#[test]
fn malloc_in_a_helper_is_named_at_the_helpers_line() {
    let r = check_named(
        "site_malloc_helper",
        "leak_helper",
        "sites.c",
        SITES_C,
        "helper",
    );
    let site = &r.leak_sites[0];
    assert_eq!(site.bytes_per_call, 64.0, "{r}");
    assert_eq!(site.blocks_per_call, 1.0, "{r}");
    assert_eq!(site.allocator, "malloc");
    // The caller follows the site in the chain.
    assert!(
        site.chain(3).contains("<- site_malloc_helper (sites.c:"),
        "{r}"
    );
}

#[test]
fn calloc_is_named() {
    check_named("site_calloc", "site_calloc", "sites.c", SITES_C, "calloc");
}

#[test]
fn realloc_of_null_is_named() {
    check_named(
        "site_realloc_null",
        "site_realloc_null",
        "sites.c",
        SITES_C,
        "realloc",
    );
}

#[test]
fn strdup_is_named_with_strdup_before_the_site() {
    let r = check_named("site_strdup", "site_strdup", "sites.c", SITES_C, "strdup");
    assert_eq!(r.leak_sites[0].allocator, "strdup");
    assert!(
        r.leak_sites[0]
            .chain(3)
            .starts_with("strdup <- site_strdup"),
        "{r}"
    );
    assert_eq!(r.leak_sites[0].bytes_per_call, 16.0, "{r}");
}

#[test]
fn mmap_without_munmap_is_named() {
    let r = check_named("site_mmap", "site_mmap", "sites.c", SITES_C, "mmap");
    assert_eq!(r.leak_sites[0].allocator, "mmap");
}

#[test]
fn malloc_in_a_linked_library_is_named_there() {
    check_named("site_dep", "sites_dep_alloc", "sites_dep.c", DEP_C, "dep");
}

#[test]
fn library_loaded_while_recording_is_hooked_too() {
    let leak = fun("site_malloc_helper");
    let late_path = CString::new(lib().dir.join("libsites_late.so").to_str().unwrap()).unwrap();
    let r = within_watchdog("late", move || {
        let mut late: Option<Fun> = None;
        LeakTest::new().name("late").check(move || {
            if !sites::is_recording() {
                // SAFETY: a `void f(void)` of libsites.
                unsafe { leak() };
                return;
            }
            let f = *late.get_or_insert_with(|| {
                // SAFETY: dlopen of a library just built (no constructors).
                let h = unsafe { libc::dlopen(late_path.as_ptr(), libc::RTLD_NOW) };
                assert!(!h.is_null());
                sym(h, "late_leak")
            });
            // SAFETY: `void late_leak(void)`.
            unsafe { f() };
        })
    });
    let r = leak_report(r);
    assert_site(&r, "late_leak", "sites_late.c", LATE_C, "late");
    assert!(got_now().iter().all(|e| e.value != 0));
}

#[test]
fn cache_filling_during_attribution_is_not_named() {
    let leak = fun("site_calloc");
    let cache = fun("cache_slow_fill");
    let r = within_watchdog("cache", move || {
        LeakTest::new().name("leak_and_cache").check(move || {
            // SAFETY: `void f(void)`s of libsites.
            unsafe {
                leak();
                if sites::is_recording() {
                    cache();
                }
            }
        })
    });
    let r = leak_report(r);
    assert_site(&r, "site_calloc", "sites.c", SITES_C, "calloc");
    let cache_line = marker_line(SITES_C, "cache");
    assert!(
        !r.leak_sites
            .iter()
            .any(|s| s.frames.iter().any(|f| f.line == Some(cache_line)
                && f.file.as_deref().is_some_and(|p| p.ends_with("/sites.c")))),
        "the cache was named:\n{r}"
    );
    assert_eq!(r.leak_sites.len(), 1, "{r}");
}

#[test]
fn clean_twins_pass_and_name_nothing() {
    for name in ["clean_malloc_free", "clean_spawn_join", "cache_slow_fill"] {
        let f = fun(name);
        let before = got_now();
        let r = within_watchdog(name, move || {
            // SAFETY: a `void f(void)` of libsites.
            LeakTest::new().name(name).check(move || unsafe { f() })
        })
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(r.passed() && r.leak_sites.is_empty(), "{name}: {r}");
        assert_eq!(got_now(), before);
    }
}

#[test]
fn panic_during_attribution_ends_tracking_and_restores_the_got() {
    let leak = fun("site_malloc_helper");
    let before = got_now();
    let r = within_watchdog("panic", move || {
        LeakTest::new().name("panics").check(move || {
            // SAFETY: a `void f(void)` of libsites.
            unsafe { leak() };
            if sites::is_recording() {
                panic!("the function under test panicked while recorded");
            }
        })
    });
    let r = leak_report(r);
    assert!(
        r.notes.iter().any(|n| n.contains("panicked")),
        "no note of the panic:\n{r}"
    );
    assert!(!sites::is_recording());
    assert_eq!(got_now(), before);
    second_check_is_clean();
}

#[test]
fn fork_during_attribution_is_survived() {
    let leak = fun("site_malloc_helper");
    let calloc = fun("site_calloc");
    let before = got_now();
    let r = within_watchdog("fork", move || {
        let mut forked = false;
        LeakTest::new().name("forks").check(move || {
            // SAFETY: `void f(void)`s of libsites; the child allocates (through the hooks,
            // recording off there) and returns into the harness, which ends it.
            unsafe {
                leak();
                if sites::is_recording() && !forked {
                    forked = true;
                    let pid = libc::fork();
                    if pid == 0 {
                        calloc();
                        return;
                    }
                    let mut status = 0;
                    libc::waitpid(pid, &mut status, 0);
                }
            }
        })
    });
    let r = leak_report(r);
    assert_site(&r, "leak_helper", "sites.c", SITES_C, "helper");
    assert_eq!(got_now(), before);
    second_check_is_clean();
}

#[test]
fn another_thread_allocating_while_the_got_is_rewritten() {
    let leak = fun("site_malloc_helper");
    let churn = fun("clean_malloc_free");
    let before = got_now();
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let worker = std::thread::spawn(move || {
        let mut n = 0u64;
        while !s.load(Ordering::Relaxed) {
            // SAFETY: a `void f(void)` of libsites: malloc and free through its GOT.
            unsafe { churn() };
            n += 1;
        }
        n
    });
    let r = within_watchdog("threads", move || {
        LeakTest::new()
            .name("with_a_busy_thread")
            // SAFETY: a `void f(void)` of libsites.
            .check(move || unsafe { leak() })
    });
    stop.store(true, Ordering::Relaxed);
    assert!(worker.join().unwrap() > 0);
    let r = leak_report(r);
    assert_site(&r, "leak_helper", "sites.c", SITES_C, "helper");
    assert_eq!(got_now(), before);
    second_check_is_clean();
}

/// A clean check right after another: passes, nothing recorded, GOT untouched.
fn second_check_is_clean() {
    let f = fun("clean_malloc_free");
    let before = got_now();
    let r = within_watchdog("second check", move || {
        // SAFETY: a `void f(void)` of libsites.
        LeakTest::new().name("second").check(move || unsafe { f() })
    })
    .unwrap();
    assert!(r.passed(), "{r}");
    assert_eq!(got_now(), before);
}

#[test]
fn the_plot_shows_the_cumulative_growth_and_the_sites() {
    let leak = fun("site_calloc");
    let dir = tempfile::tempdir().unwrap();
    let plots = dir.path().to_path_buf();
    let r = within_watchdog("plot", move || {
        LeakTest::new()
            .name("plotted_site")
            .plot_dir(plots)
            // SAFETY: a `void f(void)` of libsites.
            .check(move || unsafe { leak() })
    });
    let r = leak_report(r);
    let svg = std::fs::read_to_string(dir.path().join("plotted_site.svg")).unwrap();
    let line = marker_line(SITES_C, "calloc");
    assert!(svg.contains("leaking sites:"), "{svg}");
    assert!(
        svg.contains(&format!("site_calloc (sites.c:{line})")),
        "{svg}"
    );
    assert!(svg.contains("growth so far, after each batch"), "{svg}");
    assert!(!r.leak_sites.is_empty());
}

#[test]
fn without_debug_info_the_site_is_a_function_and_an_offset() {
    let path = CString::new(lib().dir.join("libsites_nodebug.so").to_str().unwrap()).unwrap();
    // SAFETY: dlopen of a library just built (no constructors).
    let h = unsafe { libc::dlopen(path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    assert!(!h.is_null());
    let f = sym(h, "late_leak");
    let r = within_watchdog("nodebug", move || {
        // SAFETY: `void late_leak(void)`.
        LeakTest::new()
            .name("nodebug")
            .check(move || unsafe { f() })
    });
    let r = leak_report(r);
    let site = r.leak_sites.first().unwrap_or_else(|| panic!("{r}"));
    let f = site.site_frame().unwrap_or_else(|| panic!("{r}"));
    assert_eq!(f.function.as_deref(), Some("late_leak"), "{r}");
    assert_eq!((f.file.as_deref(), f.line), (None, None), "{r}");
    assert!(
        f.object
            .as_deref()
            .is_some_and(|o| o.ends_with("libsites_nodebug.so"))
            && f.offset > 0,
        "{r}"
    );
    assert!(
        r.to_string().contains("late_leak (libsites_nodebug.so+0x"),
        "{r}"
    );
    assert!(r.notes.iter().any(|n| n.contains("no debug info")), "{r}");
}

#[test]
fn a_rust_heap_leak_keeps_its_rust_sites_and_gets_no_duplicate() {
    let r = within_watchdog("rust", || {
        LeakTest::new().name("rust_box").check(|| {
            std::hint::black_box(Box::leak(Box::new([7u8; 48])));
        })
    });
    let r = leak_report(r);
    assert!(!r.allocation_sites.is_empty(), "{r}");
    assert!(r.leak_sites.is_empty(), "named twice:\n{r}");
    assert!(
        !r.notes.iter().any(|n| n.contains("allocation sites")),
        "{r}"
    );
}

#[test]
fn a_leak_every_100_calls_is_named() {
    let c = common::clib();
    let every = c.leak_every;
    let r = within_watchdog("sparse", move || {
        LeakTest::new()
            .name("every_100")
            // SAFETY: leak_every takes a size and a period and touches only what it allocates.
            .check(move || unsafe { every(24, 100) })
    });
    let r = leak_report(r);
    let f = r
        .leak_sites
        .first()
        .and_then(|s| s.site_frame())
        .unwrap_or_else(|| panic!("not named:\n{r}"));
    assert_eq!(f.function.as_deref(), Some("leak_malloc"), "{r}");
    assert!((r.leak_sites[0].bytes_per_call - 0.24).abs() < 0.05, "{r}");
}
