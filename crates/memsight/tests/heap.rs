//! `memsight::heap::info()` / `trim()` against the allocator's own behaviour, as psutil's
//! `test_heap_info` / `test_heap_trim` check it: known mallocs move the figures by their size.
#![cfg(target_os = "linux")] // /proc, ptrace modes, psutil oracles: see windows.rs for Windows
#![allow(unsafe_code)]
// These check glibc; with the jemalloc or mimalloc feature see `other_allocators` below.
#![cfg_attr(
    any(feature = "jemalloc", feature = "mimalloc"),
    allow(dead_code, unused_imports)
)]

use memsight::heap;

#[cfg(not(any(feature = "jemalloc", feature = "mimalloc")))]
use memsight_test_support as support;

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;

fn malloc(n: u64) -> *mut libc::c_void {
    // SAFETY: plain malloc; the block is written so it is really in use, then freed by the caller.
    unsafe {
        let p = libc::malloc(n as usize);
        assert!(!p.is_null());
        libc::memset(p, 0xab, n as usize);
        p
    }
}

fn free(p: *mut libc::c_void) {
    // SAFETY: p came from malloc above and is freed once.
    unsafe { libc::free(p) }
}

#[cfg_attr(not(any(feature = "jemalloc", feature = "mimalloc")), test)]
fn heap_info_is_glibc_mallinfo2() {
    let h = heap::info().unwrap();
    assert_eq!(h.allocator, "glibc");
    assert!(!h.legacy_mallinfo, "glibc 2.36 has mallinfo2");
    assert!(h.heap_used > 0);
}

#[cfg_attr(not(any(feature = "jemalloc", feature = "mimalloc")), test)]
fn malloc_64k_moves_heap_used_by_64k_within_10_percent() {
    // Below glibc's 128 KiB mmap threshold, so it comes from the arena: heap_used, not mmap_used.
    heap::trim().unwrap();
    let before = heap::info().unwrap();
    let p = malloc(64 * KIB);
    let during = heap::info().unwrap();
    let grew = during.heap_used as f64 - before.heap_used as f64;
    assert!(
        (grew - (64 * KIB) as f64).abs() <= 0.10 * (64 * KIB) as f64,
        "heap_used grew by {grew}, expected 64 KiB ± 10%"
    );
    assert_eq!(during.mmap_used, before.mmap_used);
    free(p);
    assert!(heap::trim().is_ok());
    let after = heap::info().unwrap();
    let left = after.heap_used as f64 - before.heap_used as f64;
    assert!(
        left.abs() <= 0.10 * (64 * KIB) as f64,
        "heap_used still {left} above baseline"
    );
}

#[cfg_attr(not(any(feature = "jemalloc", feature = "mimalloc")), test)]
fn malloc_64m_moves_mmap_used_and_free_returns_it() {
    let before = heap::info().unwrap();
    let p = malloc(64 * MIB);
    let during = heap::info().unwrap();
    let grew = during.mmap_used - before.mmap_used;
    assert!(
        (64 * MIB..=64 * MIB + 64 * KIB).contains(&grew),
        "mmap_used grew by {grew}, expected 64 MiB"
    );
    let rss_during = memsight::Process::current()
        .unwrap()
        .memory_info()
        .unwrap()
        .rss;
    free(p);
    heap::trim().unwrap();
    let after = heap::info().unwrap();
    assert_eq!(after.mmap_used, before.mmap_used);
    let rss_after = memsight::Process::current()
        .unwrap()
        .memory_info()
        .unwrap()
        .rss;
    assert!(
        rss_during - rss_after >= 60 * MIB,
        "RSS fell by {}",
        rss_during - rss_after
    );
}

#[cfg_attr(not(any(feature = "jemalloc", feature = "mimalloc")), test)]
fn trim_hands_freed_heap_back_to_the_os() {
    // 2,000 small blocks of 8 KiB from the main arena, all freed: the freed space sits below
    // the top chunk until malloc_trim(0) releases it, which lowers RSS but not heap_used.
    let me = memsight::Process::current().unwrap();
    let _ = me.memory_info().unwrap();
    let blocks: Vec<_> = (0..2000).map(|_| malloc(8 * KIB)).collect();
    let used = heap::info().unwrap().heap_used;
    for p in blocks {
        free(p);
    }
    let freed = heap::info().unwrap().heap_used;
    assert!(used - freed >= 2000 * 8 * KIB);
    let rss_before = me.memory_info().unwrap().rss;
    assert!(heap::trim().unwrap(), "malloc_trim released nothing");
    let rss_after = me.memory_info().unwrap().rss;
    assert!(rss_after <= rss_before);
    assert_eq!(heap::info().unwrap().heap_used, freed);
}

#[cfg_attr(not(any(feature = "jemalloc", feature = "mimalloc")), test)]
fn agrees_with_psutil_heap_info_in_a_python_child() {
    // psutil's heap_info() reads the same mallinfo2 fields; in a child python that mallocs 64 KiB
    // through ctypes, psutil sees the same growth memsight sees here for the same malloc.
    check_with_python(&support::python());
}

fn check_with_python(py: &std::path::Path) {
    let script = r#"
import ctypes, psutil
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
psutil.heap_trim()
b = psutil.heap_info().heap_used
p = libc.malloc(65536)
ctypes.memset(p, 1, 65536)
a = psutil.heap_info().heap_used
print(a - b)
"#;
    let out = std::process::Command::new(py)
        .args(["-c", script])
        .env("PYTHONMALLOC", "malloc")
        .output()
        .unwrap();
    memsight_test_support::assert_success(&out);
    let grew: i64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    let ours = {
        let before = heap::info().unwrap().heap_used as i64;
        let p = malloc(64 * KIB);
        let g = heap::info().unwrap().heap_used as i64 - before;
        free(p);
        g
    };
    assert!(
        (grew - ours).abs() <= 64 * 16,
        "psutil saw {grew}, memsight {ours}"
    );
}

/// With `--features jemalloc` (or mimalloc) the backend answers from that allocator.
#[cfg(any(feature = "jemalloc", feature = "mimalloc"))]
#[test]
fn other_allocators() {
    let h = heap::info().unwrap();
    let want = if cfg!(feature = "jemalloc") {
        "jemalloc"
    } else {
        "mimalloc"
    };
    assert_eq!(h.allocator, want);
    assert!(h.heap_used > 0 || h.mmap_used > 0);
    assert!(heap::trim().unwrap());
}

/// With `malloc` interposed through LD_PRELOAD (as jemalloc or tcmalloc would be), glibc's
/// statistics would describe an idle heap: `info()` and `trim()` must say Unsupported instead.
/// Runs this test binary again with a tiny interposer preloaded, and checks the child's verdict.
#[cfg_attr(not(any(feature = "jemalloc", feature = "mimalloc")), test)]
fn unsupported_when_malloc_is_interposed() {
    if std::env::var_os("MEMSIGHT_CHILD_INTERPOSED").is_some() {
        let err = heap::info().unwrap_err();
        assert!(matches!(err, memsight::Error::Unsupported(_)), "{err}");
        assert!(err.to_string().contains("not glibc's"), "{err}");
        assert!(matches!(heap::trim(), Err(memsight::Error::Unsupported(_))));
        return;
    }
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(dir).unwrap();
    let src = dir.join(format!("interpose-{}.c", std::process::id()));
    let so = dir.join(format!("libinterpose-{}.so", std::process::id()));
    std::fs::write(
        &src,
        r#"#include <stddef.h>
extern void *__libc_malloc(size_t);
extern void __libc_free(void *);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
void *malloc(size_t n) { return __libc_malloc(n); }
void free(void *p) { __libc_free(p); }
void *calloc(size_t a, size_t b) { return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { return __libc_realloc(p, n); }
"#,
    )
    .unwrap();
    let cc = std::process::Command::new("cc")
        .args(["-O2", "-shared", "-fPIC", "-o"])
        .arg(&so)
        .arg(&src)
        .status()
        .expect("cc (scripts/setup.sh installs gcc)");
    assert!(cc.success());
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "unsupported_when_malloc_is_interposed",
            "--nocapture",
        ])
        .env("MEMSIGHT_CHILD_INTERPOSED", "1")
        .env("LD_PRELOAD", &so)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&src);
    let _ = std::fs::remove_file(&so);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("1 passed"), "{text}");
}
