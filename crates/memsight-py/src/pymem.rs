//! The interpreter's allocators (PEP 445) wrapped for the attribution window, so that a block
//! pymalloc hands out (a list a C function built and never `Py_DECREF`'d lives in one of
//! pymalloc's arenas, invisible to a `malloc` hook) is recorded with the stack that asked for it.
//!
//! [`Wrapped::install`] saves the current allocator of each domain (`PYMEM_DOMAIN_RAW`, `MEM`,
//! `OBJ`: pymalloc, or libc's under `PYTHONMALLOC=malloc`, or the debug hooks, whatever is there)
//! with `PyMem_GetAllocator` and sets wrappers that call the saved one and record the block; the
//! returned guard sets the saved allocators back when dropped, so they are restored on every
//! path out of the window (an exception or a panic included). A block allocated inside the
//! window and freed after it goes back to the allocator that made it: the wrappers never change
//! which allocator owns a block.
//!
//! PEP 445's functions and struct are not in the limited C API that the abi3 wheel is built
//! against; they are exported by every CPython since 3.4 with the same layout, so they are
//! declared here.

use std::cell::Cell;
use std::ffi::c_void;
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};

/// CPython's `PyMemAllocatorEx` (Include/cpython/pymem.h).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

/// What the wrappers call with each block: the allocation-site recorder.
pub(crate) trait Recorder {
    /// `ptr` was allocated with `size` bytes.
    fn alloc(ptr: *mut c_void, size: usize);
    /// `ptr` was freed.
    fn free(ptr: *mut c_void);
    /// `old` was reallocated to `new`, `size` bytes (`old` may be null).
    fn realloc(old: *mut c_void, new: *mut c_void, size: usize);
}

/// The saved allocators, one per domain: the wrappers' `ctx` points into this (a static, so
/// it outlives any block a wrapper hands out). Written only by `install` with the GIL held and
/// no wrapper set, read by the wrappers while set.
struct Saved([std::cell::UnsafeCell<PyMemAllocatorEx>; 3]);
// SAFETY: written only while no wrapper is installed (see `install`), under the GIL.
unsafe impl Sync for Saved {}

static SAVED: Saved = Saved([
    std::cell::UnsafeCell::new(PyMemAllocatorEx::EMPTY),
    std::cell::UnsafeCell::new(PyMemAllocatorEx::EMPTY),
    std::cell::UnsafeCell::new(PyMemAllocatorEx::EMPTY),
]);
/// Whether wrappers are set: a second `install` is refused rather than wrap the wrappers.
static INSTALLED: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// Set while a wrapper records on this thread: an allocation the recorder itself makes
    /// through a Python allocator is passed through unrecorded instead of recursing.
    static IN_HOOK: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` unless this thread is already recording (then nothing is recorded).
fn guarded(f: impl FnOnce()) {
    // try_with: a thread being torn down has no thread-locals left; it records nothing.
    let entered = IN_HOOK.try_with(|h| !h.replace(true)).unwrap_or(false);
    if entered {
        f();
        let _ = IN_HOOK.try_with(|h| h.set(false));
    }
}

unsafe extern "C" fn wrap_malloc<R: Recorder>(ctx: *mut c_void, size: usize) -> *mut c_void {
    // SAFETY: ctx is the `SAVED` entry set by `install`, alive for the whole program.
    let orig = unsafe { &*(ctx as *const PyMemAllocatorEx) };
    // SAFETY: calling the saved allocator with its own ctx, as CPython would.
    let p = unsafe { orig.malloc.map_or(ptr::null_mut(), |f| f(orig.ctx, size)) };
    if !p.is_null() {
        guarded(|| R::alloc(p, size));
    }
    p
}

unsafe extern "C" fn wrap_calloc<R: Recorder>(
    ctx: *mut c_void,
    nelem: usize,
    elsize: usize,
) -> *mut c_void {
    // SAFETY: as in wrap_malloc.
    let orig = unsafe { &*(ctx as *const PyMemAllocatorEx) };
    // SAFETY: as in wrap_malloc.
    let p = unsafe { orig.calloc.map_or(ptr::null_mut(), |f| f(orig.ctx, nelem, elsize)) };
    if !p.is_null() {
        // The allocator succeeded, so the product did not overflow.
        guarded(|| R::alloc(p, nelem.saturating_mul(elsize)));
    }
    p
}

unsafe extern "C" fn wrap_realloc<R: Recorder>(
    ctx: *mut c_void,
    old: *mut c_void,
    size: usize,
) -> *mut c_void {
    // SAFETY: as in wrap_malloc.
    let orig = unsafe { &*(ctx as *const PyMemAllocatorEx) };
    // SAFETY: as in wrap_malloc.
    let p = unsafe { orig.realloc.map_or(ptr::null_mut(), |f| f(orig.ctx, old, size)) };
    if !p.is_null() {
        guarded(|| R::realloc(old, p, size));
    }
    p
}

unsafe extern "C" fn wrap_free<R: Recorder>(ctx: *mut c_void, p: *mut c_void) {
    // SAFETY: as in wrap_malloc.
    let orig = unsafe { &*(ctx as *const PyMemAllocatorEx) };
    if !p.is_null() {
        // Before the free: once freed, another thread may get the same address.
        guarded(|| R::free(p));
    }
    if let Some(f) = orig.free {
        // SAFETY: as in wrap_malloc.
        unsafe { f(orig.ctx, p) };
    }
}

/// The wrappers, set for the attribution window; dropping it sets the saved allocators back.
pub(crate) struct Wrapped {
    _not_send: std::marker::PhantomData<*mut ()>,
}

impl Wrapped {
    /// Wraps the three domains' allocators with recorders calling `R`; `None` if wrappers are
    /// already set (a nested check).
    ///
    /// # Safety
    /// The GIL must be held, here and when the guard is dropped.
    pub(crate) unsafe fn install<R: Recorder>() -> Option<Self> {
        if INSTALLED.swap(true, Ordering::SeqCst) {
            return None;
        }
        for (i, &domain) in DOMAINS.iter().enumerate() {
            let saved = SAVED.0[i].get();
            // SAFETY: the GIL is held and no wrapper reads SAVED (INSTALLED was false).
            unsafe { *saved = current(domain) };
            let mut w = PyMemAllocatorEx {
                ctx: saved.cast(),
                malloc: Some(wrap_malloc::<R>),
                calloc: Some(wrap_calloc::<R>),
                realloc: Some(wrap_realloc::<R>),
                free: Some(wrap_free::<R>),
            };
            // SAFETY: the GIL is held; `w` wraps the saved allocator, which keeps owning every
            // block (PEP 445's hook pattern).
            unsafe { PyMem_SetAllocator(domain, &mut w) };
        }
        Some(Self {
            _not_send: std::marker::PhantomData,
        })
    }
}

impl Drop for Wrapped {
    fn drop(&mut self) {
        for (i, &domain) in DOMAINS.iter().enumerate() {
            // SAFETY: the GIL is held (install's contract); SAVED[i] holds what was set before.
            unsafe { PyMem_SetAllocator(domain, SAVED.0[i].get()) };
        }
        INSTALLED.store(false, Ordering::SeqCst);
    }
}

/// Whether wrappers are set now.
pub(crate) fn installed() -> bool {
    INSTALLED.load(Ordering::SeqCst)
}
