//! The Windows records (psutil 8's Windows fields) and the pure conversions that fill them from
//! raw API values, one file per topic as the calls are split. No FFI here: this module is also
//! compiled into the Linux unit tests.
// The Linux unit tests use only part of what the Windows backend takes from here.
#![cfg_attr(not(windows), allow(unused_imports, dead_code))]

mod disk;
mod memory;
mod net;
mod process;
mod system;

pub use disk::DiskIo;
pub(crate) use memory::{
    is_virtual_alloc_region, prot, working_set_ex_resident, working_set_ex_uss, working_set_uss,
};
pub use net::{AddressFamily, NicAddr};
pub use process::{
    CpuTimes, IoCounters, MemoryFullInfo, MemoryInfo, MemoryInfoEx, MemoryMap, Thread,
};
pub(crate) use process::{
    SnapshotProcess, basename, parse_environ_block, parse_snapshot, split_command_line,
    status_from_threads,
};
pub(crate) use system::{PerfPages, swap_memory, virtual_memory};
pub use system::{SwapMemory, VirtualMemory};

pub use crate::neutral::{MemType, ProcessStatus};

/// 100 ns intervals between 1601-01-01 (FILETIME's epoch) and 1970-01-01.
const EPOCH_DIFFERENCE: u64 = 116_444_736_000_000_000;

/// A FILETIME point in time as seconds since the Unix epoch (psutil's `create_time`).
pub(crate) fn filetime_to_unix(ft: u64) -> f64 {
    (ft as f64 - EPOCH_DIFFERENCE as f64) / 1e7
}

/// A FILETIME duration (100 ns units) in seconds.
pub(crate) fn filetime_secs(ft: u64) -> f64 {
    ft as f64 * 1e-7
}

/// The two halves of a `FILETIME` as one number.
pub(crate) fn filetime(low: u32, high: u32) -> u64 {
    (u64::from(high) << 32) | u64::from(low)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filetimes() {
        assert_eq!(filetime_to_unix(EPOCH_DIFFERENCE), 0.0);
        assert_eq!(filetime_to_unix(EPOCH_DIFFERENCE + 15_000_000), 1.5);
        assert_eq!(filetime_secs(25_000_000), 2.5);
        assert_eq!(filetime(1, 2), (2 << 32) | 1);
    }
}
