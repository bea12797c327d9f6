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
//! Every process, as psutil's `process_iter()`. The iterator yields `Result<Process>`, and each
//! read is a `Result` too: a process can exit, or deny access, between the listing and the read,
//! so a tool skips those instead of stopping.
//!
//! ```
//! let mut seen = 0;
//! for p in memsight::process_iter() {
//!     let Ok(p) = p else { continue }; // gone since the listing
//!     let (Ok(name), Ok(mem)) = (p.name(), p.memory_info()) else {
//!         continue; // exited or denied meanwhile
//!     };
//!     println!("{:>7} {:>12} {name}", p.pid(), mem.rss);
//!     seen += 1;
//! }
//! assert!(seen > 0, "this process at least");
//! ```
//!
//! The five processes with the most unique memory (USS: what exiting would free; reading it needs
//! the right to read the process's `smaps`, so others' are skipped without root):
//!
//! ```
//! let mut by_uss: Vec<(u64, u32, String)> = memsight::process_iter()
//!     .filter_map(Result::ok)
//!     .filter_map(|p| Some((p.memory_full_info().ok()?.uss, p.pid(), p.name().ok()?)))
//!     .collect();
//! by_uss.sort_unstable_by(|a, b| b.cmp(a));
//! for (uss, pid, name) in by_uss.iter().take(5) {
//!     println!("{pid:>7} {uss:>12} {name}");
//! }
//! # #[cfg(target_os = "linux")]
//! assert!(by_uss.iter().any(|&(_, pid, _)| pid == std::process::id()));
//! ```
//!
//! The public modules are OS-neutral and delegate to one backend per OS, chosen in one place
//! (`sys`); what exists only on Linux (another `/proc` root, cgroups, `/proc/meminfo` lines) is in
//! [`linux`].
//! Memory over time (a process tree sampled at an interval, with its peaks) is [`record`], on
//! every OS.

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
pub mod record;
mod sys;

// The pure parsers, for the fuzz targets in fuzz/ only: not part of the API.
#[cfg(all(feature = "fuzzing", target_os = "linux"))]
#[doc(hidden)]
pub mod fuzzing;

pub use error::{Error, Result};
pub use process::{
    MemType, MemoryFootprint, MemoryFullInfo, MemoryInfo, MemoryInfoEx, MemoryMap, MemoryScan,
    Process, ProcessMemory, memory_scan, memory_scan_pids, pids, process_iter,
};
pub use sys::boot::boot_time;
#[cfg(any(target_os = "linux", windows))]
pub use sys::disk::{DiskIo, DiskIoCounters, disk_io_counters, disk_io_counters_cache_clear};
#[cfg(any(target_os = "linux", windows))]
pub use sys::net::{NicAddr, net_if_addrs};
pub use sys::system::{SwapMemory, VirtualMemory, page_size, swap_memory, virtual_memory};

#[cfg(unix)]
pub use process::{Gids, Uids};
