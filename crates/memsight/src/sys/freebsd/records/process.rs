//! The FreeBSD process records (psutil 8's FreeBSD fields) and the conversions from a
//! `kinfo_proc` (copied into [`Kinfo`]) and from errno values.

use std::io;
use std::path::PathBuf;

use super::pages;
use crate::error::{Error, Result};
use crate::neutral::Os;

/// Memory figures of a process, in bytes: psutil 8's `pmem` on FreeBSD, from its `kinfo_proc`
/// (`sysctl kern.proc.pid.PID`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MemoryInfo {
    /// Resident pages (`ki_rssize`) × the page size.
    pub rss: u64,
    /// The size of the address space (`ki_size`, bytes).
    pub vms: u64,
    /// Text (code) pages (`ki_tsize`) × the page size.
    pub text: u64,
    /// Data pages (`ki_dsize`) × the page size.
    pub data: u64,
    /// Stack pages (`ki_ssize`) × the page size.
    pub stack: u64,
    /// The largest RSS so far: `ki_rusage.ru_maxrss` (KiB) × 1024, raised to `rss` when the
    /// kernel's lazily updated maximum is below it; 0 for kernel processes.
    pub peak_rss: u64,
}

/// psutil 8's `memory_info_ex()` on FreeBSD: the same record as [`MemoryInfo`] (`pmem_ex = pmem`).
pub type MemoryInfoEx = MemoryInfo;

/// psutil's `memory_full_info()` on FreeBSD: the same record as [`MemoryInfo`] (FreeBSD has no
/// USS figure, `pfullmem = pmem`).
pub type MemoryFullInfo = MemoryInfo;

/// One mapping of a process's address space (`sysctl kern.proc.vmmap.PID`, a
/// `kinfo_vmentry`): psutil 8's `pmmap_ext` on FreeBSD.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MemoryMap {
    /// `start-end` in hex, as psutil prints it (`0x800200000-0x800219000`); empty when grouped.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "String::is_empty"))]
    pub addr: String,
    /// `r`/`w`/`x` or `-` for each (`kve_protection`); empty when grouped.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "String::is_empty"))]
    pub perms: String,
    /// The mapped file (`kve_path`), or psutil's placeholder for the object type when there is
    /// none: `[none]`, `[default]`, `[vnode]`, `[swap]`, `[device]`, `[phys]`, `[dead]`, `[sg]`,
    /// `[unknown]`, `[?]`.
    pub path: String,
    /// Resident pages of the mapping (`kve_resident`) × the page size.
    pub rss: u64,
    /// Resident pages private to this process (`kve_private_resident`) × the page size.
    pub private: u64,
    /// References to the backing VM object (`kve_ref_count`); summed when grouped, as psutil does.
    pub ref_count: u64,
    /// Shadow objects of the backing VM object (`kve_shadow_count`); summed when grouped.
    pub shadow_count: u64,
}

/// Seconds a process spent on the CPU (`ki_rusage` and `ki_rusage_ch` `ru_utime`/`ru_stime`).
/// psutil's `pcputimes` on FreeBSD.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct CpuTimes {
    /// Time in user mode, seconds.
    pub user: f64,
    /// Time in the kernel on the process's behalf, seconds.
    pub system: f64,
    /// User time of reaped children, seconds.
    pub children_user: f64,
    /// System time of reaped children, seconds.
    pub children_system: f64,
}

/// Block I/O operations of a process (`ki_rusage.ru_inblock`/`ru_oublock`). psutil's `pio` on
/// FreeBSD, whose byte fields are always -1 there (the kernel counts no bytes), so memsight leaves
/// them out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct IoCounters {
    /// Block input operations (`ru_inblock`).
    pub read_count: u64,
    /// Block output operations (`ru_oublock`).
    pub write_count: u64,
}

/// A regular file a process has open (`sysctl kern.proc.filedesc.PID`, a `kinfo_file` of type
/// `KF_TYPE_VNODE` and vnode type `KF_VTYPE_VREG`). psutil's `popenfile` on FreeBSD.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct OpenFile {
    /// The path (`kf_path`); empty when the kernel no longer knows it (psutil #595).
    pub path: PathBuf,
    /// The descriptor number (`kf_fd`).
    pub fd: u32,
    /// The file offset in bytes (`kf_offset`).
    pub position: u64,
}

pub use crate::neutral::{MemType, ProcessStatus};

impl ProcessStatus {
    /// The status for a `ki_stat` value (`<sys/proc.h>`: `SIDL` 1 … `SLOCK` 7).
    pub(crate) fn from_stat(stat: i8) -> ProcessStatus {
        match stat {
            1 => ProcessStatus::Idle,
            2 => ProcessStatus::Running,
            3 => ProcessStatus::Sleeping,
            4 => ProcessStatus::Stopped,
            SZOMB => ProcessStatus::Zombie,
            6 => ProcessStatus::Waiting,
            7 => ProcessStatus::Locked,
            _ => ProcessStatus::Unknown,
        }
    }
}

/// `SZOMB` of `<sys/proc.h>`.
pub(crate) const SZOMB: i8 = 5;
/// `P_SYSTEM` of `<sys/proc.h>`: a kernel process (no environment, no signals).
pub(crate) const P_SYSTEM: i64 = 0x0000_0200;

impl MemType {
    /// The chosen field of `m`, or [`Error::Unsupported`] for a name FreeBSD does not have.
    pub(crate) fn of(self, m: &MemoryInfo) -> Result<u64> {
        self.check_on(Os::FreeBsd)?;
        Ok(match self {
            MemType::Rss => m.rss,
            MemType::Vms => m.vms,
            MemType::Text => m.text,
            MemType::Data => m.data,
            MemType::Stack => m.stack,
            MemType::PeakRss => m.peak_rss,
            _ => 0,
        })
    }
}

/// A `struct timeval` (seconds, microseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub(crate) struct TimeVal {
    pub sec: i64,
    pub usec: i64,
}

impl TimeVal {
    /// The value in seconds.
    pub(crate) fn secs(self) -> f64 {
        self.sec as f64 + self.usec as f64 / 1e6
    }
}

/// The `kinfo_proc` fields memsight uses, copied out of the kernel's struct.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Kinfo {
    pub pid: u32,
    pub ppid: u32,
    /// `ki_start`: when the process started (wall clock).
    pub start: TimeVal,
    pub ruid: u32,
    pub uid: u32,
    pub svuid: u32,
    pub rgid: u32,
    /// `ki_groups[0]`.
    pub group0: u32,
    pub svgid: u32,
    /// `ki_size`, bytes.
    pub size: u64,
    /// `ki_rssize`, `ki_tsize`, `ki_dsize`, `ki_ssize`: pages.
    pub rssize: i64,
    pub tsize: i64,
    pub dsize: i64,
    pub ssize: i64,
    /// `ki_rusage.ru_maxrss`, KiB.
    pub maxrss: i64,
    pub utime: TimeVal,
    pub stime: TimeVal,
    pub children_utime: TimeVal,
    pub children_stime: TimeVal,
    pub inblock: i64,
    pub oublock: i64,
    pub numthreads: i32,
    pub stat: i8,
    pub flag: i64,
    /// `ki_comm`, up to its NUL.
    pub comm: Vec<u8>,
}

/// psutil 8's FreeBSD `memory_info()` (`arch/bsd/proc.c`): page counts × the page size, and the
/// lazily updated `ru_maxrss` raised to the current RSS.
pub(crate) fn memory_info(k: &Kinfo, page_size: u64) -> MemoryInfo {
    let rss = pages(k.rssize, page_size);
    let mut peak_rss = u64::try_from(k.maxrss).unwrap_or(0).saturating_mul(1024);
    if peak_rss != 0 && peak_rss < rss {
        peak_rss = rss;
    }
    MemoryInfo {
        rss,
        vms: k.size,
        text: pages(k.tsize, page_size),
        data: pages(k.dsize, page_size),
        stack: pages(k.ssize, page_size),
        peak_rss,
    }
}

/// User and system time of the process and of its reaped children, seconds.
pub(crate) fn cpu_times(k: &Kinfo) -> CpuTimes {
    CpuTimes {
        user: k.utime.secs(),
        system: k.stime.secs(),
        children_user: k.children_utime.secs(),
        children_system: k.children_stime.secs(),
    }
}

/// Block I/O operation counts (negative values, which the kernel never gives, read as 0).
pub(crate) fn io_counters(k: &Kinfo) -> IoCounters {
    IoCounters {
        read_count: u64::try_from(k.inblock).unwrap_or(0),
        write_count: u64::try_from(k.oublock).unwrap_or(0),
    }
}

/// Maps the errno of a failed per-process call as psutil's `_psbsd.py:wrap_exceptions` does:
/// `ESRCH` is [`Error::ZombieProcess`] when the process is a zombie, else
/// [`Error::NoSuchProcess`]; `EPERM`/`EACCES` are [`Error::AccessDenied`]; anything else on pid 0
/// is AccessDenied too; the rest is [`Error::Io`] naming the call.
pub(crate) fn process_error(pid: u32, call: &str, errno: i32, zombie: bool) -> Error {
    match errno {
        libc::ESRCH if zombie => Error::ZombieProcess { pid, name: None },
        libc::ESRCH => Error::NoSuchProcess { pid, name: None },
        libc::EPERM | libc::EACCES => Error::call_denied(Some(pid), call),
        _ if pid == 0 => Error::call_denied(Some(0), call),
        _ => Error::call_failed(call, io::Error::from_raw_os_error(errno)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tv(sec: i64, usec: i64) -> TimeVal {
        TimeVal { sec, usec }
    }

    #[test]
    fn memory_info_is_pages_times_page_size_and_vms_in_bytes() {
        let k = Kinfo {
            rssize: 2560,    // 10 MiB of 4 KiB pages
            size: 200 << 20, // bytes already
            tsize: 64,
            dsize: 128,
            ssize: 32,
            maxrss: 12_288, // 12 MiB in KiB
            ..Kinfo::default()
        };
        let m = memory_info(&k, 4096);
        assert_eq!(m.rss, 10 << 20);
        assert_eq!(m.vms, 200 << 20);
        assert_eq!((m.text, m.data, m.stack), (262_144, 524_288, 131_072));
        assert_eq!(m.peak_rss, 12 << 20);
    }

    #[test]
    fn a_stale_maxrss_is_raised_to_rss_but_zero_stays_zero() {
        let stale = Kinfo {
            rssize: 2560,
            maxrss: 4096, // 4 MiB, below the 10 MiB resident now
            ..Kinfo::default()
        };
        assert_eq!(memory_info(&stale, 4096).peak_rss, 10 << 20);
        let kernel = Kinfo {
            rssize: 2560,
            maxrss: 0,
            ..Kinfo::default()
        };
        assert_eq!(memory_info(&kernel, 4096).peak_rss, 0);
    }

    #[test]
    fn cpu_times_add_microseconds() {
        let k = Kinfo {
            utime: tv(1, 500_000),
            stime: tv(0, 250_000),
            children_utime: tv(3, 0),
            children_stime: tv(0, 1),
            ..Kinfo::default()
        };
        let t = cpu_times(&k);
        assert_eq!((t.user, t.system), (1.5, 0.25));
        assert_eq!((t.children_user, t.children_system), (3.0, 0.000_001));
        assert_eq!(tv(1_700_000_000, 125_000).secs(), 1_700_000_000.125);
    }

    #[test]
    fn io_counters_from_rusage() {
        let k = Kinfo {
            inblock: 12,
            oublock: -1,
            ..Kinfo::default()
        };
        assert_eq!(
            io_counters(&k),
            IoCounters {
                read_count: 12,
                write_count: 0
            }
        );
    }

    #[test]
    fn status_codes_of_sys_proc_h() {
        let names: Vec<&str> = (0..=8)
            .map(|s| ProcessStatus::from_stat(s).as_str())
            .collect();
        assert_eq!(
            names,
            [
                "?", "idle", "running", "sleeping", "stopped", "zombie", "waiting", "locked", "?"
            ]
        );
        assert_eq!(ProcessStatus::from_stat(-3), ProcessStatus::Unknown);
    }

    #[test]
    fn errno_maps_as_psutil_wraps_it() {
        assert!(matches!(
            process_error(42, "kern.proc.args", libc::ESRCH, false),
            Error::NoSuchProcess { pid: 42, .. }
        ));
        assert!(matches!(
            process_error(42, "kern.proc.args", libc::ESRCH, true),
            Error::ZombieProcess { pid: 42, .. }
        ));
        for errno in [libc::EPERM, libc::EACCES] {
            assert!(matches!(
                process_error(42, "kern.proc.env", errno, false),
                Error::AccessDenied { pid: Some(42), .. }
            ));
        }
        assert!(matches!(
            process_error(0, "kern.proc.filedesc", libc::EINVAL, false),
            Error::AccessDenied { pid: Some(0), .. }
        ));
        match process_error(42, "kern.proc.vmmap", libc::EINVAL, false) {
            Error::Io { path, call, source } => {
                assert_eq!(path, None);
                assert_eq!(call.as_deref(), Some("kern.proc.vmmap"));
                assert_eq!(source.raw_os_error(), Some(libc::EINVAL));
            }
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn memtypes_parse_psutils_names() {
        let m = MemoryInfo {
            rss: 1,
            vms: 2,
            text: 3,
            data: 4,
            stack: 5,
            peak_rss: 6,
        };
        let got: Vec<u64> = ["rss", "vms", "text", "data", "stack", "peak_rss"]
            .iter()
            .map(|s| MemType::parse_on(s, Os::FreeBsd).and_then(|t| t.of(&m)))
            .collect::<Result<_>>()
            .unwrap_or_default();
        assert_eq!(got, [1, 2, 3, 4, 5, 6]);
        assert!(matches!(
            MemType::parse_on("uss", Os::FreeBsd),
            Err(Error::Unsupported(_))
        ));
    }
}
