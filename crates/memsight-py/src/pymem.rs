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
/// Whether the attribution window is open (between `install` and `uninstall`).
static INSTALLED: AtomicBool = AtomicBool::new(false);
/// Per domain: memsight's wrapper is in the domain's allocator chain. Normally the same as
/// INSTALLED; it stays set when something wrapped the domain over memsight's wrapper inside
/// the window (`tracemalloc.start()` in the tested function), which `uninstall` must then leave
/// in place: taking ours out would cut theirs off.
static WRAPPED: [AtomicBool; 3] = [const { AtomicBool::new(false) }; 3];

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

/// Whether the allocator domain `i` has now is memsight's wrapper (its `ctx` is our saved slot).
///
/// # Safety
/// The GIL must be held.
unsafe fn ours(i: usize) -> bool {
    // SAFETY: the caller holds the GIL.
    unsafe { current(DOMAINS[i]) }.ctx == SAVED.0[i].get().cast()
}

/// Sets domain `i`'s saved allocator back (ours must be the current one).
///
/// # Safety
/// The GIL must be held.
unsafe fn restore(i: usize) {
    // SAFETY: the GIL is held; SAVED[i] holds what was set before ours.
    unsafe { PyMem_SetAllocator(DOMAINS[i], SAVED.0[i].get()) };
    WRAPPED[i].store(false, Ordering::SeqCst);
}

/// Wraps the three domains' allocators (saving the current ones). `false`, changing nothing,
/// when the window is already open (a check inside a check) or when a domain still holds a
/// wrapper of ours under someone else's from an earlier window (it cannot be saved again: its
/// calls would come back to itself). A wrapper of ours left on top from an earlier window (the
/// other hook since removed, as `tracemalloc.stop()` does) is taken out first.
///
/// # Safety
/// The GIL must be held.
pub(crate) unsafe fn install() -> bool {
    if INSTALLED.load(Ordering::SeqCst) {
        return false;
    }
    for (i, w) in WRAPPED.iter().enumerate() {
        // SAFETY: the GIL is held.
        if w.load(Ordering::SeqCst) && !unsafe { ours(i) } {
            return false;
        }
    }
    for (i, w) in WRAPPED.iter().enumerate() {
        if w.load(Ordering::SeqCst) {
            // SAFETY: the GIL is held, and ours is on top (checked above).
            unsafe { restore(i) };
        }
    }
    INSTALLED.store(true, Ordering::SeqCst);
    let mut set = [
        wrappers::<0>(SAVED.0[0].get()),
        wrappers::<1>(SAVED.0[1].get()),
        wrappers::<2>(SAVED.0[2].get()),
    ];
    for (i, &d) in DOMAINS.iter().enumerate() {
        // SAFETY: the GIL is held and no wrapper of ours is set (a wrapper of an earlier window
        // still running on a thread without the GIL reads the same allocator being written
        // back).
        unsafe { *SAVED.0[i].get() = current(d) };
        // SAFETY: the GIL is held; the wrapper calls the saved allocator, which keeps owning
        // every block (PEP 445's hook pattern).
        unsafe { PyMem_SetAllocator(d, &mut set[i]) };
        WRAPPED[i].store(true, Ordering::SeqCst);
    }
    true
}

/// Closes the window: sets the saved allocators back in every domain where memsight's wrapper
/// is still the current allocator; where another hook was set over it, ours stays in the chain
/// (it only passes calls through once the window is closed) and is taken out by the next
/// `install` if that hook is gone by then.
///
/// # Safety
/// The GIL must be held.
pub(crate) unsafe fn uninstall() {
    if !INSTALLED.load(Ordering::SeqCst) {
        return;
    }
    for (i, w) in WRAPPED.iter().enumerate() {
        // SAFETY: the GIL is held.
        if w.load(Ordering::SeqCst) && unsafe { ours(i) } {
            // SAFETY: the GIL is held; ours is on top.
            unsafe { restore(i) };
        }
    }
    INSTALLED.store(false, Ordering::SeqCst);
}

/// Whether the attribution window is open (memsight's wrappers set by `install`).
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
            Err(
                "Python's allocators are wrapped already (a check inside a check, or a hook set \
                 over memsight's in an earlier check, such as tracemalloc started there)"
                    .into(),
            )
        }
    }

    fn uninstall(&mut self) {
        // SAFETY: the GIL is held inside with_gil.
        Python::with_gil(|_| unsafe { uninstall() });
    }
}
