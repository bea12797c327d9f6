//! memsight-leak on Windows (run here under Wine: `scripts/xtarget.sh test-win -p memsight-leak`):
//! each Win32 leak is caught with the right metric (HeapAlloc without HeapFree,
//! VirtualAlloc without VirtualFree, HeapCreate without HeapDestroy, an unclosed event, process
//! or file handle, a thread left running), and their paired clean versions pass: 105 clean
//! verdicts, none of them a leak. Batches are kept small (warm-up 16, batches of 32 to 64 calls).
#![cfg(windows)]
#![allow(unsafe_code)]

use std::sync::{Mutex, PoisonError};

use memsight_leak::{LeakError, LeakTest, Metric, Report};
use windows_sys::Win32::Foundation::{CloseHandle, GENERIC_READ, HANDLE, INVALID_HANDLE_VALUE};
use windows_sys::Win32::Storage::FileSystem::{
    CreateFileW, FILE_ATTRIBUTE_NORMAL, FILE_SHARE_DELETE, FILE_SHARE_READ, FILE_SHARE_WRITE,
    OPEN_ALWAYS,
};
use windows_sys::Win32::System::Memory::{
    GetProcessHeap, HeapAlloc, HeapCreate, HeapDestroy, HeapFree, MEM_COMMIT, MEM_RELEASE,
    MEM_RESERVE, PAGE_READWRITE, VirtualAlloc, VirtualFree,
};
use windows_sys::Win32::System::Threading::{
    CreateEventW, GetCurrentProcessId, OpenProcess, PROCESS_QUERY_LIMITED_INFORMATION,
};

// As in tests/leak: Rust allocations counted exactly.
#[global_allocator]
static ALLOC: memsight::heap::CountingAlloc = memsight::heap::CountingAlloc::system();

/// The tests of this file run one at a time even under `cargo test`'s parallel runner: a check's
/// figures belong to the whole process, so another test's setup must not run during it.
static SERIAL: Mutex<()> = Mutex::new(());

const VIRTUAL: usize = 64 * 1024;

fn quick(name: &str) -> LeakTest {
    LeakTest::new().name(name).warmup(16).batch(32, 64)
}

fn blamed(r: &Report, m: Metric) -> f64 {
    let mr = r
        .metric(m)
        .unwrap_or_else(|| panic!("{m} not checked\n{r}"));
    assert!(mr.leaking, "{m} should be blamed\n{r}");
    mr.per_call
}

fn heap_alloc_leak() {
    // SAFETY: the process heap; the block is leaked on purpose.
    let p = unsafe { HeapAlloc(GetProcessHeap(), 0, 64) };
    assert!(!p.is_null());
}

fn heap_alloc_free() {
    // SAFETY: a block of the process heap, freed once.
    unsafe {
        let p = HeapAlloc(GetProcessHeap(), 0, 64);
        assert!(!p.is_null());
        std::ptr::write_bytes(p.cast::<u8>(), 1, 64);
        HeapFree(GetProcessHeap(), 0, p);
    }
}

fn virtual_alloc_leak() {
    // SAFETY: a fresh committed region, leaked on purpose.
    let p = unsafe {
        VirtualAlloc(
            std::ptr::null(),
            VIRTUAL,
            MEM_COMMIT | MEM_RESERVE,
            PAGE_READWRITE,
        )
    };
    assert!(!p.is_null());
}

fn virtual_alloc_free() {
    // SAFETY: a fresh region, written within its size, released once.
    unsafe {
        let p = VirtualAlloc(
            std::ptr::null(),
            VIRTUAL,
            MEM_COMMIT | MEM_RESERVE,
            PAGE_READWRITE,
        );
        assert!(!p.is_null());
        std::ptr::write_bytes(p.cast::<u8>(), 1, VIRTUAL);
        VirtualFree(p, 0, MEM_RELEASE);
    }
}

fn heap_create_leak() {
    // SAFETY: a new growable heap, never destroyed on purpose.
    let h = unsafe { HeapCreate(0, 0, 0) };
    assert!(!h.is_null());
}

fn heap_create_destroy() {
    // SAFETY: a new heap, used and destroyed once.
    unsafe {
        let h = HeapCreate(0, 0, 0);
        assert!(!h.is_null());
        let p = HeapAlloc(h, 0, 100);
        assert!(!p.is_null());
        HeapDestroy(h);
    }
}

fn event() -> HANDLE {
    // SAFETY: a new unnamed event.
    let h = unsafe { CreateEventW(std::ptr::null(), 1, 0, std::ptr::null()) };
    assert!(!h.is_null());
    h
}

fn process() -> HANDLE {
    // SAFETY: a new handle on this process.
    let h = unsafe { OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, GetCurrentProcessId()) };
    assert!(!h.is_null());
    h
}

fn file(path: &[u16]) -> HANDLE {
    // SAFETY: `path` is NUL-terminated UTF-16; a new handle on an existing (or new) file.
    let h = unsafe {
        CreateFileW(
            path.as_ptr(),
            GENERIC_READ,
            FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
            std::ptr::null(),
            OPEN_ALWAYS,
            FILE_ATTRIBUTE_NORMAL,
            std::ptr::null_mut(),
        )
    };
    assert!(h != INVALID_HANDLE_VALUE);
    h
}

fn close(h: HANDLE) {
    // SAFETY: a handle the caller owns, closed once.
    unsafe { CloseHandle(h) };
}

/// A file for the CreateFile scenarios, as a NUL-terminated UTF-16 path.
fn temp_file(dir: &tempfile::TempDir) -> Vec<u16> {
    let path = dir.path().join("leak-me.txt");
    std::fs::write(&path, b"x").unwrap();
    path.to_str()
        .unwrap()
        .encode_utf16()
        .chain(std::iter::once(0))
        .collect()
}

#[test]
fn heap_alloc_without_heap_free_is_caught() {
    let _one = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    let err = quick("heap_alloc_leak").check(heap_alloc_leak).unwrap_err();
    assert!(matches!(err, LeakError::Memory(_)), "{err}");
    let r = err.report().unwrap();
    // HeapWalk's busy blocks: the 64 requested bytes (plus the heap's rounding, if any).
    let b = blamed(r, Metric::HeapUsed);
    assert!((64.0..=96.0).contains(&b), "{b}\n{r}");
    // Not a Rust allocation.
    assert_eq!(r.metric(Metric::RustHeap).unwrap().total, 0, "{r}");
}

#[test]
fn virtual_alloc_without_virtual_free_is_caught() {
    let _one = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    let err = quick("virtual_alloc_leak")
        .check(virtual_alloc_leak)
        .unwrap_err();
    assert!(matches!(err, LeakError::Memory(_)), "{err}");
    let r = err.report().unwrap();
    assert_eq!(blamed(r, Metric::MmapUsed), VIRTUAL as f64, "{r}");
}

#[test]
fn heap_create_without_heap_destroy_is_caught() {
    let _one = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    let err = quick("heap_create_leak")
        .check(heap_create_leak)
        .unwrap_err();
    let LeakError::Unclosed { metric, count, .. } = &err else {
        panic!("{err}");
    };
    assert_eq!(*metric, Metric::HeapCount, "{err}");
    assert!(*count >= 1, "{err}");
    assert!(err.to_string().contains("unclosed heaps"), "{err}");
    let LeakError::Unclosed { items, .. } = &err else {
        unreachable!()
    };
    assert_eq!(items.len() as i64, *count, "{err}");
    assert!(items.iter().all(|h| h.starts_with("heap at 0x")), "{err}");
    println!("{err}");
}

/// A handle leak: the error names the new handles with their type.
fn handle_leak(name: &str, f: impl FnMut(), kind: &str) {
    let err = quick(name).check(f).unwrap_err();
    let LeakError::UnclosedFds { count, fds, .. } = &err else {
        panic!("{err}");
    };
    assert!(*count >= 1, "{err}");
    assert!(
        fds.iter().any(|h| h.contains(&format!("-> {kind}"))),
        "no {kind} handle named\n{err}"
    );
    assert!(err.to_string().contains("unclosed handle(s)"), "{err}");
    let r = err.report().unwrap();
    assert_eq!(blamed(r, Metric::Fds), 1.0, "{r}");
    assert!(r.to_string().contains("* handles"), "{r}");
    println!("{err}");
}

#[test]
fn create_event_without_close_is_caught() {
    let _one = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    handle_leak(
        "event_leak",
        || {
            event();
        },
        "Event",
    );
}

#[test]
fn open_process_without_close_is_caught() {
    let _one = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    handle_leak(
        "process_leak",
        || {
            process();
        },
        "Process",
    );
}

#[test]
fn create_file_without_close_is_caught() {
    let _one = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    let dir = tempfile::tempdir().unwrap();
    let path = temp_file(&dir);
    handle_leak(
        "file_leak",
        || {
            file(&path);
        },
        "File",
    );
}

#[test]
fn a_thread_left_running_is_caught() {
    let _one = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    let err = quick("thread_leak")
        .check(|| {
            std::thread::Builder::new()
                .name("leaky-worker".into())
                .spawn(|| {
                    loop {
                        std::thread::park();
                    }
                })
                .unwrap();
        })
        .unwrap_err();
    let LeakError::UnclosedThreads { count, threads, .. } = &err else {
        panic!("{err}");
    };
    assert!(*count >= 1, "{err}");
    assert_eq!(threads.len() as i64, *count, "{err}");
    println!("{err}");
}

/// A clean scenario, boxed to go in one list.
type Clean = Box<dyn FnMut()>;

/// The paired clean versions, 15 rounds of 7: 105 verdicts, every one a pass.
#[test]
fn paired_clean_versions_pass_105_times() {
    let _one = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    let dir = tempfile::tempdir().unwrap();
    let path = temp_file(&dir);
    let mut cleans: Vec<(&str, Clean)> = vec![
        ("heap_alloc_free", Box::new(heap_alloc_free)),
        ("virtual_alloc_free", Box::new(virtual_alloc_free)),
        ("heap_create_destroy", Box::new(heap_create_destroy)),
        ("event_close", Box::new(|| close(event()))),
        ("process_close", Box::new(|| close(process()))),
        ("file_close", Box::new(move || close(file(&path)))),
        (
            "thread_join",
            Box::new(|| std::thread::spawn(|| 7).join().map(drop).unwrap()),
        ),
    ];
    let (mut verdicts, mut leaks, mut calls) = (0, Vec::new(), 0u64);
    for _round in 0..15 {
        for (name, f) in &mut cleans {
            verdicts += 1;
            match quick(name).check(&mut **f) {
                Ok(r) => calls += r.calls,
                Err(e) => leaks.push(format!("{name}: {e}")),
            }
        }
    }
    println!(
        "{verdicts} clean verdicts, {} false positives, {calls} calls",
        leaks.len()
    );
    assert!(leaks.is_empty(), "{}", leaks.join("\n"));
}
