//! What exists only on Linux, as std's `os::linux`: another `/proc` and `/sys` root
//! ([`ProcFs`], psutil's `PROCFS_PATH`), cgroup memory, every `/proc/meminfo` line and I/O
//! scheduling classes. (Memory over time is [`crate::record`], on every OS.)
//!
//! "Read another /proc root" has one shape: a method on [`ProcFs`]
//! (`procfs.process(pid)`, `procfs.virtual_memory()`, `procfs.boot_time()`,
//! `procfs.disk_io_counters(..)`, `procfs.cgroup_memory()`, ...).
//!
//! ```
//! use memsight::linux::ProcFs;
//! let host = ProcFs::new("/proc");
//! assert!(host.virtual_memory()?.total > 0);
//! if let Some(cg) = memsight::linux::cgroup_memory()? {
//!     println!("cgroup working set {} of limit {:?}", cg.working_set, cg.limit);
//! }
//! # Ok::<(), memsight::Error>(())
//! ```

pub use crate::sys::cgroups::{
    Cgroup, CgroupMemory, CgroupMemoryEvents, CgroupMemoryStat, CgroupWalk, MemoryPressure,
    Pressure, StatKind, UnreadableCgroup, cgroup_memory, cgroups, memory_pressure,
};
pub use crate::sys::process::{IoClass, IoNice};
pub use crate::sys::procfs::ProcFs;
pub use crate::sys::system::{MeminfoField, MeminfoUnit, meminfo};
