//! memsight tells the truth about memory on Linux: the whole system's (as procps `free` reports
//! it), each process's (RSS, USS, PSS, swap, maps), the cgroup's, and the native heap's.
//!
//! Every size is in bytes (`u64`) and every time in seconds. Record field names follow psutil, so
//! `--json` output and Python users see familiar keys.
//!
//! ```
//! let me = memsight::Process::current()?;
//! println!("pid {} uses {} bytes of RSS", me.pid(), me.memory_info()?.rss);
//! # Ok::<(), memsight::Error>(())
//! ```

mod cgroup;
mod error;
pub mod process;
mod procfs;
mod system;

pub use cgroup::{CgroupMemory, MemoryPressure, Pressure, cgroup_memory};
pub use error::{Error, Result};
pub use process::Process;
pub use procfs::ProcFs;
pub use system::*;
