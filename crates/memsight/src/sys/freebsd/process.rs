//! A process on FreeBSD: a pid plus its start time (`ki_start`), read from `kinfo_proc`
//! (`sysctl kern.proc.pid.PID`) and the `kern.proc.*` buffers.
//!
//! Every getter reads the process's `kinfo_proc` again and checks the start time, so once the
//! process has exited every read fails with [`Error::NoSuchProcess`] even if its pid was reused.
//! Getters that read another sysctl check it after reading, so what they return belonged to this
//! process.

use std::collections::BTreeMap;
use std::ffi::{OsString, c_int};
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;

use super::records::buffers;
pub use super::records::process::{
    CpuTimes, IoCounters, MemType, MemoryFullInfo, MemoryInfo, MemoryInfoEx, MemoryMap, OpenFile,
    ProcessStatus,
};
use super::records::process::{
    Kinfo, P_SYSTEM, SZOMB, TimeVal, cpu_times, io_counters, memory_info, process_error,
};
use super::{sysctl_into, sysctl_vec, user};
use crate::error::{Error, Result};
use crate::neutral::maps::group_maps;
use crate::neutral::name;
use crate::process::{Gids, MemoryFootprint, Uids};

/// Copies the fields memsight uses out of the kernel's `kinfo_proc`.
fn kinfo_of(k: &libc::kinfo_proc) -> Kinfo {
    let tv = |t: libc::timeval| TimeVal {
        sec: t.tv_sec,
        usec: t.tv_usec,
    };
    let comm: Vec<u8> = k.ki_comm.iter().map(|&c| c as u8).collect();
    Kinfo {
        pid: k.ki_pid as u32,
        ppid: k.ki_ppid as u32,
        start: tv(k.ki_start),
        ruid: k.ki_ruid,
        uid: k.ki_uid,
        svuid: k.ki_svuid,
        rgid: k.ki_rgid,
        group0: k.ki_groups[0],
        svgid: k.ki_svgid,
        size: k.ki_size as u64,
        rssize: k.ki_rssize as i64,
        tsize: k.ki_tsize as i64,
        dsize: k.ki_dsize as i64,
        ssize: k.ki_ssize as i64,
        maxrss: k.ki_rusage.ru_maxrss,
        utime: tv(k.ki_rusage.ru_utime),
        stime: tv(k.ki_rusage.ru_stime),
        children_utime: tv(k.ki_rusage_ch.ru_utime),
        children_stime: tv(k.ki_rusage_ch.ru_stime),
        inblock: k.ki_rusage.ru_inblock,
        oublock: k.ki_rusage.ru_oublock,
        numthreads: k.ki_numthreads,
        stat: k.ki_stat,
        flag: k.ki_flag,
        comm: buffers::c_chars(&comm),
    }
}

/// The `kinfo_proc`s in a `kern.proc.*` buffer (whole structs, back to back).
fn kinfos(buf: &[u8]) -> Vec<Kinfo> {
    buf.chunks_exact(std::mem::size_of::<libc::kinfo_proc>())
        .map(|chunk| {
            // SAFETY: `chunk` holds a whole `kinfo_proc` (plain data), read without alignment.
            let k = unsafe { std::ptr::read_unaligned(chunk.as_ptr().cast::<libc::kinfo_proc>()) };
            kinfo_of(&k)
        })
        .collect()
}

/// The `kinfo_proc` of `pid` (`sysctl {CTL_KERN, KERN_PROC, KERN_PROC_PID, pid}`), psutil's
/// `psutil_kinfo_proc`: an empty answer or `ESRCH` is [`Error::NoSuchProcess`].
fn kinfo(pid: u32) -> Result<Kinfo> {
    // FreeBSD pids are at most 99999; one that is not a positive `pid_t` names no process.
    let Ok(raw_pid) = c_int::try_from(pid) else {
        return Err(Error::NoSuchProcess { pid, name: None });
    };
    let mut buf = vec![0u8; std::mem::size_of::<libc::kinfo_proc>()];
    let mib = [
        libc::CTL_KERN,
        libc::KERN_PROC,
        libc::KERN_PROC_PID,
        raw_pid,
    ];
    match sysctl_into(&mib, &mut buf) {
        Ok(0) => Err(Error::NoSuchProcess { pid, name: None }),
        Ok(n) if n == buf.len() => kinfos(&buf)
            .into_iter()
            .next()
            .ok_or(Error::NoSuchProcess { pid, name: None }),
        Ok(n) => Err(Error::Unsupported(format!(
            "kern.proc.pid returned a {n}-byte kinfo_proc, memsight reads {} bytes",
            buf.len()
        ))),
        Err(e) => Err(process_error(
            pid,
            "kern.proc.pid",
            e.raw_os_error().unwrap_or(0),
            false,
        )),
    }
}

/// Every process's `kinfo_proc` (`sysctl {CTL_KERN, KERN_PROC, KERN_PROC_PROC, 0}`: one entry per
/// process, not per thread).
fn table() -> Result<Vec<Kinfo>> {
    let buf = sysctl_vec(&[libc::CTL_KERN, libc::KERN_PROC, libc::KERN_PROC_PROC, 0])
        .map_err(|e| Error::call_failed("kern.proc.proc", e))?;
    Ok(kinfos(&buf))
}

/// The ids of every process (`kern.proc.proc`), ascending; includes 0 (the kernel). psutil's
/// `pids()`.
pub fn pids() -> Result<Vec<u32>> {
    let mut pids: Vec<u32> = table()?.iter().map(|k| k.pid).collect();
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

/// A handle on one process (FreeBSD): the pid and its start time. Equality is identity: same pid
/// and start time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    pid: u32,
    start: TimeVal,
}

impl Process {
    /// Backs [`crate::Process::new`], where it is documented with every OS's source.
    pub fn new(pid: u32) -> Result<Process> {
        let k = kinfo(pid)?;
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

    /// This process's `kinfo_proc`, checked to be the same process.
    fn kinfo(&self) -> Result<Kinfo> {
        let k = kinfo(self.pid)?;
        if k.start != self.start {
            return Err(self.gone());
        }
        Ok(k)
    }

    fn gone(&self) -> Error {
        Error::NoSuchProcess {
            pid: self.pid,
            name: None,
        }
    }

    /// The buffer of `sysctl {CTL_KERN, KERN_PROC, what, pid}`, checked afterwards to be this
    /// process's. Errors are mapped as psutil maps them, `ESRCH` on a zombie being
    /// [`Error::ZombieProcess`].
    fn proc_buffer(&self, what: c_int, name: &'static str) -> Result<Vec<u8>> {
        let read = sysctl_vec(&[libc::CTL_KERN, libc::KERN_PROC, what, self.pid as c_int]);
        let k = self.kinfo()?;
        read.map_err(|e| {
            process_error(
                self.pid,
                name,
                e.raw_os_error().unwrap_or(0),
                k.stat == SZOMB,
            )
        })
    }

    /// The file table (`kern.proc.filedesc.PID`, what libutil's `kinfo_getfile` reads).
    fn files(&self) -> Result<Vec<buffers::FileEntry>> {
        let buf = self.proc_buffer(libc::KERN_PROC_FILEDESC, "kern.proc.filedesc")?;
        Ok(buffers::file_entries(&buf))
    }

    /// Backs [`crate::Process::memory_info`], where it is documented with every OS's source.
    pub fn memory_info(&self) -> Result<MemoryInfo> {
        Ok(memory_info(&self.kinfo()?, super::system::page_size()))
    }

    /// Backs [`crate::Process::memory_info_ex`], where it is documented with every OS's source.
    pub fn memory_info_ex(&self) -> Result<MemoryInfoEx> {
        self.memory_info()
    }

    /// Backs [`crate::Process::memory_full_info`], where it is documented with every OS's source.
    pub fn memory_full_info(&self) -> Result<MemoryFullInfo> {
        self.memory_info()
    }

    /// Backs [`crate::Process::memory_footprint`], where it is documented with every OS's source.
    pub fn memory_footprint(&self) -> Result<MemoryFootprint> {
        self.kinfo()?;
        Err(Error::Unsupported(
            "memory_footprint (USS) on FreeBSD: the kernel gives no per-process USS; \
             memory_maps()' private is the per-mapping figure"
                .to_string(),
        ))
    }

    /// The [`MemType`] field of `memory_info`, for the neutral `memory_percent`.
    pub(crate) fn memory_value(&self, memtype: MemType) -> Result<u64> {
        memtype.of(&self.memory_info()?)
    }

    /// Total RAM for `memory_percent`: `virtual_memory().total`.
    pub(crate) fn total_ram(&self) -> Result<u64> {
        Ok(super::system::virtual_memory()?.total)
    }

    /// Backs [`crate::Process::memory_maps`], where it is documented with every OS's source.
    pub fn memory_maps(&self, grouped: bool) -> Result<Vec<MemoryMap>> {
        let buf = self.proc_buffer(libc::KERN_PROC_VMMAP, "kern.proc.vmmap")?;
        let page_size = super::system::page_size();
        let maps: Vec<MemoryMap> = buffers::vm_entries(&buf)
            .iter()
            .map(|e| buffers::memory_map(e, page_size))
            .collect();
        Ok(if grouped { group_maps(maps) } else { maps })
    }

    /// Backs [`crate::Process::name`], where it is documented with every OS's source.
    pub fn name(&self) -> Result<String> {
        let comm = String::from_utf8_lossy(&self.kinfo()?.comm).into_owned();
        if !name::may_be_cut(comm.as_bytes()) {
            return Ok(comm);
        }
        Ok(match self.cmdline() {
            Ok(args) => name::extended_name(comm, &args),
            Err(_) => comm,
        })
    }

    /// Backs [`crate::Process::exe`], where it is documented with every OS's source.
    pub fn exe(&self) -> Result<PathBuf> {
        if self.pid == 0 {
            return Ok(PathBuf::new());
        }
        let mut buf = vec![0u8; libc::PATH_MAX as usize];
        let mib = [
            libc::CTL_KERN,
            libc::KERN_PROC,
            libc::KERN_PROC_PATHNAME,
            self.pid as c_int,
        ];
        let read = sysctl_into(&mib, &mut buf);
        let k = self.kinfo()?;
        match read {
            Ok(n) => Ok(PathBuf::from(OsString::from_vec(buffers::c_chars(
                &buf[..n],
            )))),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(PathBuf::new()),
            Err(e) => Err(process_error(
                self.pid,
                "kern.proc.pathname",
                e.raw_os_error().unwrap_or(0),
                k.stat == SZOMB,
            )),
        }
    }

    /// Backs [`crate::Process::cmdline`], where it is documented with every OS's source.
    pub fn cmdline(&self) -> Result<Vec<String>> {
        let buf = self.proc_buffer(libc::KERN_PROC_ARGS, "kern.proc.args")?;
        Ok(buffers::args(&buf))
    }

    /// Backs [`crate::Process::environ`], where it is documented with every OS's source.
    pub fn environ(&self) -> Result<BTreeMap<String, String>> {
        let k = self.kinfo()?;
        if k.stat == SZOMB {
            return Err(Error::ZombieProcess {
                pid: self.pid,
                name: None,
            });
        }
        if k.flag & P_SYSTEM != 0 {
            return Ok(BTreeMap::new());
        }
        let buf = self.proc_buffer(libc::KERN_PROC_ENV, "kern.proc.env")?;
        Ok(buffers::environ(&buf))
    }

    /// Backs [`crate::Process::cwd`], where it is documented with every OS's source.
    pub fn cwd(&self) -> Result<PathBuf> {
        Ok(buffers::cwd(&self.files()?).unwrap_or_default())
    }

    /// Backs [`crate::Process::num_fds`], where it is documented with every OS's source.
    pub fn num_fds(&self) -> Result<usize> {
        Ok(buffers::num_fds(&self.files()?))
    }

    /// Backs [`crate::Process::open_files`], where it is documented with every OS's source.
    pub fn open_files(&self) -> Result<Vec<OpenFile>> {
        Ok(buffers::open_files(&self.files()?))
    }

    /// Backs [`crate::Process::cpu_times`], where it is documented with every OS's source.
    pub fn cpu_times(&self) -> Result<CpuTimes> {
        Ok(cpu_times(&self.kinfo()?))
    }

    /// Backs [`crate::Process::io_counters`], where it is documented with every OS's source.
    pub fn io_counters(&self) -> Result<IoCounters> {
        Ok(io_counters(&self.kinfo()?))
    }

    /// Backs [`crate::Process::status`], where it is documented with every OS's source.
    pub fn status(&self) -> Result<ProcessStatus> {
        Ok(ProcessStatus::from_stat(self.kinfo()?.stat))
    }

    /// Backs [`crate::Process::ppid`], where it is documented with every OS's source.
    pub fn ppid(&self) -> Result<u32> {
        Ok(self.kinfo()?.ppid)
    }

    /// Backs [`crate::Process::parent`], where it is documented with every OS's source.
    pub fn parent(&self) -> Result<Option<Process>> {
        let ppid = self.ppid()?;
        if ppid == self.pid {
            return Ok(None);
        }
        match Process::new(ppid) {
            Ok(parent) if parent.start <= self.start => Ok(Some(parent)),
            Ok(_) | Err(Error::NoSuchProcess { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Backs [`crate::Process::children`], where it is documented with every OS's source.
    pub fn children(&self, recursive: bool) -> Result<Vec<Process>> {
        self.kinfo()?;
        let table = table()?;
        let link = |k: &Kinfo| (k.pid, k.ppid, k.start);
        Ok(
            crate::neutral::family::descendants(&table, link, self.pid, self.start, recursive)
                .into_iter()
                .map(|k| Process {
                    pid: k.pid,
                    start: k.start,
                })
                .collect(),
        )
    }

    /// Backs [`crate::Process::create_time`], where it is documented with every OS's source.
    pub fn create_time(&self) -> Result<f64> {
        Ok(self.start.secs())
    }

    /// Backs [`crate::Process::uids`], where it is documented with every OS's source.
    pub fn uids(&self) -> Result<Uids> {
        let k = self.kinfo()?;
        Ok(Uids {
            real: k.ruid,
            effective: k.uid,
            saved: k.svuid,
        })
    }

    /// Backs [`crate::Process::gids`], where it is documented with every OS's source.
    pub fn gids(&self) -> Result<Gids> {
        let k = self.kinfo()?;
        Ok(Gids {
            real: k.rgid,
            effective: k.group0,
            saved: k.svgid,
        })
    }

    /// Backs [`crate::Process::username`], where it is documented with every OS's source.
    pub fn username(&self) -> Result<String> {
        let uid = self.uids()?.real;
        Ok(user::name_or_uid(uid))
    }

    /// Backs [`crate::Process::num_threads`], where it is documented with every OS's source.
    pub fn num_threads(&self) -> Result<u64> {
        Ok(u64::try_from(self.kinfo()?.numthreads).unwrap_or(0))
    }
}
