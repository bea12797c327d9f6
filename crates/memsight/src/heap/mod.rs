//! The native heap: what the C allocator says is in use, handing free memory back to the OS, and
//! an exact counting allocator for the Rust heap.
//!
//! [`info`] and [`trim`] ask the allocator the process actually uses:
//! - glibc (the default): `mallinfo2()`, looked up at run time with `dlsym` so binaries still load
//!   on glibc older than 2.33, falling back to the deprecated `mallinfo()` (whose `int` fields wrap
//!   past 2 GiB; [`HeapInfo::legacy_mallinfo`] says so). `trim` is `malloc_trim(0)`. These are
//!   psutil's `heap_info()` / `heap_trim()`.
//! - jemalloc (cargo feature `jemalloc`, for programs whose global allocator is
//!   `tikv-jemallocator`): `stats.allocated` / `stats.mapped` after a `thread.tcache.flush` and an
//!   `epoch` advance; `trim` purges every arena.
//! - mimalloc (cargo feature `mimalloc`, for programs using the `mimalloc` crate): the committed
//!   bytes from `mi_process_info`; `trim` is `mi_collect(true)`.
//!
//! - Windows: the Win32 heaps, as psutil 8 reads them: `HeapWalk` over `GetProcessHeaps`,
//!   `VirtualQuery` for `VirtualAlloc`'d regions, and `HeapCompact` for `trim`.
//! - macOS: libmalloc, as psutil 8 reads it: `malloc_zone_statistics` summed over every zone
//!   (`malloc_get_all_zones`), and `malloc_zone_pressure_relief` on each zone for `trim`.
//! - FreeBSD: libc's own jemalloc, through `mallctl` (psutil 8's BSD `heap_info()`):
//!   `stats.allocated` / `stats.mapped` after a tcache flush and an `epoch` advance; `trim`
//!   purges every arena. A process whose `malloc` does not answer `mallctl("version")` gets
//!   [`Error::Unsupported`](crate::Error::Unsupported).
//!
//! On musl, or when `malloc` has been replaced by another allocator (LD_PRELOAD), both return
//! [`Error::Unsupported`](crate::Error::Unsupported) rather than a misleading number.
//!
//! [`CountingAlloc`] is a `#[global_allocator]` wrapper that counts live bytes and blocks of the
//! Rust heap exactly (per-thread sharded counters, a few ns per allocation).
//!
//! ```
//! let before = memsight::heap::info()?;
//! let v = vec![1u8; 64 * 1024];
//! let after = memsight::heap::info()?;
//! assert!(after.heap_used + after.mmap_used > before.heap_used + before.mmap_used);
//! drop(v);
//! memsight::heap::trim()?;
//! # Ok::<(), memsight::Error>(())
//! ```

mod counting;
#[cfg(feature = "jemalloc")]
mod jemalloc;
#[cfg(all(feature = "mimalloc", not(feature = "jemalloc")))]
mod mimalloc;

pub use counting::{CountingAlloc, RustHeapStats, Symbol, TrackedAlloc, Tracking};

use crate::error::Result;

/// What the native allocator reports about its heap, in bytes. psutil's `heap_info()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct HeapInfo {
    /// Bytes in allocated chunks, excluding chunks malloc mmapped itself. Windows: the busy blocks
    /// of every process heap (`HeapWalk`), Rust's `System` allocator included. glibc: `mallinfo2()`
    /// `uordblks`, summed over all arenas, in chunk sizes (a `malloc(1)` is a 32-byte chunk).
    /// macOS: `size_in_use` of `malloc_zone_statistics`, summed over every malloc zone.
    /// Chunks parked in glibc's per-thread tcache count as in use. jemalloc: `stats.allocated`;
    /// mimalloc: committed bytes (`mi_process_info` `current_commit`).
    pub heap_used: u64,
    /// Bytes in chunks the allocator mmapped individually (glibc: `hblkhd`, large allocations of
    /// 128 KiB or more by default; jemalloc: `stats.mapped`; mimalloc: 0). A raw `mmap()` by the
    /// program is not counted here. Windows: committed private read-write regions outside the
    /// heaps (`VirtualQuery`), i.e. what `VirtualAlloc` handed out, as psutil counts them.
    /// macOS: 0, as in psutil (libmalloc's large allocations are inside its zones' figures).
    pub mmap_used: u64,
    /// Windows only. The number of heaps (`GetProcessHeaps`): the default one, the CRT's, and one
    /// more for each `HeapCreate` not yet destroyed.
    #[cfg(windows)]
    pub heap_count: u64,
    /// The allocator the figures come from: `"glibc"`, `"jemalloc"`, `"mimalloc"`, `"windows"`
    /// (the Win32 heaps) or `"libmalloc"` (macOS's malloc zones).
    pub allocator: &'static str,
    /// Not on Windows. True when glibc lacks `mallinfo2` (before 2.33) and the figures come from
    /// `mallinfo()`, whose `int` fields wrap around past 2 GiB; false for every other allocator
    /// (always on macOS and FreeBSD).
    #[cfg(not(windows))]
    pub legacy_mallinfo: bool,
}

/// The native heap's figures right now (see [`HeapInfo`]). Cheap (about a microsecond) on a tidy
/// heap; glibc walks every free chunk, so it costs more on a fragmented one.
///
/// Fails with [`Error::Unsupported`](crate::Error::Unsupported) when the allocator in use gives
/// no such figures (musl, or a `malloc` replaced with LD_PRELOAD).
pub fn info() -> Result<HeapInfo> {
    backend::info()
}

/// Asks the allocator to hand free memory back to the OS: glibc `malloc_trim(0)`; Windows
/// `HeapCompact` of the default heap (true when a free block is left); macOS
/// `malloc_zone_pressure_relief` on every zone (true when a zone released bytes). Returns whether
/// any memory was released (glibc's return value; always `true` for jemalloc and mimalloc).
/// It does not change `heap_used`, which counts bytes in use; it lowers RSS and USS.
pub fn trim() -> Result<bool> {
    backend::trim()
}

#[cfg(not(any(feature = "jemalloc", feature = "mimalloc")))]
use crate::sys::heap as backend;
#[cfg(feature = "jemalloc")]
use jemalloc as backend;
#[cfg(all(feature = "mimalloc", not(feature = "jemalloc")))]
use mimalloc as backend;
