//! A process, and everything memsight can tell about it.
//!
//! A [`Process`] is a pid plus the identity the OS gave it (on Linux the start time and an
//! `O_PATH` descriptor of `/proc/PID`), so once the process has exited, every read fails with
//! [`Error::NoSuchProcess`](crate::Error::NoSuchProcess) even if the pid has been handed to a new
//! process: the handle never silently reads someone else.
//!
//! The records have psutil 8's names and, like psutil's, each OS's fields: every field says where
//! its number comes from. Items marked Linux exist only there (psutil has them on POSIX or Linux
//! only); [`crate::linux`] holds what only Linux has.

#[cfg(feature = "serde")]
use serde::Serialize;

#[cfg(windows)]
pub use crate::sys::process::AddressFamily;
pub use crate::sys::process::{
    CpuTimes, IoCounters, MemType, MemoryFullInfo, MemoryInfo, MemoryInfoEx, MemoryMap, Process,
    ProcessStatus, Thread, pids, process_iter,
};

#[cfg(target_os = "linux")]
pub use crate::sys::process::{
    Address, AddressFamily, Child, Connection, ConnectionKind, ConnectionStatus, CtxSwitches, Gids,
    MapSizes, MemoryScan, OpenFile, PageFaults, ProcessInfo, ProcessMemory, Resource, Rlimit,
    SocketType, Uids, memory_scan,
};

/// Lets a record that extends [`MemoryInfo`] (a `memory` field, flattened in JSON) be read as
/// one: `ex.rss` is `ex.memory.rss`.
macro_rules! extends_memory_info {
    ($($record:ty),*) => {$(
        impl std::ops::Deref for $record {
            type Target = $crate::process::MemoryInfo;

            fn deref(&self) -> &$crate::process::MemoryInfo {
                &self.memory
            }
        }
    )*};
}
pub(crate) use extends_memory_info;

/// psutil 8's `memory_footprint()` (`pfootprint`): the memory a process alone is responsible for,
/// in bytes. Costlier than [`MemoryInfo`]: the OS walks the page tables (Linux) or the working set
/// (Windows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct MemoryFootprint {
    /// Unique set size: memory that would be freed if the process exited now. Linux:
    /// `Private_Clean + Private_Dirty + Private_Hugetlb` of `/proc/PID/smaps_rollup` (or `smaps`).
    /// Windows: working-set pages not shared with another process (`QueryWorkingSet`) × the page
    /// size.
    pub uss: u64,
    /// Linux only. Proportional set size: each resident page divided by the number of processes
    /// mapping it (smaps `Pss`, without `SwapPss`).
    #[cfg(target_os = "linux")]
    pub pss: u64,
    /// Linux only. Swapped-out memory (smaps `Swap`, never `SwapPss`).
    #[cfg(target_os = "linux")]
    pub swap: u64,
}
