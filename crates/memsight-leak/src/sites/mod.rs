//! Allocation sites of native leaks: after a leak verdict on the native heap, mmap, USS, RSS or
//! a probe, the harness calls the function for a few more batches with the C allocators hooked,
//! records the stack of every block still live, and names the stacks whose live bytes grew with
//! the number of calls (a slope whose 95% interval excludes zero, growth in most batches: the
//! verdict's own statistics), so a cache that fills and stops is never named.
//!
//! # How allocations are seen (Linux)
//! - **C allocators**: the GOT entries of `malloc`, `calloc`, `realloc`, `free`,
//!   `posix_memalign`, `aligned_alloc`, `memalign`, `valloc`, `pvalloc`, `strdup`, `strndup`,
//!   `mmap`, `munmap` (and `dlopen`, so objects loaded while tracking are patched too) are
//!   rewritten in every loaded object but libc, the dynamic loader and the unwinder, for the
//!   attribution phase only, and restored on every exit path (a guard's `Drop`, panics
//!   included). No `LD_PRELOAD`, no re-exec. `strdup` inside libc calls libc's own `malloc`,
//!   not through any GOT: it is hooked itself.
//! - **Other allocators** (a front end's, e.g. Python's PEP 445 domains): the front end's own
//!   hooks call [`record_alloc`], [`record_free`] and [`record_realloc`], installed around the
//!   attribution phase by a [`SiteHooks`] given to [`LeakTest::site_hooks`](crate::LeakTest::site_hooks).
//! - **Stacks**: only return addresses are taken inside a hook (libgcc's `_Unwind_Backtrace`,
//!   DWARF CFI: no frame pointers needed, no lock, no allocation); functions, files and lines
//!   are read from debug info afterwards, outside every hook. Without debug info a frame is its
//!   function (from the symbol table) and its object with the offset, and the report says so.
//!
//! Other operating systems compile this module and report that allocation sites are
//! Linux-only: [`unsupported`] says why, and the recording functions do nothing there.

pub(crate) mod phase;
mod site;

/// What hooks the C allocators and records, ranks and symbolises their stacks: it exists only
/// where the GOT can be patched (Linux on x86_64 and aarch64); elsewhere `imp` below says so.
#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
mod recorder {
    use super::{Domain, FrameKind, GotEntry, MAX_EXTRA_FRAMES, SiteFrame};

    pub(super) mod got;
    pub(super) mod hooks;
    pub(super) mod rank;
    pub(super) mod record;
    pub(super) mod session;
    pub(super) mod stack;
}
#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
use recorder::{got, rank, record, session, stack};

pub use site::{FrameKind, LeakSite, SiteFrame};

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

/// The allocator a recorded block came from. A block is freed in the domain it was allocated
/// in: the same address may be live in two domains (a pymalloc block inside an mmap'd arena).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Domain {
    /// The C heap: `malloc` and its family, `strdup`, `strndup`.
    Malloc,
    /// Raw `mmap`/`munmap` (size in bytes of the mapping).
    Mmap,
    /// CPython's `PYMEM_DOMAIN_RAW` (`PyMem_RawMalloc`).
    PyRaw,
    /// CPython's `PYMEM_DOMAIN_MEM` (`PyMem_Malloc`).
    PyMem,
    /// CPython's `PYMEM_DOMAIN_OBJ` (`PyObject_Malloc`: objects, under pymalloc too).
    PyObj,
}

impl Domain {
    /// The domain stored as `d as u8` (an unknown value reads as `Malloc`).
    #[cfg_attr(
        not(all(
            target_os = "linux",
            any(target_arch = "x86_64", target_arch = "aarch64")
        )),
        allow(dead_code)
    )]
    pub(crate) fn from_index(d: u8) -> Domain {
        match d {
            1 => Domain::Mmap,
            2 => Domain::PyRaw,
            3 => Domain::PyMem,
            4 => Domain::PyObj,
            _ => Domain::Malloc,
        }
    }

    /// The allocator function a block of this domain is named after in reports (`malloc`,
    /// `mmap`, `PyMem_RawMalloc`, `PyMem_Malloc`, `PyObject_Malloc`).
    pub fn allocator(self) -> &'static str {
        match self {
            Domain::Malloc => "malloc",
            Domain::Mmap => "mmap",
            Domain::PyRaw => "PyMem_RawMalloc",
            Domain::PyMem => "PyMem_Malloc",
            Domain::PyObj => "PyObject_Malloc",
        }
    }
}

/// Records a block of `size` bytes at `ptr` just allocated in `domain`, with the calling
/// thread's stack, while the attribution phase records (see [`is_recording`]); otherwise
/// returns at once (one relaxed atomic load). A null `ptr` is ignored.
///
/// Callable from inside another allocator's hook, on any thread: it never allocates, takes
/// only a short spin lock around a preallocated table (never held across a call out), and
/// does nothing when re-entered on the same thread (a thread-local guard). Call the wrapped
/// allocator inside [`untracked`] first, so the block is not also recorded by the `malloc`
/// hook beneath it.
pub fn record_alloc(ptr: usize, size: usize, domain: Domain) {
    imp::record_alloc(ptr, size, domain, domain.allocator());
}

/// Forgets the block at `ptr` in `domain` (freed). Processed during the whole attribution
/// phase, between batches too, so a block freed later is not counted live. Same guarantees as
/// [`record_alloc`]. A null or unknown `ptr` is ignored.
pub fn record_free(ptr: usize, domain: Domain) {
    imp::record_free(ptr, domain);
}

/// A `realloc`: forgets `old` (when not null) and records `new` with `size` bytes (when not
/// null). A failed `realloc` (`new` null, `size` not 0) leaves the old block live: call nothing
/// then. Same guarantees as [`record_alloc`].
pub fn record_realloc(old: usize, new: usize, size: usize, domain: Domain) {
    imp::record_realloc(old, new, size, domain);
}

/// Runs `f` with recording off on this thread: what it allocates or frees is not recorded
/// (the block a wrapped allocator hands out is recorded once, by the caller, afterwards).
/// Nests; restores the previous state when `f` returns or unwinds.
pub fn untracked<R>(f: impl FnOnce() -> R) -> R {
    imp::untracked(f)
}

/// Whether allocations are being recorded now (the calls of the attribution phase).
pub fn is_recording() -> bool {
    imp::is_recording()
}

/// `None` where allocation sites work (Linux on x86_64 and aarch64, glibc or any libc with
/// `dl_iterate_phdr`), else the sentence the report prints instead of sites.
pub fn unsupported() -> Option<&'static str> {
    imp::UNSUPPORTED
}

/// Frames of a front end's own (Python's `file:line`), added to every recorded stack.
///
/// `capture` runs inside the allocator hook, on the allocating thread, possibly without the
/// front end's lock (for Python: the GIL is held for the MEM and OBJ domains, not for RAW or the
/// C allocators): it must not allocate through hooked allocators except inside [`untracked`],
/// must not block, and writes at most `out.len()` opaque tokens (outermost last) and returns
/// how many. `resolve` turns one token into a frame, afterwards and outside every hook; the
/// front end keeps whatever a token refers to alive until the report is made. Extra frames are
/// shown after the native ones (they are the outer callers).
#[derive(Debug, Clone, Copy)]
pub struct ExtraFrames {
    /// Writes tokens for the current front-end stack, innermost first; returns how many.
    pub capture: fn(out: &mut [usize]) -> usize,
    /// The frame a token stands for (`None`: left out).
    pub resolve: fn(token: usize) -> Option<SiteFrame>,
}

/// At most this many extra frames are kept per stack.
pub const MAX_EXTRA_FRAMES: usize = 16;

/// Sets (or with `None` removes) the front end's frame capture, for the whole process.
pub fn set_extra_frames(extra: Option<ExtraFrames>) {
    imp::set_extra_frames(extra);
}

/// A front end's allocator hooks, installed for the attribution phase only: the harness calls
/// [`install`](Self::install) after its own hooks are in and before the first tracked call, and
/// [`uninstall`](Self::uninstall) on every way out (the tested function panicking included),
/// before its own hooks are removed. Their wrappers call [`record_alloc`] and friends.
pub trait SiteHooks: Send {
    /// Puts the hooks in. An error leaves them out and becomes a report note.
    fn install(&mut self) -> Result<(), String>;
    /// Takes them out again (called once after every successful `install`).
    fn uninstall(&mut self);
}

/// A front end's hooks, shared so that [`LeakTest`](crate::LeakTest) stays `Clone`.
#[derive(Clone)]
#[cfg_attr(
    not(all(
        target_os = "linux",
        any(target_arch = "x86_64", target_arch = "aarch64")
    )),
    allow(dead_code)
)]
pub(crate) struct SiteHooksHandle(pub(crate) Arc<Mutex<dyn SiteHooks>>);

#[cfg_attr(
    not(all(
        target_os = "linux",
        any(target_arch = "x86_64", target_arch = "aarch64")
    )),
    allow(dead_code)
)]
impl SiteHooksHandle {
    pub(crate) fn new(h: impl SiteHooks + 'static) -> SiteHooksHandle {
        SiteHooksHandle(Arc::new(Mutex::new(h)))
    }

    pub(crate) fn install(&self) -> Result<(), String> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .install()
    }

    pub(crate) fn uninstall(&self) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .uninstall();
    }
}

impl fmt::Debug for SiteHooksHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SiteHooks")
    }
}

/// One GOT entry of a loaded object, read now: for checking that hooks are in or gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GotEntry {
    /// The object's path (`""` for the main program).
    pub object: String,
    /// The symbol the entry is for.
    pub symbol: String,
    /// The entry's address.
    pub slot: usize,
    /// The address stored in it (the function calls through this object go to).
    pub value: usize,
}

/// The GOT entries for `symbol` in every loaded object (Linux; empty elsewhere), as they are
/// now: a test reads them before and after a check to see that every hook was taken out.
pub fn got_entries(symbol: &str) -> Vec<GotEntry> {
    imp::got_entries(symbol)
}

#[cfg(not(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
)))]
mod imp {
    //! Elsewhere: nothing is recorded, and the report says why.
    use super::{Domain, ExtraFrames, GotEntry};

    pub(super) const UNSUPPORTED: Option<&str> = Some(
        "allocation sites are Linux-only here (x86_64 and aarch64): this platform gets the \
         verdict without them",
    );
    pub(super) fn record_alloc(_: usize, _: usize, _: Domain, _: &'static str) {}
    pub(super) fn record_free(_: usize, _: Domain) {}
    pub(super) fn record_realloc(_: usize, _: usize, _: usize, _: Domain) {}
    pub(super) fn untracked<R>(f: impl FnOnce() -> R) -> R {
        f()
    }
    pub(super) fn is_recording() -> bool {
        false
    }
    pub(super) fn set_extra_frames(_: Option<ExtraFrames>) {}
    pub(super) fn got_entries(_: &str) -> Vec<GotEntry> {
        Vec::new()
    }
}

#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
mod imp {
    //! Linux: the recorder, the GOT hooks.
    use super::{Domain, ExtraFrames, GotEntry, record};

    pub(super) const UNSUPPORTED: Option<&str> = None;
    pub(super) fn record_alloc(ptr: usize, size: usize, domain: Domain, via: &'static str) {
        record::record_alloc(ptr, size, domain, record::via(via));
    }
    pub(super) fn record_free(ptr: usize, domain: Domain) {
        if domain == Domain::Mmap {
            // Without a length: the whole mapping recorded there.
            record::record_unmap(ptr, usize::MAX);
        } else {
            record::record_free(ptr, domain);
        }
    }
    pub(super) fn record_realloc(old: usize, new: usize, size: usize, domain: Domain) {
        record::record_free(old, domain);
        record::record_alloc(new, size, domain, record::via(domain.allocator()));
    }
    pub(super) fn untracked<R>(f: impl FnOnce() -> R) -> R {
        record::untracked(f)
    }
    pub(super) fn is_recording() -> bool {
        record::is_recording()
    }
    pub(super) fn set_extra_frames(extra: Option<ExtraFrames>) {
        match extra {
            Some(x) => record::set_extra(
                x.capture as *const () as usize,
                x.resolve as *const () as usize,
            ),
            None => record::set_extra(0, 0),
        }
    }
    pub(super) fn got_entries(symbol: &str) -> Vec<GotEntry> {
        super::got::entries(symbol)
    }
}
