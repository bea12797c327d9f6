//! Who a process is and what it does on macOS: name, command line, environment, times, family,
//! status, ids (`kinfo_proc`, `KERN_PROCARGS2`, `PROC_PIDTASKINFO`).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use super::super::pure::errors::procargs_error;
use super::super::pure::procargs::{self, ProcArgs};
use super::super::pure::records::{
    adjust_create_time, ticks_to_secs, timebase_frequency, timeval_secs,
};
use super::super::{boot, errno, sysctl};
use super::{CpuTimes, Process, ProcessStatus, all_kinfo, user};
use crate::error::Result;
use crate::neutral::name;
use crate::process::{Gids, Uids};

/// The Mach tick rate in Hz: `sysctl hw.tbfrequency`, read once (psutil reads it at import); if
/// that fails, from `mach_timebase_info`.
fn tbfrequency() -> u64 {
    static FREQ: OnceLock<u64> = OnceLock::new();
    *FREQ.get_or_init(|| {
        sysctl::uint_by_name(c"hw.tbfrequency").unwrap_or_else(|_| {
            let mut tb = mach2::mach_time::mach_timebase_info { numer: 0, denom: 0 };
            // SAFETY: `tb` is a local the call fills.
            unsafe { mach2::mach_time::mach_timebase_info(&mut tb) };
            timebase_frequency(tb.numer, tb.denom)
        })
    })
}

/// The boot time when memsight first needed it (psutil's `INIT_BOOT_TIME`, read at import).
fn init_boot_time() -> f64 {
    static INIT: OnceLock<f64> = OnceLock::new();
    *INIT.get_or_init(|| boot::boot_time().unwrap_or(0.0))
}

impl Process {
    /// The process name: `p_comm` of `kinfo_proc` (at most 16 bytes); when that is 15 characters
    /// or more and the base name of the first argument starts with it, that base name instead
    /// (psutil's rule). Works for zombies.
    pub fn name(&self) -> Result<String> {
        let comm = self.kinfo()?.comm;
        if !name::may_be_cut(comm.as_bytes()) {
            return Ok(comm);
        }
        Ok(match self.cmdline() {
            Ok(args) => name::extended_name(comm, &args),
            Err(_) => comm,
        })
    }

    /// `sysctl({CTL_KERN, KERN_PROCARGS2, pid})` into a `kern.argmax`-byte buffer, split.
    fn procargs(&self) -> Result<ProcArgs> {
        let (argmax, _) = sysctl::read(&[libc::CTL_KERN, libc::KERN_ARGMAX], 0 as libc::c_int)
            .map_err(|e| sysctl::error("kern.argmax", e))?;
        let mut buf = vec![0u8; argmax.max(4096) as usize];
        let mut len = buf.len();
        let mut mib = [
            libc::CTL_KERN,
            libc::KERN_PROCARGS2,
            self.pid as libc::c_int,
        ];
        // SAFETY: `buf` has `len` writable bytes; the mib is a live local array.
        let rc = unsafe {
            libc::sysctl(
                mib.as_mut_ptr(),
                mib.len() as libc::c_uint,
                buf.as_mut_ptr().cast(),
                &mut len,
                std::ptr::null_mut(),
                0,
            )
        };
        if rc != 0 {
            return Err(procargs_error(self.pid, errno(), self.state()));
        }
        buf.truncate(len);
        self.checked(procargs::parse(&buf))
    }

    /// The command line (`KERN_PROCARGS2`), one string per argument (invalid UTF-8 replaced).
    /// pid 0 gives an empty list; another user's process
    /// [`Error::AccessDenied`](crate::Error::AccessDenied); a zombie
    /// [`Error::ZombieProcess`](crate::Error::ZombieProcess).
    pub fn cmdline(&self) -> Result<Vec<String>> {
        if self.pid == 0 {
            return Ok(Vec::new());
        }
        Ok(self.procargs()?.args)
    }

    /// The environment (`KERN_PROCARGS2`, after the arguments), psutil's POSIX parsing: keys
    /// keep their case, entries without `=` are skipped. Since macOS 11 another process's
    /// environment is mostly empty (SIP). pid 0 gives an empty map.
    pub fn environ(&self) -> Result<BTreeMap<String, String>> {
        if self.pid == 0 {
            return Ok(BTreeMap::new());
        }
        Ok(procargs::parse_environ(&self.procargs()?.env))
    }

    /// When the process started, in seconds since the Unix epoch (`p_starttime` of
    /// `kinfo_proc`), moved as psutil's `adjust_proc_create_time` does when the wall clock was
    /// set since memsight first read the boot time.
    pub fn create_time(&self) -> Result<f64> {
        let start = timeval_secs(self.start.0, self.start.1);
        let init = init_boot_time();
        Ok(adjust_create_time(start, init, boot::boot_time()?))
    }

    /// The parent's pid (`e_ppid` of `kinfo_proc`).
    pub fn ppid(&self) -> Result<u32> {
        Ok(self.kinfo()?.ppid)
    }

    /// The parent process, if it is still running and started before this one (psutil's check
    /// against a reused parent pid); `None` otherwise.
    pub fn parent(&self) -> Result<Option<Process>> {
        let ppid = self.ppid()?;
        match Process::new(ppid) {
            Ok(parent) if parent.start <= self.start => Ok(Some(parent)),
            Ok(_) | Err(crate::Error::NoSuchProcess { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The children (with `recursive`, all descendants) from one `KERN_PROC_ALL` snapshot's
    /// parent links, kept only if they started after their parent (a reused parent pid is not a
    /// parent), in pid order.
    pub fn children(&self, recursive: bool) -> Result<Vec<Process>> {
        self.kinfo()?;
        let all = all_kinfo()?;
        let links: Vec<(u32, u32, (i64, i32))> =
            all.iter().map(|k| (k.pid, k.ppid, k.start)).collect();
        Ok(
            crate::neutral::family::descendants(&links, self.pid, self.start, recursive)
                .into_iter()
                .filter_map(|pid| {
                    let k = all.iter().find(|k| k.pid == pid)?;
                    Some(Process {
                        pid,
                        start: k.start,
                    })
                })
                .collect(),
        )
    }

    /// The state (psutil's `convert_status` over `kinfo_proc`); a zombie is
    /// [`ProcessStatus::Zombie`], not running.
    pub fn status(&self) -> Result<ProcessStatus> {
        Ok(self.kinfo()?.status)
    }

    /// The real, effective and saved user ids (`kinfo_proc`).
    pub fn uids(&self) -> Result<Uids> {
        Ok(self.kinfo()?.uids)
    }

    /// The real, effective and saved group ids (`kinfo_proc`).
    pub fn gids(&self) -> Result<Gids> {
        Ok(self.kinfo()?.gids)
    }

    /// The login name of the real user id (`getpwuid_r(3)`), or the uid as decimal text when the
    /// user database has no entry for it, as psutil does.
    pub fn username(&self) -> Result<String> {
        let uid = self.uids()?.real;
        Ok(user::user_name(uid).unwrap_or_else(|| uid.to_string()))
    }

    /// Threads (`pti_threadnum` of `PROC_PIDTASKINFO`).
    pub fn num_threads(&self) -> Result<u64> {
        Ok(self.task_info()?.pti_threadnum.max(0) as u64)
    }

    /// User and system time (`pti_total_user`, `pti_total_system` of `PROC_PIDTASKINFO`, Mach
    /// ticks ÷ `hw.tbfrequency`), seconds; children's times are 0.
    pub fn cpu_times(&self) -> Result<CpuTimes> {
        let t = self.task_info()?;
        let hz = tbfrequency();
        Ok(CpuTimes {
            user: ticks_to_secs(t.pti_total_user, hz),
            system: ticks_to_secs(t.pti_total_system, hz),
            children_user: 0.0,
            children_system: 0.0,
        })
    }
}
