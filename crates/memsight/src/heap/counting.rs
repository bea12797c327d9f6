//! An exact counting global allocator for the Rust heap.
#![allow(unsafe_code)]
// Without pthread keys (Windows) the shard hand-back machinery and its imports are compiled out.
#![cfg_attr(not(unix), allow(unused_imports))]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{
    AtomicBool, AtomicI64, AtomicU64,
    Ordering::{AcqRel, Relaxed},
};
use std::sync::{Mutex, OnceLock, PoisonError};

/// A `#[global_allocator]` that forwards to another allocator (the system's `malloc` by default)
/// and counts the live bytes and live blocks of the Rust heap exactly, by requested size.
///
/// ```
/// use memsight::heap::CountingAlloc;
///
/// #[global_allocator]
/// static ALLOC: CountingAlloc = CountingAlloc::system();
///
/// let before = CountingAlloc::stats();
/// let v = vec![0u8; 1000];
/// let after = CountingAlloc::stats();
/// assert!(after.live_bytes - before.live_bytes >= 1000);
/// drop(v);
/// assert!(CountingAlloc::is_installed());
/// ```
///
/// Counters are kept twice: in the calling thread's own cells ([`CountingAlloc::thread_stats`],
/// what this thread allocated minus what it freed) and in 64 cache-line-padded shards, summed by
/// [`CountingAlloc::stats`] for the whole process. Up to 63 live threads each own a shard and
/// update it with a plain load and store (no locked instruction, no contention); a thread hands
/// its shard back when it exits (pthread key destructor), and threads beyond 63 live ones share
/// the last shard with atomic adds. An alloc+free pair costs a few ns more than the
/// wrapped allocator (see BENCHMARKS.md). The counters are process-global: every
/// `CountingAlloc` value feeds the same ones.
#[derive(Debug, Default)]
pub struct CountingAlloc<A = System> {
    inner: A,
}

/// Live Rust-heap figures from [`CountingAlloc`]: requested sizes, not allocator chunk sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct RustHeapStats {
    /// Bytes allocated and not yet freed (sum of `Layout::size()`; reallocations adjust it).
    /// For one thread's figures this can be negative: a thread that frees what others allocated.
    pub live_bytes: i64,
    /// Blocks allocated and not yet freed.
    pub live_blocks: i64,
}

const SHARDS: usize = 64;

#[repr(align(128))]
struct Shard {
    bytes: AtomicI64,
    blocks: AtomicI64,
}

#[allow(clippy::declare_interior_mutable_const)] // only used to build the array below
const EMPTY: Shard = Shard {
    bytes: AtomicI64::new(0),
    blocks: AtomicI64::new(0),
};
static SHARD: [Shard; SHARDS] = [EMPTY; SHARDS];
/// The last shard, shared with atomic adds by threads that found no free shard.
const SHARED: usize = SHARDS - 1;
#[cfg(unix)]
/// Bit i set: shard i is free to be owned by a thread. The shared shard is never handed out.
static FREE: AtomicU64 = AtomicU64::new(u64::MAX >> (64 - SHARED));
#[cfg(unix)]
/// A pthread key whose destructor hands a thread's shard back when the thread exits.
static RELEASE_KEY: OnceLock<Option<libc::pthread_key_t>> = OnceLock::new();

#[cfg(unix)]
/// Runs at thread exit (pthread key destructor): later allocations of this thread go to the
/// shared shard, and its own shard (whose counts stay) can be owned by a new thread.
extern "C" fn release_shard(value: *mut libc::c_void) {
    let shard = (value as usize).wrapping_sub(1);
    if shard < SHARED {
        let _ = LOCAL.try_with(|l| l.shard.set(SHARED));
        FREE.fetch_or(1 << shard, AcqRel);
    }
}

#[cfg(unix)]
fn release_key() -> Option<libc::pthread_key_t> {
    *RELEASE_KEY.get_or_init(|| {
        let mut key: libc::pthread_key_t = 0;
        // SAFETY: creates a key with a destructor that only touches atomics and a const
        // thread-local; glibc's pthread_key_create allocates nothing through Rust.
        let rc = unsafe { libc::pthread_key_create(&mut key, Some(release_shard)) };
        (rc == 0).then_some(key)
    })
}

/// Without pthread keys (Windows) no shard could be handed back at thread exit, so every thread
/// adds to the shared shard with atomics: still exact, a little slower under contention.
#[cfg(not(unix))]
#[cold]
fn claim_shard() -> usize {
    SHARED
}

#[cfg(unix)]
/// Takes a free shard for the calling thread, or the shared one when all 63 are owned.
#[cold]
fn claim_shard() -> usize {
    let Some(key) = release_key() else {
        return SHARED;
    };
    let mut free = FREE.load(Relaxed);
    loop {
        if free == 0 {
            return SHARED;
        }
        let bit = free.trailing_zeros() as usize;
        match FREE.compare_exchange_weak(free, free & !(1 << bit), AcqRel, Relaxed) {
            Ok(_) => {
                // SAFETY: a valid key; the value is a small integer, never dereferenced. glibc
                // may calloc a second-level key block, through its own malloc, not Rust's.
                unsafe { libc::pthread_setspecific(key, (bit + 1) as *const libc::c_void) };
                return bit;
            }
            Err(now) => free = now,
        }
    }
}

/// Per-thread state. No `Drop`, const-initialised: touching it never allocates nor registers a
/// thread-exit destructor, which matters inside an allocator.
struct Local {
    shard: Cell<usize>,
    bytes: Cell<i64>,
    blocks: Cell<i64>,
}

thread_local! {
    static LOCAL: Local = const {
        Local { shard: Cell::new(usize::MAX), bytes: Cell::new(0), blocks: Cell::new(0) }
    };
}

#[inline(always)]
fn record(bytes: i64, blocks: i64) {
    let shard = LOCAL
        .try_with(|l| {
            l.bytes.set(l.bytes.get().wrapping_add(bytes));
            l.blocks.set(l.blocks.get().wrapping_add(blocks));
            let mut s = l.shard.get();
            if s == usize::MAX {
                s = claim_shard();
                l.shard.set(s);
            }
            s
        })
        .unwrap_or(SHARED);
    if shard < SHARED {
        // This thread owns the shard: a plain load and store, no locked instruction. Other
        // threads only ever read it.
        let sh = &SHARD[shard];
        sh.bytes
            .store(sh.bytes.load(Relaxed).wrapping_add(bytes), Relaxed);
        if blocks != 0 {
            sh.blocks
                .store(sh.blocks.load(Relaxed).wrapping_add(blocks), Relaxed);
        }
    } else {
        // No shard of its own (more than 63 live threads): the shared one, atomically.
        let sh = &SHARD[SHARED];
        sh.bytes.fetch_add(bytes, Relaxed);
        if blocks != 0 {
            sh.blocks.fetch_add(blocks, Relaxed);
        }
    }
}

/// Frames kept per tracked allocation, innermost first (the allocator's own included).
const DEPTH: usize = 48;

/// One tracked allocation as the allocator records it: plain data, no allocation, no lock
/// but the table's `try_lock`.
#[derive(Clone, Copy)]
struct Record {
    ptr: usize,
    size: usize,
    len: usize,
    frames: [usize; DEPTH],
}

/// A Rust allocation recorded while [`CountingAlloc::start_tracking`] was on and still live when
/// [`Tracking::stop`] was called: where a leak was allocated.
///
/// Only return addresses are taken inside the allocator (a raw stack walk with no lock and no
/// allocation, so a function that captures a backtrace itself, or panics with
/// `RUST_BACKTRACE=1`, cannot deadlock on std's backtrace lock); [`symbols`](Self::symbols)
/// resolves them later, outside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackedAlloc {
    /// Requested size in bytes.
    pub size: usize,
    frames: Vec<usize>,
}

/// One resolved frame of a [`TrackedAlloc`]'s stack (an inlined call is a frame of its own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    /// The demangled function name, without its hash, when the symbol table has it.
    pub function: Option<String>,
    /// The source file, from debug info.
    pub file: Option<String>,
    /// The 1-based source line, from debug info.
    pub line: Option<u32>,
    /// The 1-based source column, from debug info.
    pub column: Option<u32>,
}

impl TrackedAlloc {
    /// Return addresses of the stack at the allocation, innermost first (at most 48).
    pub fn frames(&self) -> &[usize] {
        &self.frames
    }

    /// The stack resolved to functions and source locations (the program's debug info, read
    /// with the `backtrace` crate), innermost first. Slow and allocating: never call it from
    /// inside an allocator.
    pub fn symbols(&self) -> Vec<Symbol> {
        let mut out = Vec::new();
        for &ip in &self.frames {
            backtrace::resolve(ip as *mut std::ffi::c_void, |sym| {
                out.push(Symbol {
                    function: sym.name().map(|n| format!("{n:#}")),
                    file: sym.filename().map(|f| f.display().to_string()),
                    line: sym.lineno(),
                    column: sym.colno(),
                });
            });
        }
        out
    }
}

static TRACKING: AtomicBool = AtomicBool::new(false);
static TRACKED: Mutex<Vec<Record>> = Mutex::new(Vec::new());

thread_local! {
    /// Set while this thread runs tracking code, whose own allocations are not tracked.
    static IN_TRACKING: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` unless this thread is already inside tracking code (or its thread-locals are gone).
#[inline(never)]
fn guarded(f: impl FnOnce()) {
    if IN_TRACKING.try_with(|g| g.replace(true)).unwrap_or(true) {
        return;
    }
    f();
    let _ = IN_TRACKING.try_with(|g| g.set(false));
}

#[inline(never)]
fn track_alloc(ptr: *mut u8, size: usize) {
    // A panic being reported (its message, a RUST_BACKTRACE backtrace being resolved) is the
    // harness's business, not the tracked function's: its many allocations are not recorded.
    if std::thread::panicking() {
        return;
    }
    guarded(|| {
        let mut rec = Record {
            ptr: ptr as usize,
            size,
            len: 0,
            frames: [0; DEPTH],
        };
        // SAFETY: a raw walk of this thread's stack (libgcc's _Unwind_Backtrace on Linux, which
        // is thread-safe there); "unsynchronized" only means it skips the backtrace crate's own
        // global lock, which is exactly what must not be taken inside an allocator. The closure
        // only writes into the record on this stack frame.
        unsafe {
            backtrace::trace_unsynchronized(|frame| {
                rec.frames[rec.len] = frame.ip() as usize;
                rec.len += 1;
                rec.len < DEPTH
            });
        }
        // try_lock: never block inside the allocator; a busy table just skips this record.
        if let Ok(mut table) = TRACKED.try_lock() {
            // Never grow the table here: its room was reserved by start_tracking.
            if table.len() < table.capacity() {
                table.push(rec);
            }
        }
    });
}

#[inline(never)]
fn track_dealloc(ptr: *mut u8) {
    guarded(|| {
        if let Ok(mut table) = TRACKED.try_lock()
            && let Some(i) = table.iter().position(|r| r.ptr == ptr as usize)
        {
            table.swap_remove(i);
        }
    });
}

/// Allocation tracking in progress, from [`CountingAlloc::start_tracking`]: [`stop`](Self::stop)
/// returns what is still live. Dropping it (an early return, a panic unwinding through the
/// caller) also ends tracking, so it can never stay on by accident.
#[derive(Debug)]
#[must_use = "tracking stays on until this is stopped or dropped"]
pub struct Tracking {
    _private: (),
}

impl Tracking {
    /// Stops recording and returns the allocations made since
    /// [`start_tracking`](CountingAlloc::start_tracking) that are still live, in no particular
    /// order.
    pub fn stop(self) -> Vec<TrackedAlloc> {
        TRACKING.store(false, Relaxed);
        let mut table = TRACKED.lock().unwrap_or_else(PoisonError::into_inner);
        let records = std::mem::take(&mut *table);
        drop(table);
        records
            .iter()
            .map(|r| TrackedAlloc {
                size: r.size,
                frames: r.frames[..r.len].to_vec(),
            })
            .collect()
    }
}

impl Drop for Tracking {
    fn drop(&mut self) {
        TRACKING.store(false, Relaxed);
        let mut table = TRACKED.lock().unwrap_or_else(PoisonError::into_inner);
        *table = Vec::new();
    }
}

impl CountingAlloc<System> {
    /// A counting wrapper around [`std::alloc::System`] (glibc `malloc` on Linux), for
    /// `#[global_allocator] static A: CountingAlloc = CountingAlloc::system();`.
    pub const fn system() -> Self {
        CountingAlloc { inner: System }
    }
}

impl<A> CountingAlloc<A> {
    /// A counting wrapper around any other global allocator (jemalloc, mimalloc, ...).
    pub const fn new(inner: A) -> Self {
        CountingAlloc { inner }
    }
}

impl CountingAlloc {
    /// Live Rust-heap bytes and blocks of the whole process: the sum of all shards. Exact when no
    /// other thread is allocating at the moment of the read. All zeros when no `CountingAlloc`
    /// is the global allocator.
    pub fn stats() -> RustHeapStats {
        let mut out = RustHeapStats::default();
        for sh in &SHARD {
            out.live_bytes = out.live_bytes.wrapping_add(sh.bytes.load(Relaxed));
            out.live_blocks = out.live_blocks.wrapping_add(sh.blocks.load(Relaxed));
        }
        out
    }

    /// Starts recording the stack of every Rust allocation (any thread), keeping at most
    /// `limit` live ones, until the returned [`Tracking`] is stopped or dropped. Slow (a stack
    /// walk per allocation): for attributing a leak once it is known, not for measuring. Records
    /// nothing unless a `CountingAlloc` is the global allocator.
    pub fn start_tracking(limit: usize) -> Tracking {
        let mut table = TRACKED.lock().unwrap_or_else(PoisonError::into_inner);
        table.clear();
        table.reserve_exact(limit);
        TRACKING.store(true, Relaxed);
        Tracking { _private: () }
    }

    /// Whether allocation tracking is on ([`start_tracking`](Self::start_tracking) until its
    /// [`Tracking`] ends).
    pub fn is_tracking() -> bool {
        TRACKING.load(Relaxed)
    }

    /// Bytes and blocks the calling thread allocated minus those it freed, since it started.
    pub fn thread_stats() -> RustHeapStats {
        LOCAL
            .try_with(|l| RustHeapStats {
                live_bytes: l.bytes.get(),
                live_blocks: l.blocks.get(),
            })
            .unwrap_or_default()
    }

    /// Whether a `CountingAlloc` is the global allocator of this program: allocates and frees
    /// one small block through `std::alloc` and checks that this thread's counters saw it.
    pub fn is_installed() -> bool {
        let layout = Layout::new::<[u64; 4]>();
        let before = Self::thread_stats();
        // SAFETY: a non-zero-sized layout; the block is freed with the same layout right away.
        unsafe {
            // black_box: an allocation whose pointer is unused may be optimised away entirely.
            let p = std::hint::black_box(std::alloc::alloc(layout));
            if p.is_null() {
                return false;
            }
            let seen = Self::thread_stats().live_blocks != before.live_blocks;
            std::alloc::dealloc(p, layout);
            seen
        }
    }
}

fn size(layout: Layout) -> i64 {
    i64::try_from(layout.size()).unwrap_or(i64::MAX)
}

// SAFETY: every method forwards to the inner allocator with the caller's arguments unchanged, so
// the inner allocator's guarantees hold; counting only touches atomics and const thread-locals.
unsafe impl<A: GlobalAlloc> GlobalAlloc for CountingAlloc<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's (valid) layout.
        let p = unsafe { self.inner.alloc(layout) };
        if !p.is_null() {
            record(size(layout), 1);
            if TRACKING.load(Relaxed) {
                track_alloc(p, layout.size());
            }
        }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's (valid) layout.
        let p = unsafe { self.inner.alloc_zeroed(layout) };
        if !p.is_null() {
            record(size(layout), 1);
            if TRACKING.load(Relaxed) {
                track_alloc(p, layout.size());
            }
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller guarantees ptr was allocated by this allocator with this layout.
        unsafe { self.inner.dealloc(ptr, layout) };
        record(-size(layout), -1);
        if TRACKING.load(Relaxed) {
            track_dealloc(ptr);
        }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's guarantees for realloc are passed through unchanged.
        let p = unsafe { self.inner.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            let new = i64::try_from(new_size).unwrap_or(i64::MAX);
            record(new - size(layout), 0);
            if TRACKING.load(Relaxed) {
                track_dealloc(ptr);
                track_alloc(p, new_size);
            }
        }
        p
    }
}
