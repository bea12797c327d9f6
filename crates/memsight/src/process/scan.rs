//! A whole-system memory scan (what `memsight ps` shows): every process's unique memory with its
//! resident and virtual size, owner and command line, on every OS.
//!
//! Linux reads `/proc` in parallel, each process through one descriptor
//! ([`ProcFs::memory_scan`](crate::linux::ProcFs::memory_scan)); the other systems open each
//! process once with [`Process::new`] and read it through the OS-neutral getters, one after the
//! other. Both give the same records.

#[cfg(target_os = "linux")]
use std::ffi::OsString;

use crate::error::{Error, Result};

/// One process's memory in a [`MemoryScan`]. Sizes in bytes. The fields are those this OS has,
/// with psutil's names (its `procsmem` script's columns).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ProcessMemory {
    /// The process id.
    pub pid: u32,
    /// The owner. Linux, macOS, FreeBSD: the login name of [`uid`](Self::uid), or that uid as
    /// decimal text when the user database has no entry for it (`getpwuid_r(3)`, asked once per
    /// uid and scan). Windows: [`Process::username`](crate::Process::username) (`DOMAIN\user`),
    /// empty when it cannot be read.
    pub username: String,
    /// The process name, as [`Process::name`](crate::Process::name) gives it. Linux: lossy
    /// (U+FFFD for bytes that are not UTF-8). Windows, macOS, FreeBSD: empty when it cannot be
    /// read.
    pub name: String,
    /// Linux only. The exact bytes of the name, as [`Process::name_os`](crate::Process::name_os)
    /// gives them. Serialized as `name_bytes`, only when not UTF-8.
    #[cfg(target_os = "linux")]
    #[cfg_attr(
        feature = "serde",
        serde(
            rename = "name_bytes",
            skip_serializing_if = "crate::sys::exact::IsUtf8::is_utf8",
            serialize_with = "crate::sys::exact::ser::bytes"
        )
    )]
    pub name_os: OsString,
    /// The command line, as [`Process::cmdline`](crate::Process::cmdline) gives it. Linux: lossy.
    /// Windows, macOS, FreeBSD: empty when it cannot be read (another user's process on macOS).
    pub cmdline: Vec<String>,
    /// Linux only. The exact bytes of each argument, as
    /// [`Process::cmdline_os`](crate::Process::cmdline_os) gives them. Serialized as
    /// `cmdline_bytes` (an array of byte arrays), only when an argument is not UTF-8.
    #[cfg(target_os = "linux")]
    #[cfg_attr(
        feature = "serde",
        serde(
            rename = "cmdline_bytes",
            skip_serializing_if = "crate::sys::exact::all_utf8",
            serialize_with = "crate::sys::exact::ser::list"
        )
    )]
    pub cmdline_os: Vec<OsString>,
    /// Unique set size, as in [`MemoryFootprint::uss`](crate::MemoryFootprint::uss). Linux:
    /// smaps_rollup `Private_*`. Windows: the working set's private pages × the page size
    /// (`QueryWorkingSet`). macOS: resident pages of the private regions
    /// (`PROC_PIDREGIONINFO`) × the page size. Not on FreeBSD, whose kernel gives no USS.
    #[cfg(not(target_os = "freebsd"))]
    pub uss: u64,
    /// Linux only. Proportional set size (smaps_rollup `Pss`).
    #[cfg(target_os = "linux")]
    pub pss: u64,
    /// Linux only. Swapped-out memory (smaps_rollup `Swap`).
    #[cfg(target_os = "linux")]
    pub swap: u64,
    /// Linux only. The proportional share of swapped-out memory (smaps_rollup `SwapPss`, kernel
    /// 4.3+; 0 before): `pss + swap_pss` is htop's EPSS, the footprint with swap counted fairly.
    /// Not in `memsight ps --json`, whose keys are psutil's.
    #[cfg(target_os = "linux")]
    #[cfg_attr(feature = "serde", serde(skip))]
    pub swap_pss: u64,
    /// Resident set size, as in [`MemoryInfo::rss`](crate::MemoryInfo::rss). Linux: statm
    /// `resident` × the page size. Windows: the working set (`WorkingSetSize`). macOS:
    /// `pti_resident_size`. FreeBSD: `ki_rssize` × the page size.
    pub rss: u64,
    /// Virtual memory size, as in [`MemoryInfo::vms`](crate::MemoryInfo::vms). Linux: statm
    /// `size` × the page size. Windows: private committed bytes (`PrivateUsage`). macOS:
    /// `pti_virtual_size`. FreeBSD: `ki_size`.
    pub vms: u64,
    /// Unix only. The user id the process runs as, which [`username`](Self::username) names.
    /// Linux: the uid that owns `/proc/PID` (one `fstat`; the effective uid, 0 for non-dumpable
    /// processes; see [`Process::owner_uid`](crate::Process::owner_uid)). macOS, FreeBSD: the
    /// effective uid of [`Process::uids`](crate::Process::uids). Not serialized.
    #[cfg(unix)]
    #[cfg_attr(feature = "serde", serde(skip))]
    pub uid: u32,
}

/// The result of [`memory_scan`]: the processes read, in pid order, and those that could not be.
#[derive(Debug, Default)]
pub struct MemoryScan {
    /// Every process holding memory of its own, in pid order: USS > 0 (FreeBSD, which has no USS:
    /// RSS > 0). Left out, as psutil's procsmem does: processes whose memory is all shared, those
    /// that exit during the scan, zombies, and the kernel's (Linux: kernel threads; Windows: pids
    /// 0 and 4).
    pub processes: Vec<ProcessMemory>,
    /// Pids whose memory this user may not read, ascending. Linux: `smaps_rollup` (another
    /// user's process, or one holding capabilities the caller lacks). Windows: `OpenProcess` or
    /// the working set refused (protected and other users' processes without administrator
    /// rights). macOS, FreeBSD: a getter answered [`Error::AccessDenied`].
    pub access_denied: Vec<u32>,
    /// Pids that failed for another reason, ascending, with the error: an unparsable file
    /// (Linux), a failed call, or [`Error::Unsupported`] where the OS gives no USS for the process
    /// (under Wine, every process but the caller).
    pub errors: Vec<(u32, Error)>,
}

/// Scans every process ([`pids`](crate::pids)); see [`memory_scan_pids`].
///
/// ```
/// let scan = memsight::memory_scan()?;
/// # #[cfg(not(target_os = "freebsd"))]
/// assert!(scan.processes.iter().any(|p| p.pid == std::process::id() && p.uss > 0));
/// # Ok::<(), memsight::Error>(())
/// ```
pub fn memory_scan() -> Result<MemoryScan> {
    Ok(memory_scan_pids(&crate::pids()?))
}

/// Reads the memory of each process in `pids`; pids that do not exist or exit meanwhile are
/// skipped.
///
/// | OS | How |
/// | --- | --- |
/// | Linux | [`ProcFs::memory_scan`](crate::linux::ProcFs::memory_scan) of `/proc`: `statm`, `smaps_rollup`, `cmdline`, `comm` through one descriptor per process, on one thread per idle core when there are enough processes. |
/// | Windows | One process after another, each opened once ([`Process::new`](crate::Process::new)): `memory_info`, `memory_footprint`, then `username`, `name`, `cmdline`. |
/// | macOS | One process after another, each opened once: `memory_info`, `memory_footprint`, `uids`, then `name`, `cmdline`. |
/// | FreeBSD | One process after another, each opened once: `memory_info`, `uids`, then `name`, `cmdline`. |
pub fn memory_scan_pids(pids: &[u32]) -> MemoryScan {
    #[cfg(target_os = "linux")]
    return crate::linux::ProcFs::default().memory_scan(pids);
    #[cfg(not(target_os = "linux"))]
    return one_by_one(pids);
}

/// [`memory_scan_pids`] outside Linux: the getters of each process in turn.
#[cfg(not(target_os = "linux"))]
fn one_by_one(pids: &[u32]) -> MemoryScan {
    #[cfg(unix)]
    let mut names = crate::sys::unix::user::UserNames::default();
    let mut scan = MemoryScan::default();
    for &pid in pids {
        // The idle process and System: the kernel's, as Linux's kernel threads.
        if cfg!(windows) && (pid == 0 || pid == 4) {
            continue;
        }
        #[cfg(unix)]
        let read = read_one(pid, &mut names);
        #[cfg(windows)]
        let read = read_one(pid);
        match read {
            Ok(Some(p)) => scan.processes.push(p),
            Ok(None) | Err(Error::NoSuchProcess { .. } | Error::ZombieProcess { .. }) => {}
            Err(Error::AccessDenied { .. }) => scan.access_denied.push(pid),
            Err(e) => scan.errors.push((pid, e)),
        }
    }
    scan.processes.sort_unstable_by_key(|p| p.pid);
    scan.access_denied.sort_unstable();
    scan.errors.sort_by_key(|&(pid, _)| pid);
    scan
}

/// One process of [`memory_scan_pids`], opened once so every figure is of the same process;
/// `None` when it holds no memory of its own.
#[cfg(not(target_os = "linux"))]
fn read_one(
    pid: u32,
    #[cfg(unix)] names: &mut crate::sys::unix::user::UserNames,
) -> Result<Option<ProcessMemory>> {
    let p = crate::Process::new(pid)?;
    let info = p.memory_info()?;
    #[cfg(not(target_os = "freebsd"))]
    let uss = p.memory_footprint()?.uss;
    // Without a USS, the resident size says whether it holds memory of its own.
    #[cfg(target_os = "freebsd")]
    let own = info.rss;
    #[cfg(not(target_os = "freebsd"))]
    let own = uss;
    if own == 0 {
        return Ok(None);
    }
    // The effective uid, as Linux's owner of /proc/PID and procps `ps -u`.
    #[cfg(unix)]
    let uid = p.uids()?.effective;
    #[cfg(unix)]
    let username = names.name(uid);
    #[cfg(windows)]
    let username = p.username().unwrap_or_default();
    Ok(Some(ProcessMemory {
        pid,
        username,
        name: p.name().unwrap_or_default(),
        cmdline: p.cmdline().unwrap_or_default(),
        #[cfg(not(target_os = "freebsd"))]
        uss,
        rss: info.rss,
        vms: info.vms,
        #[cfg(unix)]
        uid,
    }))
}
