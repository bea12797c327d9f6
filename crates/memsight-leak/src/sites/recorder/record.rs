//! The recorder: live blocks and their stacks, in tables mapped once and never freed through
//! the allocators they watch. Everything here may run inside a `malloc` hook on any thread: no
//! allocation, no blocking lock (a spin lock held only around table updates, never across a
//! call out), and a per-thread guard so a hook re-entered from its own work records nothing.
#![allow(unsafe_code)]

use std::cell::Cell;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::*};

use super::{Domain, MAX_EXTRA_FRAMES};

/// Native frames kept per stack, innermost first (the unwinder's and the hook's own included).
pub(crate) const DEPTH: usize = 48;
/// Distinct stacks a session can hold; allocations from further new stacks are dropped (and
/// counted).
const STACKS: usize = 1 << 14;
/// Live blocks a session can hold (a power of two; kept at most 3/4 full).
const BLOCKS: usize = 1 << 19;
/// Snapshots of live bytes and blocks kept per stack: before the first attribution batch and
/// after each of at most `HIST - 1`.
pub(crate) const HIST: usize = 9;

/// One distinct stack and the live blocks allocated from it.
#[derive(Clone, Copy)]
#[repr(C)]
pub(crate) struct Stack {
    /// 0: free slot.
    hash: u64,
    pub(crate) len: u32,
    pub(crate) extra_len: u32,
    pub(crate) domain: u8,
    pub(crate) via: u8,
    pub(crate) ips: [usize; DEPTH],
    pub(crate) extra: [usize; MAX_EXTRA_FRAMES],
    pub(crate) live_bytes: i64,
    pub(crate) live_blocks: i64,
    /// `[live bytes, live blocks]` at each snapshot (zero before the stack was first seen).
    pub(crate) hist: [[i64; 2]; HIST],
}

/// One live block: its key (address with the domain in the top byte; 0: free) and size.
#[derive(Clone, Copy)]
#[repr(C)]
struct Block {
    key: usize,
    size: usize,
    stack: u32,
}

/// The tables, in one anonymous mapping (zero-filled: every slot starts free).
#[repr(C)]
struct Tables {
    /// Slots of `stacks` in use, in order of first use (stack slot indices).
    used: [u32; STACKS],
    n_used: usize,
    blocks_live: usize,
    stacks: [Stack; STACKS],
    blocks: [Block; BLOCKS],
}

// Each struct is plain data laid out as written: the mapping is zero-filled and read as such.
const _: () = assert!(std::mem::size_of::<Block>() == 24);
const _: () = assert!(std::mem::offset_of!(Block, stack) == 16);
const _: () =
    assert!(std::mem::size_of::<Stack>() == 24 + 8 * DEPTH + 8 * MAX_EXTRA_FRAMES + 16 + 16 * HIST);

/// The functions a block can come from, by the index stored in [`Stack::via`].
pub(crate) const VIA: [&str; 15] = [
    "malloc",
    "calloc",
    "realloc",
    "posix_memalign",
    "aligned_alloc",
    "memalign",
    "valloc",
    "pvalloc",
    "strdup",
    "strndup",
    "mmap",
    "PyMem_RawMalloc",
    "PyMem_Malloc",
    "PyObject_Malloc",
    "",
];

/// Index in [`VIA`] of `name`.
pub(crate) const fn via(name: &str) -> u8 {
    let mut i = 0;
    while i < VIA.len() {
        if str_eq(VIA[i], name) {
            return i as u8;
        }
        i += 1;
    }
    (VIA.len() - 1) as u8
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// New allocations are recorded (the calls of a batch).
static ARMED: AtomicBool = AtomicBool::new(false);
/// A session is on: frees are looked up (between batches too).
static ACTIVE: AtomicBool = AtomicBool::new(false);
/// The spin lock around the tables.
static LOCK: AtomicBool = AtomicBool::new(false);
/// The tables' address (0 until the first session maps them).
static TABLES: AtomicUsize = AtomicUsize::new(0);
/// Allocations not recorded for want of room, this session.
static DROPPED: AtomicU64 = AtomicU64::new(0);
/// The front end's `ExtraFrames::capture`, as an address (0: none).
static EXTRA_CAPTURE: AtomicUsize = AtomicUsize::new(0);
/// The front end's `ExtraFrames::resolve`, as an address (0: none).
static EXTRA_RESOLVE: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Depth of recorder or `untracked` code on this thread: nothing is recorded while > 0.
    static DEPTH_IN: Cell<u32> = const { Cell::new(0) };
    /// The harness's stack pointer around the tested function's call on this thread (0: none):
    /// the walk stops at frames outer to it (the harness and the test runner).
    static STOP_SP: Cell<usize> = const { Cell::new(0) };
}

/// Stops this thread's stack walks at the caller of the function running now (its frames
/// and those outer to it are the harness's), until [`stop_walks_at`] with 0.
pub(crate) fn stop_walks_at(sp: usize) {
    let _ = STOP_SP.try_with(|s| s.set(sp));
}

/// This thread inside recorder code, until dropped.
pub(crate) struct Inside(());

impl Inside {
    /// `None` when this thread is already inside (or its thread-locals are gone).
    pub(crate) fn enter() -> Option<Inside> {
        match DEPTH_IN.try_with(|d| {
            let v = d.get();
            d.set(v + 1);
            v
        }) {
            Ok(0) => Some(Inside(())),
            Ok(_) => {
                let _ = DEPTH_IN.try_with(|d| d.set(d.get() - 1));
                None
            }
            Err(_) => None,
        }
    }
}

impl Drop for Inside {
    fn drop(&mut self) {
        let _ = DEPTH_IN.try_with(|d| d.set(d.get().saturating_sub(1)));
    }
}

/// Runs `f` with this thread's recording off.
pub(crate) fn untracked<R>(f: impl FnOnce() -> R) -> R {
    struct Restore;
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = DEPTH_IN.try_with(|d| d.set(d.get().saturating_sub(1)));
        }
    }
    let _ = DEPTH_IN.try_with(|d| d.set(d.get() + 1));
    let _restore = Restore;
    f()
}

/// The tables locked, until dropped.
struct Locked(&'static mut Tables);

impl Drop for Locked {
    fn drop(&mut self) {
        LOCK.store(false, Release);
    }
}

/// Takes the spin lock (yielding the CPU after a short spin, so a holder that was preempted
/// gets to run) and returns the tables, or `None` before the first session.
fn lock() -> Option<Locked> {
    let mut spins = 0u32;
    while LOCK
        .compare_exchange_weak(false, true, Acquire, Relaxed)
        .is_err()
    {
        spins += 1;
        if spins < 64 {
            std::hint::spin_loop();
        } else {
            // SAFETY: sched_yield has no preconditions.
            unsafe { libc::sched_yield() };
        }
    }
    let t = TABLES.load(Relaxed);
    if t == 0 {
        LOCK.store(false, Release);
        return None;
    }
    // SAFETY: TABLES holds the address of a live mapping of size_of::<Tables>() bytes, zero
    // filled at creation, never unmapped; the spin lock held until `Locked` drops makes this the
    // only reference to it.
    Some(Locked(unsafe { &mut *(t as *mut Tables) }))
}

/// Whether a new allocation would be recorded now.
pub(crate) fn is_recording() -> bool {
    ARMED.load(Relaxed)
}

/// Whether a session is on.
pub(crate) fn is_active() -> bool {
    ACTIVE.load(Relaxed)
}

fn key(ptr: usize, domain: Domain) -> usize {
    (ptr & 0x00ff_ffff_ffff_ffff) | ((domain as usize + 1) << 56)
}

fn block_slot(key: usize) -> usize {
    (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40) & (BLOCKS - 1)
}

/// Records an allocation of `size` bytes at `ptr` (a hook or a front end's wrapper).
#[inline(never)]
pub(crate) fn record_alloc(ptr: usize, size: usize, domain: Domain, via: u8) {
    if ptr == 0 || !ARMED.load(Relaxed) {
        return;
    }
    let Some(_inside) = Inside::enter() else {
        return;
    };
    let mut ips = [0usize; DEPTH];
    let mut len = 0usize;
    let stop = STOP_SP.try_with(Cell::get).unwrap_or(0);
    // SAFETY: a walk of this thread's own stack with libgcc's _Unwind_Backtrace (thread-safe,
    // no allocation on the dl_iterate_phdr path); "unsynchronized" skips only the backtrace
    // crate's global lock, which must not be taken inside an allocator. The closure writes
    // into the array on this frame, bounded by DEPTH.
    unsafe {
        backtrace::trace_unsynchronized(|frame| {
            // The stack grows down: a frame above the harness's stack pointer is outside the
            // tested function (walking the test runner's frames costs as much as the rest).
            if stop != 0 && frame.sp() as usize > stop {
                return false;
            }
            ips[len] = frame.ip() as usize;
            len += 1;
            len < DEPTH
        });
    }
    let mut extra = [0usize; MAX_EXTRA_FRAMES];
    let mut extra_len = 0usize;
    let capture = EXTRA_CAPTURE.load(Relaxed);
    if capture != 0 {
        // SAFETY: the address was stored by `set_extra` from a `fn(&mut [usize]) -> usize`.
        let capture: fn(&mut [usize]) -> usize = unsafe { std::mem::transmute(capture) };
        extra_len = capture(&mut extra).min(MAX_EXTRA_FRAMES);
    }
    let Some(mut t) = lock() else {
        return;
    };
    if !ACTIVE.load(Relaxed) {
        return;
    }
    let Some(stack) = intern(&mut t, &ips[..len], &extra[..extra_len], domain, via) else {
        DROPPED.fetch_add(1, Relaxed);
        return;
    };
    let k = key(ptr, domain);
    // A block already there (its free went unseen): forget the old one first.
    remove(&mut t, k);
    if t.0.blocks_live >= BLOCKS / 4 * 3 {
        DROPPED.fetch_add(1, Relaxed);
        return;
    }
    let mut i = block_slot(k);
    while t.0.blocks[i].key != 0 {
        i = (i + 1) & (BLOCKS - 1);
    }
    t.0.blocks[i] = Block {
        key: k,
        size,
        stack,
    };
    t.0.blocks_live += 1;
    let s = &mut t.0.stacks[stack as usize];
    s.live_bytes += size as i64;
    s.live_blocks += 1;
}

/// Records that the block at `ptr` was freed (looked up while a session is on).
#[inline(never)]
pub(crate) fn record_free(ptr: usize, domain: Domain) {
    if ptr == 0 || !ACTIVE.load(Relaxed) {
        return;
    }
    let Some(_inside) = Inside::enter() else {
        return;
    };
    if let Some(mut t) = lock() {
        remove(&mut t, key(ptr, domain));
    }
}

/// An `munmap` of `len` bytes at `ptr`: the mapping recorded there is forgotten, or shrunk
/// from the front when only its start is unmapped.
pub(crate) fn record_unmap(ptr: usize, len: usize) {
    if ptr == 0 || !ACTIVE.load(Relaxed) {
        return;
    }
    let Some(_inside) = Inside::enter() else {
        return;
    };
    let Some(mut t) = lock() else {
        return;
    };
    if let Some((size, stack)) = remove(&mut t, key(ptr, Domain::Mmap)) {
        let page = 4096;
        let cut = len.div_ceil(page) * page;
        if cut < size {
            let k = key(ptr + cut, Domain::Mmap);
            let mut i = block_slot(k);
            while t.0.blocks[i].key != 0 {
                i = (i + 1) & (BLOCKS - 1);
            }
            t.0.blocks[i] = Block {
                key: k,
                size: size - cut,
                stack,
            };
            t.0.blocks_live += 1;
            let s = &mut t.0.stacks[stack as usize];
            s.live_bytes += (size - cut) as i64;
            s.live_blocks += 1;
        }
    }
}

/// Removes block `k` (backward-shift deletion keeps linear probing exact); returns its size
/// and stack.
fn remove(t: &mut Locked, k: usize) -> Option<(usize, u32)> {
    let blocks = &mut t.0.blocks;
    let mut i = block_slot(k);
    loop {
        let b = blocks[i];
        if b.key == 0 {
            return None;
        }
        if b.key == k {
            break;
        }
        i = (i + 1) & (BLOCKS - 1);
    }
    let gone = blocks[i];
    // Shift later members of the probe run back into the hole.
    let mut hole = i;
    let mut j = (i + 1) & (BLOCKS - 1);
    while blocks[j].key != 0 {
        let home = block_slot(blocks[j].key);
        // Can blocks[j] move to `hole`? Only if its home is not in (hole, j] cyclically.
        let between = if hole <= j {
            hole < home && home <= j
        } else {
            hole < home || home <= j
        };
        if !between {
            blocks[hole] = blocks[j];
            hole = j;
        }
        j = (j + 1) & (BLOCKS - 1);
    }
    blocks[hole] = Block {
        key: 0,
        size: 0,
        stack: 0,
    };
    t.0.blocks_live -= 1;
    let s = &mut t.0.stacks[gone.stack as usize];
    s.live_bytes -= gone.size as i64;
    s.live_blocks -= 1;
    Some((gone.size, gone.stack))
}

/// The slot of this stack, added if new; `None` when the table is full.
fn intern(t: &mut Locked, ips: &[usize], extra: &[usize], domain: Domain, via: u8) -> Option<u32> {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ ((domain as u64) << 8 | via as u64);
    for &v in ips.iter().chain(extra) {
        h = (h ^ v as u64).wrapping_mul(0x0100_0000_01b3);
    }
    let h = h | 1;
    let mut i = (h as usize) & (STACKS - 1);
    for _ in 0..STACKS {
        let s = &mut t.0.stacks[i];
        if s.hash == 0 {
            if t.0.n_used >= STACKS / 4 * 3 {
                return None;
            }
            s.hash = h;
            s.len = ips.len() as u32;
            s.extra_len = extra.len() as u32;
            s.domain = domain as u8;
            s.via = via;
            s.ips[..ips.len()].copy_from_slice(ips);
            s.extra[..extra.len()].copy_from_slice(extra);
            let n = t.0.n_used;
            t.0.used[n] = i as u32;
            t.0.n_used += 1;
            return Some(i as u32);
        }
        if s.hash == h
            && s.domain == domain as u8
            && s.via == via
            && s.ips[..s.len as usize] == *ips
            && s.extra[..s.extra_len as usize] == *extra
        {
            return Some(i as u32);
        }
        i = (i + 1) & (STACKS - 1);
    }
    None
}

/// Snapshot `k`: every stack's live bytes and blocks now, kept in the stack's history. No
/// allocation.
pub(crate) fn snapshot(k: usize) {
    if k >= HIST {
        return;
    }
    let _inside = Inside::enter();
    let Some(t) = lock() else {
        return;
    };
    let n = t.0.n_used;
    for j in 0..n {
        let i = t.0.used[j] as usize;
        let s = &mut t.0.stacks[i];
        s.hist[k] = [s.live_bytes, s.live_blocks];
    }
}

/// Calls `f` with every stack, under the tables' lock: `f` must not allocate or free (a hook
/// on this thread would wait for the lock it holds).
pub(crate) fn for_each_stack(mut f: impl FnMut(&Stack)) {
    let _inside = Inside::enter();
    let Some(t) = lock() else {
        return;
    };
    for &i in &t.0.used[..t.0.n_used] {
        f(&t.0.stacks[i as usize]);
    }
}

/// Allocations dropped for want of room in this session.
pub(crate) fn dropped() -> u64 {
    DROPPED.load(Relaxed)
}

/// Starts a session: maps the tables the first time, empties them, looks frees up from now.
/// Allocations are recorded once [`arm`]ed. Fails only when the tables cannot be mapped.
pub(crate) fn start() -> Result<(), String> {
    static AT_FORK: Once = Once::new();
    AT_FORK.call_once(|| {
        // SAFETY: registers a plain function with no captured state, run in the child after a
        // fork: it only stores to atomics (async-signal-safe).
        unsafe { libc::pthread_atfork(None, None, Some(in_forked_child)) };
    });
    let size = std::mem::size_of::<Tables>();
    if TABLES.load(Relaxed) == 0 {
        // SAFETY: an anonymous private mapping; the result is checked before use.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                size,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(format!(
                "cannot map {size} bytes for allocation tables: {}",
                std::io::Error::last_os_error()
            ));
        }
        TABLES.store(p as usize, Relaxed);
    }
    clear();
    DROPPED.store(0, Relaxed);
    ACTIVE.store(true, Relaxed);
    Ok(())
}

/// Empties the tables and gives their pages back (they read as zeros again), under the lock.
fn clear() {
    let Some(t) = lock() else {
        return;
    };
    let p = std::ptr::from_mut(t.0).cast::<libc::c_void>();
    // SAFETY: MADV_DONTNEED on our own private anonymous mapping: its pages read as zeros next
    // time, the all-free state; nobody else touches it while the lock is held.
    unsafe { libc::madvise(p, std::mem::size_of::<Tables>(), libc::MADV_DONTNEED) };
}

/// Records new allocations (`true`) or not (`false`); frees are looked up either way.
pub(crate) fn arm(on: bool) {
    ARMED.store(on && ACTIVE.load(Relaxed), Relaxed);
}

/// Ends the session: nothing more is recorded or looked up; the tables are emptied.
pub(crate) fn end() {
    ARMED.store(false, Relaxed);
    ACTIVE.store(false, Relaxed);
    clear();
}

/// In a forked child: its allocations are not the check's, and the parent's lock holder does
/// not exist there.
extern "C" fn in_forked_child() {
    ARMED.store(false, Relaxed);
    ACTIVE.store(false, Relaxed);
    LOCK.store(false, Release);
}

/// Sets the front end's frame capture.
pub(crate) fn set_extra(capture: usize, resolve: usize) {
    EXTRA_RESOLVE.store(resolve, Relaxed);
    EXTRA_CAPTURE.store(capture, Relaxed);
}

/// The front end's resolver, if one is set.
pub(crate) fn extra_resolve() -> Option<fn(usize) -> Option<super::SiteFrame>> {
    let r = EXTRA_RESOLVE.load(Relaxed);
    // SAFETY: the address was stored by `set_extra` from a
    // `fn(usize) -> Option<SiteFrame>`.
    (r != 0)
        .then(|| unsafe { std::mem::transmute::<usize, fn(usize) -> Option<super::SiteFrame>>(r) })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one test of the process-wide tables (lib tests run on threads of one process).
    #[test]
    fn blocks_are_found_after_any_order_of_inserts_and_removals() {
        start().unwrap();
        arm(true);
        // Addresses 16 bytes apart collide in runs; an xorshift picks the removals.
        let ptrs: Vec<usize> = (1..=5000).map(|i| 0x5555_0000_0000 + i * 16).collect();
        for &p in &ptrs {
            record_alloc(p, 10, Domain::Malloc, via("malloc"));
        }
        // The same address in another domain is another block.
        record_alloc(ptrs[0], 7, Domain::PyObj, via("PyObject_Malloc"));
        arm(false);
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut kept = Vec::new();
        for &p in &ptrs {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if x.is_multiple_of(3) {
                kept.push(p);
            } else {
                record_free(p, Domain::Malloc);
            }
        }
        snapshot(0);
        let (mut bytes, mut blocks) = (0, 0);
        for_each_stack(|s| {
            assert_eq!(s.hist[0], [s.live_bytes, s.live_blocks]);
            bytes += s.live_bytes;
            blocks += s.live_blocks;
        });
        assert_eq!(blocks, kept.len() as i64 + 1);
        assert_eq!(bytes, kept.len() as i64 * 10 + 7);
        // Every kept block is still found (removal kept the probe runs whole).
        let mut t = lock().unwrap();
        for &p in &kept {
            assert!(remove(&mut t, key(p, Domain::Malloc)).is_some(), "{p:#x}");
        }
        assert!(remove(&mut t, key(ptrs[0], Domain::PyObj)).is_some());
        assert_eq!(t.0.blocks_live, 0);
        drop(t);
        // Freed while not armed still counts; a second free of the same block is ignored.
        record_free(ptrs[0], Domain::Malloc);
        end();
        assert!(!is_active() && !is_recording());
    }
}
