//! memsight tells the truth about memory on Linux: the whole system's (as procps `free` reports
//! it), each process's (RSS, USS, PSS, swap, maps), the cgroup's, and the native heap's.
//!
//! Every size is in bytes (`u64`) and every time in seconds. Record field names follow psutil, so
//! `--json` output and Python users see familiar keys.
//!
//! ```
//! // System memory exactly as procps `free` reports it (psutil's `virtual_memory()`).
//! let mem = memsight::virtual_memory()?;
//! println!("{} of {} bytes available ({}% used)", mem.available, mem.total, mem.percent);
//!
//! // The cgroup's limit, when one applies (containers, systemd slices).
//! if let Some(cg) = memsight::cgroup_memory()? {
//!     println!("cgroup working set {} of limit {:?}", cg.working_set, cg.limit);
//! }
//!
//! let me = memsight::Process::current()?;
//! println!("pid {} uses {} bytes of RSS", me.pid(), me.memory_info()?.rss);
//! # Ok::<(), memsight::Error>(())
//! ```

#![warn(clippy::unwrap_used, clippy::expect_used)]

mod boot;
mod cgroup;
pub mod constants;
mod disk;
mod error;
pub mod heap;
mod net;
pub mod process;
mod procfs;
pub mod record;
mod system;

pub use boot::{boot_time, boot_time_with};
pub use cgroup::{CgroupMemory, MemoryPressure, Pressure, cgroup_memory};
pub use disk::{
    DiskIo, DiskIoCounters, disk_io_counters, disk_io_counters_cache_clear, disk_io_counters_with,
};
pub use error::{Error, Result};
pub use net::{NicAddr, net_if_addrs};
pub use process::{
    Gids, MemType, MemoryFullInfo, MemoryInfo, MemoryInfoEx, MemoryMap, MemoryScan, Process,
    ProcessMemory, Uids, memory_scan, pids, process_iter,
};
pub use procfs::ProcFs;
pub use system::*;
