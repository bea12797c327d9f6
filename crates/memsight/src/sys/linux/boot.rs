//! When the system booted.

use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use crate::error::Result;
use crate::sys::procfs::{ProcFs, proc_stat};

/// The time the system booted, in seconds since the Unix epoch (`btime` of `/proc/stat`).
/// psutil's `boot_time()`.
///
/// ```
/// let booted = memsight::boot_time()?;
/// assert!(booted > 1e9);
/// # Ok::<(), memsight::Error>(())
/// ```
pub fn boot_time() -> Result<f64> {
    ProcFs::default().boot_time()
}

impl ProcFs {
    /// [`boot_time`] under this procfs root.
    pub fn boot_time(&self) -> Result<f64> {
        Ok(self.parse_proc("stat", proc_stat::parse_btime)? as f64)
    }
}

/// The boot time used to turn start ticks into create times. `btime` does not change while the
/// system runs, so it is read once per procfs root (`/proc/stat` is long on big machines).
pub(crate) fn boot_time_of(procfs: &ProcFs) -> Result<f64> {
    static CACHE: Mutex<Vec<(PathBuf, f64)>> = Mutex::new(Vec::new());
    let root = procfs.proc_root();
    if let Some((_, t)) = CACHE
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .find(|(r, _)| r == root)
    {
        return Ok(*t);
    }
    let t = procfs.boot_time()?;
    CACHE
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push((root.to_path_buf(), t));
    Ok(t)
}
