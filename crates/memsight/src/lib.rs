//! memsight tells the truth about memory: the whole system's (on Linux as procps `free` reports
//! it), each process's (RSS, USS, PSS, swap, maps), the cgroups', and the native heap's, on Linux,
//! Windows, macOS and FreeBSD (psutil's figures for each OS; Linux has the most).
//!
//! Every size is in bytes (`u64`) and every time in seconds. Record field names follow psutil, so
//! `--json` output and Python users see familiar keys.
//!
//! Numbers read from the kernel are trusted only as far as their syntax: one that is not a decimal
//! `u64` is an [`Error::Parse`] naming the file and line, and every conversion, sum and product of
//! them (kB × 1024, pages × page size, `Cached + SReclaimable`, grouped mappings, totals)
//! saturates at `u64::MAX`. A corrupt or hostile `/proc` gives a figure pinned at the maximum,
//! never a panic or a wrapped small one.
//!
//! ```
//! // System memory exactly as procps `free` reports it (psutil's `virtual_memory()`).
//! let mem = memsight::virtual_memory()?;
//! println!("{} of {} bytes available ({}% used)", mem.available, mem.total, mem.percent);
//!
//! let me = memsight::Process::current()?;
//! println!("pid {} uses {} bytes of RSS", me.pid(), me.memory_info()?.rss);
//! # Ok::<(), memsight::Error>(())
//! ```
//!
//! The public modules are OS-neutral and delegate to one backend per OS, chosen in one place
//! (`sys`); what exists only on Linux (another `/proc` root, cgroups, `/proc/meminfo` lines) is in
//! [`linux`].

#![warn(clippy::unwrap_used, clippy::expect_used)]
// clippy 1.96 flags std's own `thread_local!` expansion on Windows even with a `const` initializer.
#![cfg_attr(windows, allow(clippy::missing_const_for_thread_local))]

pub mod constants;
mod error;
pub mod heap;
#[cfg(target_os = "linux")]
pub mod linux;
mod neutral;
pub mod process;
#[cfg(target_os = "linux")]
pub mod record;
mod sys;

pub use error::{Error, Result};
pub use process::{
    MemType, MemoryFootprint, MemoryFullInfo, MemoryInfo, MemoryInfoEx, MemoryMap, Process, pids,
    process_iter,
};
pub use sys::boot::boot_time;
#[cfg(any(target_os = "linux", windows))]
pub use sys::disk::{DiskIo, DiskIoCounters, disk_io_counters, disk_io_counters_cache_clear};
#[cfg(any(target_os = "linux", windows))]
pub use sys::net::{NicAddr, net_if_addrs};
pub use sys::system::{SwapMemory, VirtualMemory, page_size, swap_memory, virtual_memory};

#[cfg(unix)]
pub use process::{Gids, Uids};
#[cfg(target_os = "linux")]
pub use process::{MemoryScan, ProcessMemory, memory_scan};
