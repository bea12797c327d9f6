//! The Linux backend: `/proc` and `/sys` readers ([`procfs`], pure parsers plus [`ProcFs`]), the
//! [`Process`](process::Process) internals (an `O_PATH` descriptor of `/proc/PID` and the
//! `oneshot` cache), system memory, cgroups (every one, and one process's), disks, boot time, network interfaces and glibc's heap.
//!
//! [`ProcFs`]: procfs::ProcFs

pub(crate) mod boot;
pub(crate) mod cgroups;
pub(crate) mod disk;
pub(crate) mod exact;
#[cfg(not(any(feature = "jemalloc", feature = "mimalloc")))]
pub(crate) mod glibc;
pub(crate) mod net;
pub(crate) mod process;
pub(crate) mod procfs;
pub(crate) mod system;

#[cfg(not(any(feature = "jemalloc", feature = "mimalloc")))]
pub(crate) use glibc as heap;
