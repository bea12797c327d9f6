//! The hooks the GOT entries point at during the attribution phase: each calls the real
//! function (looked up with `dlsym(RTLD_DEFAULT)` before any entry is rewritten) and tells the
//! recorder. They never allocate themselves and do nothing more than forward while the
//! recorder is off.
#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, c_void};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use super::Domain;
use super::record::{self, via};

/// The real functions, by [`Real`] index (0: not found, not hooked).
static REAL: [AtomicUsize; 16] = [const { AtomicUsize::new(0) }; 16];

/// Indices into [`REAL`].
#[derive(Clone, Copy)]
enum Real {
    Malloc,
    Calloc,
    Realloc,
    Free,
    PosixMemalign,
    AlignedAlloc,
    Memalign,
    Valloc,
    Pvalloc,
    Strdup,
    Strndup,
    Mmap,
    Munmap,
    Dlopen,
}

/// The real function `r`, as type `F`.
///
/// # Safety
/// `F` must be the C signature of function `r`, and its hook must be installed (so the address
/// was found).
unsafe fn real<F: Copy>(r: Real) -> F {
    let p = REAL[r as usize].load(Relaxed);
    debug_assert!(p != 0);
    // SAFETY: the caller names the right signature; the address came from dlsym for it.
    unsafe { std::mem::transmute_copy::<usize, F>(&p) }
}

unsafe extern "C" fn malloc(size: usize) -> *mut c_void {
    // SAFETY: malloc's signature.
    let p = unsafe { real::<unsafe extern "C" fn(usize) -> *mut c_void>(Real::Malloc)(size) };
    record::record_alloc(p as usize, size, Domain::Malloc, via("malloc"));
    p
}

unsafe extern "C" fn calloc(n: usize, size: usize) -> *mut c_void {
    // SAFETY: calloc's signature.
    let p =
        unsafe { real::<unsafe extern "C" fn(usize, usize) -> *mut c_void>(Real::Calloc)(n, size) };
    record::record_alloc(
        p as usize,
        n.saturating_mul(size),
        Domain::Malloc,
        via("calloc"),
    );
    p
}

unsafe extern "C" fn realloc(old: *mut c_void, size: usize) -> *mut c_void {
    // Forgotten before the call: once realloc frees it, another thread may get the same
    // address and record it first. A failed realloc leaves it live but unrecorded (never a
    // false site).
    record::record_free(old as usize, Domain::Malloc);
    // SAFETY: realloc's signature.
    let p = unsafe {
        real::<unsafe extern "C" fn(*mut c_void, usize) -> *mut c_void>(Real::Realloc)(old, size)
    };
    record::record_alloc(p as usize, size, Domain::Malloc, via("realloc"));
    p
}

unsafe extern "C" fn free(p: *mut c_void) {
    record::record_free(p as usize, Domain::Malloc);
    // SAFETY: free's signature.
    unsafe { real::<unsafe extern "C" fn(*mut c_void)>(Real::Free)(p) }
}

unsafe extern "C" fn posix_memalign(out: *mut *mut c_void, align: usize, size: usize) -> c_int {
    // SAFETY: posix_memalign's signature; `out` is the caller's.
    let rc = unsafe {
        real::<unsafe extern "C" fn(*mut *mut c_void, usize, usize) -> c_int>(Real::PosixMemalign)(
            out, align, size,
        )
    };
    if rc == 0 && !out.is_null() {
        // SAFETY: on success posix_memalign stored the block in *out.
        let p = unsafe { *out };
        record::record_alloc(p as usize, size, Domain::Malloc, via("posix_memalign"));
    }
    rc
}

unsafe extern "C" fn aligned_alloc(align: usize, size: usize) -> *mut c_void {
    // SAFETY: aligned_alloc's signature.
    let p = unsafe {
        real::<unsafe extern "C" fn(usize, usize) -> *mut c_void>(Real::AlignedAlloc)(align, size)
    };
    record::record_alloc(p as usize, size, Domain::Malloc, via("aligned_alloc"));
    p
}

unsafe extern "C" fn memalign(align: usize, size: usize) -> *mut c_void {
    // SAFETY: memalign's signature.
    let p = unsafe {
        real::<unsafe extern "C" fn(usize, usize) -> *mut c_void>(Real::Memalign)(align, size)
    };
    record::record_alloc(p as usize, size, Domain::Malloc, via("memalign"));
    p
}

unsafe extern "C" fn valloc(size: usize) -> *mut c_void {
    // SAFETY: valloc's signature.
    let p = unsafe { real::<unsafe extern "C" fn(usize) -> *mut c_void>(Real::Valloc)(size) };
    record::record_alloc(p as usize, size, Domain::Malloc, via("valloc"));
    p
}

unsafe extern "C" fn pvalloc(size: usize) -> *mut c_void {
    // SAFETY: pvalloc's signature.
    let p = unsafe { real::<unsafe extern "C" fn(usize) -> *mut c_void>(Real::Pvalloc)(size) };
    record::record_alloc(p as usize, size, Domain::Malloc, via("pvalloc"));
    p
}

unsafe extern "C" fn strdup(s: *const c_char) -> *mut c_char {
    // SAFETY: strdup's signature; libc's strdup allocates with its internal malloc, which no
    // GOT entry sees: this is where the block is recorded.
    let p = unsafe { real::<unsafe extern "C" fn(*const c_char) -> *mut c_char>(Real::Strdup)(s) };
    if !p.is_null() {
        // SAFETY: strdup returned a NUL-terminated copy.
        let n = unsafe { libc::strlen(p) } + 1;
        record::record_alloc(p as usize, n, Domain::Malloc, via("strdup"));
    }
    p
}

unsafe extern "C" fn strndup(s: *const c_char, max: usize) -> *mut c_char {
    // SAFETY: strndup's signature.
    let p = unsafe {
        real::<unsafe extern "C" fn(*const c_char, usize) -> *mut c_char>(Real::Strndup)(s, max)
    };
    if !p.is_null() {
        // SAFETY: strndup returned a NUL-terminated copy.
        let n = unsafe { libc::strlen(p) } + 1;
        record::record_alloc(p as usize, n, Domain::Malloc, via("strndup"));
    }
    p
}

unsafe extern "C" fn mmap(
    addr: *mut c_void,
    len: usize,
    prot: c_int,
    flags: c_int,
    fd: c_int,
    off: libc::off_t,
) -> *mut c_void {
    // SAFETY: mmap's signature.
    let p = unsafe {
        real::<
            unsafe extern "C" fn(
                *mut c_void,
                usize,
                c_int,
                c_int,
                c_int,
                libc::off_t,
            ) -> *mut c_void,
        >(Real::Mmap)(addr, len, prot, flags, fd, off)
    };
    if p != libc::MAP_FAILED {
        record::record_alloc(p as usize, len, Domain::Mmap, via("mmap"));
    }
    p
}

unsafe extern "C" fn munmap(addr: *mut c_void, len: usize) -> c_int {
    record::record_unmap(addr as usize, len);
    // SAFETY: munmap's signature.
    unsafe { real::<unsafe extern "C" fn(*mut c_void, usize) -> c_int>(Real::Munmap)(addr, len) }
}

unsafe extern "C" fn dlopen(name: *const c_char, flags: c_int) -> *mut c_void {
    // The library's constructors run unhooked-but-recorded as any other call; its own GOT is
    // rewritten right after, so its allocations from then on are seen too.
    // SAFETY: dlopen's signature.
    let h = unsafe {
        real::<unsafe extern "C" fn(*const c_char, c_int) -> *mut c_void>(Real::Dlopen)(name, flags)
    };
    if !h.is_null() && record::is_active() {
        record::untracked(super::got::patch_new);
    }
    h
}

/// The hooked symbols: `(name, real index, hook address)`.
fn table() -> [(&'static str, Real, usize); 15] {
    [
        ("malloc", Real::Malloc, malloc as *const () as usize),
        ("calloc", Real::Calloc, calloc as *const () as usize),
        ("realloc", Real::Realloc, realloc as *const () as usize),
        ("free", Real::Free, free as *const () as usize),
        (
            "posix_memalign",
            Real::PosixMemalign,
            posix_memalign as *const () as usize,
        ),
        (
            "aligned_alloc",
            Real::AlignedAlloc,
            aligned_alloc as *const () as usize,
        ),
        ("memalign", Real::Memalign, memalign as *const () as usize),
        ("valloc", Real::Valloc, valloc as *const () as usize),
        ("pvalloc", Real::Pvalloc, pvalloc as *const () as usize),
        ("strdup", Real::Strdup, strdup as *const () as usize),
        ("strndup", Real::Strndup, strndup as *const () as usize),
        ("mmap", Real::Mmap, mmap as *const () as usize),
        ("mmap64", Real::Mmap, mmap as *const () as usize),
        ("munmap", Real::Munmap, munmap as *const () as usize),
        ("dlopen", Real::Dlopen, dlopen as *const () as usize),
    ]
}

/// Looks the real functions up and returns `(symbol, hook)` for those found.
pub(crate) fn resolve() -> Vec<(&'static str, usize)> {
    let mut out = Vec::new();
    for (name, r, hook) in table() {
        let real_name = if name == "mmap64" { "mmap" } else { name };
        let c = std::ffi::CString::new(real_name).unwrap_or_default();
        // SAFETY: dlsym with RTLD_DEFAULT and a NUL-terminated name.
        let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c.as_ptr()) } as usize;
        if p != 0 && p != hook {
            REAL[r as usize].store(p, Relaxed);
            out.push((name, hook));
        }
    }
    out
}
