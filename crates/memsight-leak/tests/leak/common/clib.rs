//! The C test library (`tests/cleaks/leaks.c`), compiled with the system C compiler on first use
//! and loaded with `dlopen`; its functions are called through FFI function pointers.
#![allow(unsafe_code)]

use std::ffi::{CString, c_int, c_void};
use std::path::PathBuf;
use std::sync::OnceLock;

/// The functions of leaks.c.
pub struct CLib {
    pub leak_malloc: unsafe extern "C" fn(usize),
    pub leak_every: unsafe extern "C" fn(usize, libc::c_ulong),
    pub malloc_free: unsafe extern "C" fn(usize),
    pub leak_mmap: unsafe extern "C" fn(usize),
    pub leak_mmap_touched: unsafe extern "C" fn(usize),
    pub leak_fd: unsafe extern "C" fn() -> c_int,
    pub open_close: unsafe extern "C" fn(),
    pub leak_thread: unsafe extern "C" fn(),
    pub spawn_join: unsafe extern "C" fn(),
    pub leak_on_worker: unsafe extern "C" fn(),
}

const SOURCE: &str = include_str!("../../cleaks/leaks.c");

/// Compiles leaks.c into a shared library under `dir` (once per content; concurrent test
/// processes each build to a private name and rename into place) and returns its path.
pub fn build(dir: &std::path::Path) -> PathBuf {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    SOURCE.hash(&mut h);
    let so = dir.join(format!("libmemsight_leaks_{:016x}.so", h.finish()));
    if so.exists() {
        return so;
    }
    std::fs::create_dir_all(dir).expect("create output dir");
    let src = dir.join(format!("leaks-{}.c", std::process::id()));
    std::fs::write(&src, SOURCE).expect("write leaks.c");
    let tmp = dir.join(format!("leaks-{}.so", std::process::id()));
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    let status = std::process::Command::new(&cc)
        .args(["-O2", "-shared", "-fPIC", "-pthread", "-o"])
        .arg(&tmp)
        .arg(&src)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {cc}: {e} (scripts/setup.sh installs gcc)"));
    assert!(status.success(), "{cc} failed on leaks.c");
    std::fs::rename(&tmp, &so).expect("rename library");
    let _ = std::fs::remove_file(&src);
    so
}

fn sym<T: Copy>(handle: *mut c_void, name: &str) -> T {
    let cname = CString::new(name).unwrap();
    // SAFETY: a valid handle from dlopen and a NUL-terminated name.
    let p = unsafe { libc::dlsym(handle, cname.as_ptr()) };
    assert!(!p.is_null(), "{name} not found in leaks.so");
    assert_eq!(std::mem::size_of::<T>(), std::mem::size_of::<*mut c_void>());
    // SAFETY: T is the extern "C" fn type matching the C definition of `name` in leaks.c.
    unsafe { std::mem::transmute_copy::<*mut c_void, T>(&p) }
}

/// The library, built into `dir` and loaded on first use.
pub fn load(dir: &std::path::Path) -> &'static CLib {
    static LIB: OnceLock<CLib> = OnceLock::new();
    LIB.get_or_init(|| {
        let so = build(dir);
        let path = CString::new(so.to_str().unwrap()).unwrap();
        // SAFETY: dlopen of a library we just compiled; it has no constructors.
        let h = unsafe { libc::dlopen(path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
        assert!(!h.is_null(), "dlopen {} failed", so.display());
        CLib {
            leak_malloc: sym(h, "leak_malloc"),
            leak_every: sym(h, "leak_every"),
            malloc_free: sym(h, "malloc_free"),
            leak_mmap: sym(h, "leak_mmap"),
            leak_mmap_touched: sym(h, "leak_mmap_touched"),
            leak_fd: sym(h, "leak_fd"),
            open_close: sym(h, "open_close"),
            leak_thread: sym(h, "leak_thread"),
            spawn_join: sym(h, "spawn_join"),
            leak_on_worker: sym(h, "leak_on_worker"),
        }
    })
}
