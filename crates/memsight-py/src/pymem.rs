//! The interpreter's allocators (PEP 445) wrapped for the attribution window, so that a block
//! pymalloc hands out (a list a C function built and never `Py_DECREF`'d lives in one of
//! pymalloc's arenas, invisible to a `malloc` hook) is recorded with the stack that asked for it.
//!
//! [`install`] saves the current allocator of each domain (`PYMEM_DOMAIN_RAW`, `MEM`,
//! `OBJ`: pymalloc, or libc's under `PYTHONMALLOC=malloc`, or the debug hooks, whatever is there)
//! with `PyMem_GetAllocator` and sets wrappers that call the saved one and record the block with
//! memsight-leak's recorder; [`uninstall`] sets the saved allocators back. memsight-leak calls
//! both around its attribution phase ([`PyAllocatorHooks`]), the uninstall on every path out
//! of it (an exception or a panic included). A block allocated inside the
//! window and freed after it goes back to the allocator that made it: the wrappers never change
//! which allocator owns a block.
//!
//! PEP 445's functions and struct are not in the limited C API that the abi3 wheel is built
//! against; they are exported by every CPython since 3.4 with the same layout, so they are
//! declared here.

use std::cell::UnsafeCell;
use std::ffi::c_void;
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};

use memsight_leak::sites::{self, Domain, SiteHooks};
use pyo3::Python;

/// CPython's `PyMemAllocatorEx` (Include/cpython/pymem.h).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub(crate) struct PyMemAllocatorEx {
    ctx: *mut c_void,
    malloc: Option<unsafe extern "C" fn(*mut c_void, usize) -> *mut c_void>,
    calloc: Option<unsafe extern "C" fn(*mut c_void, usize, usize) -> *mut c_void>,
    realloc: Option<unsafe extern "C" fn(*mut c_void, *mut c_void, usize) -> *mut c_void>,
    free: Option<unsafe extern "C" fn(*mut c_void, *mut c_void)>,
}

const _: () = {
    let word = size_of::<usize>();
    assert!(size_of::<PyMemAllocatorEx>() == 5 * word);
    assert!(std::mem::offset_of!(PyMemAllocatorEx, malloc) == word);
    assert!(std::mem::offset_of!(PyMemAllocatorEx, calloc) == 2 * word);
    assert!(std::mem::offset_of!(PyMemAllocatorEx, realloc) == 3 * word);
    assert!(std::mem::offset_of!(PyMemAllocatorEx, free) == 4 * word);
};

impl PyMemAllocatorEx {
    const EMPTY: Self = Self {
        ctx: ptr::null_mut(),
        malloc: None,
        calloc: None,
        realloc: None,
        free: None,
    };

    /// The five fields as addresses (for tests that compare the allocators before and after).
    pub(crate) fn addresses(&self) -> [usize; 5] {
        [
            self.ctx as usize,
            self.malloc.map_or(0, |f| f as usize),
            self.calloc.map_or(0, |f| f as usize),
            self.realloc.map_or(0, |f| f as usize),
            self.free.map_or(0, |f| f as usize),
        ]
    }
}

/// `PYMEM_DOMAIN_RAW`, `PYMEM_DOMAIN_MEM`, `PYMEM_DOMAIN_OBJ` (a C enum: an `int`).
pub(crate) const DOMAINS: [i32; 3] = [0, 1, 2];

unsafe extern "C" {
    fn PyMem_GetAllocator(domain: i32, allocator: *mut PyMemAllocatorEx);
    fn PyMem_SetAllocator(domain: i32, allocator: *mut PyMemAllocatorEx);
}

/// The allocator `domain` has now.
///
/// # Safety
/// The GIL must be held (CPython reads its allocator table unlocked).
pub(crate) unsafe fn current(domain: i32) -> PyMemAllocatorEx {
    let mut a = PyMemAllocatorEx::EMPTY;
    // SAFETY: `a` is a valid PyMemAllocatorEx to write; the caller holds the GIL.
    unsafe { PyMem_GetAllocator(domain, &mut a) };
    a
}

/// The saved allocators, one per domain: the wrappers' `ctx` points into this (a static, so
/// it outlives any block a wrapper hands out). Written only by `install` with the GIL held and
/// no wrapper set, read by the wrappers while set.
struct Saved([UnsafeCell<PyMemAllocatorEx>; 3]);
// SAFETY: written only while no wrapper is installed (see `install`), under the GIL.
unsafe impl Sync for Saved {}

static SAVED: Saved = Saved([
    UnsafeCell::new(PyMemAllocatorEx::EMPTY),
    UnsafeCell::new(PyMemAllocatorEx::EMPTY),
    UnsafeCell::new(PyMemAllocatorEx::EMPTY),
]);
/// Whether wrappers are set: a second `install` is refused rather than wrap the wrappers.
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// The recorder's domain for a wrapper's `D` (the index into `DOMAINS`).
const fn domain(d: usize) -> Domain {
    match d {
        0 => Domain::PyRaw,
        1 => Domain::PyMem,
        _ => Domain::PyObj,
    }
}

/// The saved allocator a wrapper's `ctx` points at.
///
/// # Safety
/// `ctx` is the pointer `install` put in the wrapper: an entry of `SAVED`.
unsafe fn saved<'a>(ctx: *mut c_void) -> &'a PyMemAllocatorEx {
    // SAFETY: the caller's contract; SAVED is a static, never written while wrappers are set.
    unsafe { &*(ctx as *const PyMemAllocatorEx) }
}

// The wrappers call the saved allocator with recording off on this thread (`untracked`: the
// libc `malloc` beneath pymalloc or `PYTHONMALLOC=malloc` is not recorded a second time), then
// record the block in their own domain; the recorder does nothing outside the attribution phase
// and when re-entered.

unsafe extern "C" fn wrap_malloc<const D: usize>(ctx: *mut c_void, size: usize) -> *mut c_void {
    // SAFETY: ctx is what `install` set.
    let orig = unsafe { saved(ctx) };
    // SAFETY: the saved allocator called with its own ctx, as CPython would.
    let p =
        sites::untracked(|| unsafe { orig.malloc.map_or(ptr::null_mut(), |f| f(orig.ctx, size)) });
    sites::record_alloc(p as usize, size, domain(D));
    p
}

unsafe extern "C" fn wrap_calloc<const D: usize>(
    ctx: *mut c_void,
    nelem: usize,
    elsize: usize,
) -> *mut c_void {
    // SAFETY: ctx is what `install` set.
    let orig = unsafe { saved(ctx) };
    // SAFETY: as in wrap_malloc.
    let p = sites::untracked(|| unsafe {
        orig.calloc
            .map_or(ptr::null_mut(), |f| f(orig.ctx, nelem, elsize))
    });
    // A block was handed out, so the product did not overflow.
    sites::record_alloc(p as usize, nelem.saturating_mul(elsize), domain(D));
    p
}

unsafe extern "C" fn wrap_realloc<const D: usize>(
    ctx: *mut c_void,
    old: *mut c_void,
    size: usize,
) -> *mut c_void {
    // SAFETY: ctx is what `install` set.
    let orig = unsafe { saved(ctx) };
    // SAFETY: as in wrap_malloc.
    let p = sites::untracked(|| unsafe {
        orig.realloc
            .map_or(ptr::null_mut(), |f| f(orig.ctx, old, size))
    });
    // A failed realloc leaves the old block as it was.
    if !p.is_null() {
        sites::record_realloc(old as usize, p as usize, size, domain(D));
    }
    p
}

unsafe extern "C" fn wrap_free<const D: usize>(ctx: *mut c_void, p: *mut c_void) {
    // SAFETY: ctx is what `install` set.
    let orig = unsafe { saved(ctx) };
    // Forgotten before the free: once freed, another thread may get the same address.
    sites::record_free(p as usize, domain(D));
    if let Some(f) = orig.free {
        // SAFETY: as in wrap_malloc.
        sites::untracked(|| unsafe { f(orig.ctx, p) });
    }
}

/// The wrapper set for domain index `D`, its `ctx` pointing at `saved`.
fn wrappers<const D: usize>(saved: *mut PyMemAllocatorEx) -> PyMemAllocatorEx {
    PyMemAllocatorEx {
        ctx: saved.cast(),
        malloc: Some(wrap_malloc::<D>),
        calloc: Some(wrap_calloc::<D>),
        realloc: Some(wrap_realloc::<D>),
        free: Some(wrap_free::<D>),
    }
}

/// Wraps the three domains' allocators (saving the current ones); `false` if wrappers are
/// already set (a check inside a check), which changes nothing.
///
/// # Safety
/// The GIL must be held.
pub(crate) unsafe fn install() -> bool {
    if INSTALLED.swap(true, Ordering::SeqCst) {
        return false;
    }
    let mut set = [
        wrappers::<0>(SAVED.0[0].get()),
        wrappers::<1>(SAVED.0[1].get()),
        wrappers::<2>(SAVED.0[2].get()),
    ];
    for (i, &d) in DOMAINS.iter().enumerate() {
        // SAFETY: the GIL is held and no wrapper reads SAVED[i] (INSTALLED was false; a
        // wrapper of an earlier window still running on a thread without the GIL reads the
        // same allocator being written back).
        unsafe { *SAVED.0[i].get() = current(d) };
        // SAFETY: the GIL is held; the wrapper calls the saved allocator, which keeps owning
        // every block (PEP 445's hook pattern).
        unsafe { PyMem_SetAllocator(d, &mut set[i]) };
    }
    true
}

/// Sets the saved allocators back; nothing if no wrapper is set.
///
/// # Safety
/// The GIL must be held.
pub(crate) unsafe fn uninstall() {
    if !INSTALLED.load(Ordering::SeqCst) {
        return;
    }
    for (i, &d) in DOMAINS.iter().enumerate() {
        // SAFETY: the GIL is held; SAVED[i] holds what was set before `install`.
        unsafe { PyMem_SetAllocator(d, SAVED.0[i].get()) };
    }
    INSTALLED.store(false, Ordering::SeqCst);
}

/// Whether wrappers are set now.
pub(crate) fn installed() -> bool {
    INSTALLED.load(Ordering::SeqCst)
}

/// The attribution phase's hooks for `LeakTest::site_hooks`: the wrappers in for the phase,
/// taking the GIL (the check runs with it released).
pub(crate) struct PyAllocatorHooks;

impl SiteHooks for PyAllocatorHooks {
    fn install(&mut self) -> Result<(), String> {
        // SAFETY: the GIL is held inside with_gil.
        if Python::with_gil(|_| unsafe { install() }) {
            Ok(())
        } else {
            Err("Python's allocators are already wrapped (a check inside a check)".into())
        }
    }

    fn uninstall(&mut self) {
        // SAFETY: the GIL is held inside with_gil.
        Python::with_gil(|_| unsafe { uninstall() });
    }
}
