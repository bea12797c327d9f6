//! A process on macOS: its pid plus its start time (`p_starttime` of `kinfo_proc`, in
//! microseconds).
//!
//! macOS has no handle that pins a pid, so every getter checks the identity *after* its read: if
//! the pid still has the same start time, the read was of this process (a pid never goes back to
//! an old process); otherwise the getter fails with [`Error::NoSuchProcess`].

mod files;
mod info;
mod memory;

use super::pure::errors::{PidState, process_error};
use super::pure::kinfo::{Kinfo, kinfo};
use super::pure::layout::KinfoProc;
pub use super::pure::records::{
    CpuTimes, MemoryFullInfo, MemoryInfo, MemoryInfoEx, MemoryMap, OpenFile, ProcessStatus,
};
use super::{errno, sysctl};
use crate::error::{Error, Result};
pub use crate::neutral::MemType;
use crate::sys::unix::user;

/// A handle on one process (macOS): the pid and its start time. Equality is identity: same pid
/// and start time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    pid: u32,
    /// `p_starttime` as (seconds, microseconds).
    start: (i64, i32),
}

/// Reads `kinfo_proc` of `pid` (`sysctl({CTL_KERN, KERN_PROC, KERN_PROC_PID, pid})`); `None`
/// when no process has it. Works for any uid and for zombies.
fn read_kinfo(pid: u32) -> Result<Option<Kinfo>> {
    let mib = [
        libc::CTL_KERN,
        libc::KERN_PROC,
        libc::KERN_PROC_PID,
        pid as libc::c_int,
    ];
    let (k, len) =
        sysctl::read(&mib, KinfoProc::zeroed()).map_err(|e| sysctl::error("kern.proc.pid", e))?;
    Ok((len >= std::mem::size_of::<KinfoProc>()).then(|| kinfo(&k)))
}

/// Every process's `kinfo_proc` (`sysctl({CTL_KERN, KERN_PROC, KERN_PROC_ALL})`, retried while
/// the table grows).
fn all_kinfo() -> Result<Vec<Kinfo>> {
    let buf = sysctl::sysctl_vec(&[libc::CTL_KERN, libc::KERN_PROC, libc::KERN_PROC_ALL, 0])
        .map_err(|e| sysctl::error("kern.proc.all", e))?;
    Ok(buf
        .chunks_exact(std::mem::size_of::<KinfoProc>())
        .map(|chunk| {
            // SAFETY: the chunk holds size_of::<KinfoProc>() bytes; KinfoProc is plain integers
            // and arrays, valid for any bits; read_unaligned needs no alignment.
            kinfo(&unsafe { std::ptr::read_unaligned(chunk.as_ptr().cast::<KinfoProc>()) })
        })
        .collect())
}

/// The ids of every process (`KERN_PROC_ALL`), ascending; includes 0 (`kernel_task`). psutil's
/// `pids()`.
pub fn pids() -> Result<Vec<u32>> {
    let mut pids: Vec<u32> = all_kinfo()?.iter().map(|k| k.pid).collect();
    pids.sort_unstable();
    pids.dedup();
    Ok(pids)
}

/// Every process, in pid order; processes that exit meanwhile are errors in the iterator.
/// psutil's `process_iter()`.
pub fn process_iter() -> impl Iterator<Item = Result<Process>> {
    let (list, err) = match pids() {
        Ok(list) => (list, None),
        Err(e) => (Vec::new(), Some(e)),
    };
    err.into_iter()
        .map(Err)
        .chain(list.into_iter().map(Process::new))
}

impl Process {
    /// Backs [`crate::Process::new`], where it is documented with every OS's source.
    pub fn new(pid: u32) -> Result<Process> {
        let k = read_kinfo(pid)?.ok_or(Error::NoSuchProcess { pid, name: None })?;
        Ok(Process {
            pid,
            start: k.start,
        })
    }

    /// Backs [`crate::Process::pid`], where it is documented with every OS's source.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Backs [`crate::Process::is_running`], where it is documented with every OS's source.
    pub fn is_running(&self) -> bool {
        self.kinfo().is_ok()
    }

    fn no_such(&self) -> Error {
        Error::NoSuchProcess {
            pid: self.pid,
            name: None,
        }
    }

    /// This process's `kinfo_proc`, checked to be the same process.
    pub(crate) fn kinfo(&self) -> Result<Kinfo> {
        match read_kinfo(self.pid)? {
            Some(k) if k.start == self.start => Ok(k),
            _ => Err(self.no_such()),
        }
    }

    /// What the pid is now: gone (or reused), a zombie, or alive.
    pub(crate) fn state(&self) -> PidState {
        match self.kinfo() {
            Ok(k) if k.status == ProcessStatus::Zombie => PidState::Zombie,
            Ok(_) => PidState::Alive,
            Err(_) => PidState::Gone,
        }
    }

    /// The error for a failed call `api` that set `errno` (psutil's mapping).
    pub(crate) fn fail(&self, api: &str, errno: i32) -> Error {
        process_error(self.pid, api, errno, self.state())
    }

    /// `value` read by pid, kept only if the pid still is this process afterwards.
    pub(crate) fn checked<T>(&self, value: T) -> Result<T> {
        self.kinfo()?;
        Ok(value)
    }

    /// `proc_pidinfo(pid, flavor, arg)` into a `T`; a failed or short answer is mapped as
    /// psutil's `psutil_proc_pidinfo` does. Not identity-checked: see [`checked`](Self::checked).
    pub(crate) fn pidinfo_raw<T: Copy>(&self, flavor: libc::c_int, arg: u64, zero: T) -> Result<T> {
        let mut value = zero;
        let size = std::mem::size_of::<T>() as libc::c_int;
        // SAFETY: `value` is a live, writable `T` of `size` bytes.
        let ret = unsafe {
            libc::proc_pidinfo(
                self.pid as libc::c_int,
                flavor,
                arg,
                (&raw mut value).cast(),
                size,
            )
        };
        if ret <= 0 {
            return Err(self.fail("proc_pidinfo", errno()));
        }
        if ret < size {
            return Err(self.fail("proc_pidinfo (short answer)", 0));
        }
        Ok(value)
    }

    /// [`pidinfo_raw`](Self::pidinfo_raw), identity-checked.
    pub(crate) fn pidinfo<T: Copy>(&self, flavor: libc::c_int, arg: u64, zero: T) -> Result<T> {
        let value = self.pidinfo_raw(flavor, arg, zero)?;
        self.checked(value)
    }

    /// `proc_pidinfo(PROC_PIDTASKINFO)`.
    pub(crate) fn task_info(&self) -> Result<libc::proc_taskinfo> {
        // SAFETY: proc_taskinfo is plain data; all-zero is valid.
        let zero: libc::proc_taskinfo = unsafe { std::mem::zeroed() };
        self.pidinfo(libc::PROC_PIDTASKINFO, 0, zero)
    }
}
