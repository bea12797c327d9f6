//! Who a process is and what it does on macOS: name, command line, environment, times, family,
//! status, ids (`kinfo_proc`, `KERN_PROCARGS2`, `PROC_PIDTASKINFO`).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use super::super::pure::errors::procargs_error;
use super::super::pure::kinfo::Kinfo;
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
    /// Backs [`crate::Process::name`], where it is documented with every OS's source.
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

    /// Backs [`crate::Process::cmdline`], where it is documented with every OS's source.
    pub fn cmdline(&self) -> Result<Vec<String>> {
        if self.pid == 0 {
            return Ok(Vec::new());
        }
        Ok(self.procargs()?.args)
    }

    /// Backs [`crate::Process::environ`], where it is documented with every OS's source.
    pub fn environ(&self) -> Result<BTreeMap<String, String>> {
        if self.pid == 0 {
            return Ok(BTreeMap::new());
        }
        Ok(procargs::parse_environ(&self.procargs()?.env))
    }

    /// Backs [`crate::Process::create_time`], where it is documented with every OS's source.
    pub fn create_time(&self) -> Result<f64> {
        let start = timeval_secs(self.start.0, self.start.1);
        let init = init_boot_time();
        Ok(adjust_create_time(start, init, boot::boot_time()?))
    }

    /// Backs [`crate::Process::ppid`], where it is documented with every OS's source.
    pub fn ppid(&self) -> Result<u32> {
        Ok(self.kinfo()?.ppid)
    }

    /// Backs [`crate::Process::parent`], where it is documented with every OS's source.
    pub fn parent(&self) -> Result<Option<Process>> {
        let ppid = self.ppid()?;
        match Process::new(ppid) {
            Ok(parent) if parent.start <= self.start => Ok(Some(parent)),
            Ok(_) | Err(crate::Error::NoSuchProcess { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Backs [`crate::Process::children`], where it is documented with every OS's source.
    pub fn children(&self, recursive: bool) -> Result<Vec<Process>> {
        self.kinfo()?;
        let all = all_kinfo()?;
        let link = |k: &Kinfo| (k.pid, k.ppid, k.start);
        Ok(
            crate::neutral::family::descendants(&all, link, self.pid, self.start, recursive)
                .into_iter()
                .map(|k| Process {
                    pid: k.pid,
                    start: k.start,
                })
                .collect(),
        )
    }

    /// Backs [`crate::Process::status`], where it is documented with every OS's source.
    pub fn status(&self) -> Result<ProcessStatus> {
        Ok(self.kinfo()?.status)
    }

    /// Backs [`crate::Process::uids`], where it is documented with every OS's source.
    pub fn uids(&self) -> Result<Uids> {
        Ok(self.kinfo()?.uids)
    }

    /// Backs [`crate::Process::gids`], where it is documented with every OS's source.
    pub fn gids(&self) -> Result<Gids> {
        Ok(self.kinfo()?.gids)
    }

    /// Backs [`crate::Process::username`], where it is documented with every OS's source.
    pub fn username(&self) -> Result<String> {
        let uid = self.uids()?.real;
        Ok(user::name_or_uid(uid))
    }

    /// Backs [`crate::Process::num_threads`], where it is documented with every OS's source.
    pub fn num_threads(&self) -> Result<u64> {
        Ok(self.task_info()?.pti_threadnum.max(0) as u64)
    }

    /// Backs [`crate::Process::cpu_times`], where it is documented with every OS's source.
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
