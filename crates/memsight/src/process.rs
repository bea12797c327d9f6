//! A process, and everything memsight can tell about it.
//!
//! A [`Process`] is a pid plus the identity the OS gave it (on Linux the start time and an
//! `O_PATH` descriptor of `/proc/PID`), so once the process has exited, every read fails with
//! [`Error::NoSuchProcess`](crate::Error::NoSuchProcess) even if the pid has been handed to a new
//! process: the handle never silently reads someone else.
//!
//! There is one [`Process`] type on every OS, over the backend the build chose: each method is
//! documented once, with a table of where its figure comes from on each OS. A method only some
//! systems have (psutil has them on POSIX or Linux only, `num_handles` on Windows) is on the same
//! type, compiled for those systems, and says so. [`Process::info`] reads them all into one
//! [`ProcessInfo`] (psutil's `as_dict()`), with one rule for what counts as denied.
//!
//! The records have psutil 8's names and, like psutil's, each OS's fields: every field says where
//! its number comes from. [`crate::linux`] holds what only Linux has.

#[cfg(feature = "serde")]
use serde::Serialize;

mod handle;
mod info;
mod scan;

pub use crate::neutral::{MemType, ProcessStatus};
#[cfg(windows)]
pub use crate::sys::process::AddressFamily;
pub use crate::sys::process::{CpuTimes, MemoryFullInfo, MemoryInfo, MemoryInfoEx, MemoryMap};
pub use handle::{Process, pids, process_iter};
pub use info::{Child, ProcessInfo};
pub use scan::{MemoryScan, ProcessMemory, memory_scan, memory_scan_pids};

#[cfg(any(target_os = "linux", windows))]
pub use crate::sys::process::{IoCounters, Thread};

#[cfg(target_os = "macos")]
pub use crate::sys::process::OpenFile;

#[cfg(target_os = "linux")]
pub use crate::sys::process::{
    Address, AddressFamily, Connection, ConnectionKind, ConnectionStatus, CtxSwitches, MapSizes,
    OpenFile, PageFaults, Resource, Rlimit, SocketType,
};

/// Lets a record that extends [`MemoryInfo`] (a `memory` field, flattened in JSON) be read as
/// one: `ex.rss` is `ex.memory.rss`. `MemoryInfo` is the one in scope where it is invoked (the
/// backend's record module). Not on FreeBSD, whose `memory_info_ex` and `memory_full_info` are
/// `MemoryInfo` itself, as in psutil (there only the Linux-built tests of the macOS records use it).
#[cfg_attr(target_os = "freebsd", allow(unused_macros))]
macro_rules! extends_memory_info {
    ($($record:ty),*) => {$(
        impl std::ops::Deref for $record {
            type Target = MemoryInfo;

            fn deref(&self) -> &MemoryInfo {
                &self.memory
            }
        }
    )*};
}
#[cfg_attr(target_os = "freebsd", allow(unused_imports))]
pub(crate) use extends_memory_info;

#[cfg(target_os = "freebsd")]
pub use crate::sys::process::{IoCounters, OpenFile};

/// psutil 8's `memory_footprint()` (`pfootprint`): the memory a process alone is responsible for,
/// in bytes. Costlier than [`MemoryInfo`]: the OS walks the page tables (Linux), the working set
/// (Windows) or the VM regions (macOS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct MemoryFootprint {
    /// Unique set size: memory that would be freed if the process exited now. Linux:
    /// `Private_Clean + Private_Dirty + Private_Hugetlb` of `/proc/PID/smaps_rollup` (or `smaps`).
    /// Windows: working-set pages not shared with another process (`QueryWorkingSet`) × the page
    /// size. macOS: resident pages of private and copy-on-write regions no other process
    /// references, outside the dyld shared region (`proc_pidinfo(PROC_PIDREGIONINFO)` per region)
    /// × the page size.
    pub uss: u64,
    /// Linux only. Proportional set size: each resident page divided by the number of processes
    /// mapping it (smaps `Pss`, without `SwapPss`).
    #[cfg(target_os = "linux")]
    pub pss: u64,
    /// Linux only. Swapped-out memory (smaps `Swap`, never `SwapPss`).
    #[cfg(target_os = "linux")]
    pub swap: u64,
}

/// The real, effective and saved set user ids of a process: psutil's `puids`. Unix only. Linux:
/// the `Uid:` line of `/proc/PID/status`. macOS: `kinfo_proc`'s `p_ruid`, `cr_uid`, `p_svuid`.
/// FreeBSD: `kinfo_proc`'s `ki_ruid`, `ki_uid`, `ki_svuid`.
#[cfg(unix)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct Uids {
    /// The real user id: who started the process.
    pub real: u32,
    /// The effective user id: whose permissions it has (differs from `real` for setuid programs).
    pub effective: u32,
    /// The saved set-user-id.
    pub saved: u32,
}

/// The real, effective and saved set group ids of a process: psutil's `pgids`. Unix only. Linux:
/// the `Gid:` line of `/proc/PID/status`. macOS: `kinfo_proc`'s `p_rgid`, `cr_groups[0]`,
/// `p_svgid`. FreeBSD: `kinfo_proc`'s `ki_rgid`, `ki_groups[0]`, `ki_svgid` (the effective group
/// is the first of the credential's groups there, as psutil takes it).
#[cfg(unix)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct Gids {
    /// The real group id.
    pub real: u32,
    /// The effective group id.
    pub effective: u32,
    /// The saved set-group-id.
    pub saved: u32,
}
