//! The macOS process records (psutil 8's macOS fields) and the small conversions that fill them:
//! status, time bases, protections, create-time adjustment.

use std::path::PathBuf;

use super::layout::{
    EPROC_SLEADER, P_PPWAIT, P_SYSTEM, P_WEXIT, SIDL, SRUN, SSLEEP, SSTOP, SZOMB, VM_PROT_EXECUTE,
    VM_PROT_READ, VM_PROT_WRITE,
};

/// Memory figures of a process, in bytes: psutil 8's `pmem` on macOS, from
/// `proc_pidinfo(PROC_PIDTASKINFO)` (`struct proc_taskinfo`). Readable for the caller's own
/// processes (root: all).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MemoryInfo {
    /// Resident memory (`pti_resident_size`).
    pub rss: u64,
    /// Address space size (`pti_virtual_size`). It includes the whole dyld shared region, so it
    /// reads hundreds of GiB on Apple silicon (psutil #1908); not corrected, as in psutil.
    pub vms: u64,
}

/// [`MemoryInfo`] plus psutil 8's `memory_info_ex` macOS fields, in bytes: `task_info
/// (TASK_VM_INFO)` on the task port and `proc_pid_rusage` for `wired`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MemoryInfoEx {
    /// The [`MemoryInfo`] figures, flattened: their keys come first in JSON, and `ex.rss` reads
    /// them through `Deref`.
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub memory: MemoryInfo,
    /// The largest resident size so far (`task_vm_info.resident_size_peak`).
    pub peak_rss: u64,
    /// Resident anonymous memory (`task_vm_info.internal`).
    pub rss_anon: u64,
    /// Resident file-backed memory (`task_vm_info.external`).
    pub rss_file: u64,
    /// Wired memory (`proc_pid_rusage(RUSAGE_INFO_V0).ri_wired_size`; 0 when that call fails,
    /// as psutil).
    pub wired: u64,
    /// Memory held compressed by the compressor (`task_vm_info.compressed`).
    pub compressed: u64,
    /// The footprint the kernel charges the process, Activity Monitor's "Memory"
    /// (`task_vm_info.phys_footprint`).
    pub phys_footprint: u64,
}

/// [`MemoryInfo`] plus USS, in bytes: psutil's `pfullmem` on macOS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MemoryFullInfo {
    /// The [`MemoryInfo`] figures, flattened: their keys come first in JSON, and `full.rss`
    /// reads them through `Deref`.
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub memory: MemoryInfo,
    /// Unique set size from the region walk (see `Process::memory_footprint`).
    pub uss: u64,
}

crate::process::extends_memory_info!(MemoryInfoEx, MemoryFullInfo);

/// One VM region of a process (`proc_pidinfo(PROC_PIDREGIONPATHINFO)`). psutil removed
/// `memory_maps` on macOS (5.6.0) because `proc_regionfilename` and `task_for_pid` failed or
/// crashed; memsight reads each region and its file in one `proc_pidinfo` call, which needs
/// neither. Page counts are × the kernel page size.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MemoryMap {
    /// `0xSTART-0xEND`; empty when grouped by path.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "String::is_empty"))]
    pub addr: String,
    /// `r`, `w`, `x` or `-` for the current protection (`pri_protection`); empty when grouped.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "String::is_empty"))]
    pub perms: String,
    /// The mapped file (`vip_path`), or `[anon]` for a region with no file.
    pub path: String,
    /// The region's size (`pri_size`).
    pub size: u64,
    /// Resident bytes (`pri_pages_resident`).
    pub rss: u64,
    /// Resident bytes private to the process (`pri_private_pages_resident`).
    pub private: u64,
    /// Swapped-out (compressed) bytes (`pri_pages_swapped_out`).
    pub swap: u64,
    /// References to the region's VM object (`pri_ref_count`; summed when grouped, as psutil
    /// sums every numeric field).
    pub ref_count: u64,
    /// Depth of the object's shadow chain (`pri_shadow_depth`; summed when grouped).
    pub shadow_depth: u64,
}

/// Seconds a process spent on the CPU (`pti_total_user` / `pti_total_system` of
/// `PROC_PIDTASKINFO`, Mach time units ÷ `hw.tbfrequency`). psutil's `pcputimes` on macOS.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct CpuTimes {
    /// Time in user mode, seconds.
    pub user: f64,
    /// Time in kernel mode, seconds.
    pub system: f64,
    /// Always 0: macOS does not report children's times per process.
    pub children_user: f64,
    /// Always 0.
    pub children_system: f64,
}

/// A regular file a process has open (`proc_pidfdinfo(PROC_PIDFDVNODEPATHINFO)`). psutil's
/// `popenfile` on macOS.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct OpenFile {
    /// The absolute path (`vip_path`).
    pub path: PathBuf,
    /// The descriptor number.
    pub fd: u32,
}

pub use crate::neutral::ProcessStatus;
use crate::neutral::maps::GroupableMap;

/// psutil 8's `convert_status` (#2675, #783): `p_stat` alone is almost always `SRUN`, so a
/// zombie or stopped state wins first, then the flags, then the session-leader bit.
pub(crate) fn convert_status(p_stat: i8, p_flag: i32, e_flag: i32) -> ProcessStatus {
    let stat = if p_stat == SZOMB || p_stat == SSTOP {
        p_stat
    } else if p_flag & (P_SYSTEM | P_WEXIT | P_PPWAIT) != 0 {
        SIDL
    } else if e_flag & EPROC_SLEADER != 0 {
        SSLEEP
    } else {
        p_stat
    };
    match stat {
        SIDL => ProcessStatus::Idle,
        SRUN => ProcessStatus::Running,
        SSLEEP => ProcessStatus::Sleeping,
        SSTOP => ProcessStatus::Stopped,
        SZOMB => ProcessStatus::Zombie,
        _ => ProcessStatus::Unknown,
    }
}

/// Mach absolute-time ticks (what `pti_total_user` counts) in seconds, with the tick rate
/// `hw.tbfrequency` (Hz: 1e9 on Intel, 24e6 on Apple silicon). psutil reads the rate, not
/// `mach_timebase_info`, because Rosetta intercepts the latter (#2411).
pub(crate) fn ticks_to_secs(ticks: u64, tbfrequency: u64) -> f64 {
    if tbfrequency == 0 {
        0.0
    } else {
        ticks as f64 / tbfrequency as f64
    }
}

/// The tick rate from a `mach_timebase_info` (`numer / denom` ns per tick), the fallback when
/// `hw.tbfrequency` cannot be read: `1e9 × denom / numer` Hz.
pub(crate) fn timebase_frequency(numer: u32, denom: u32) -> u64 {
    if numer == 0 {
        0
    } else {
        (1_000_000_000u128 * u128::from(denom) / u128::from(numer)) as u64
    }
}

/// A `timeval` as seconds.
pub(crate) fn timeval_secs(sec: i64, usec: i32) -> f64 {
    sec as f64 + f64::from(usec) / 1e6
}

/// psutil's `adjust_proc_create_time`: when the boot time moved by a second or more since
/// memsight first read it (the wall clock was set), the create time is moved by that amount.
/// Like psutil, the shift is always added, whichever way the clock went.
pub(crate) fn adjust_create_time(ctime: f64, init_boot_time: f64, boot_time: f64) -> f64 {
    if init_boot_time == 0.0 {
        return ctime;
    }
    let diff = init_boot_time - boot_time;
    if diff.abs() < 1.0 {
        ctime
    } else {
        ctime + diff.abs()
    }
}

/// `r`/`w`/`x` or `-` for each `VM_PROT_*` bit.
pub(crate) fn perms(protection: u32) -> String {
    let bit = |b: u32, c: char| if protection & b != 0 { c } else { '-' };
    [
        bit(VM_PROT_READ, 'r'),
        bit(VM_PROT_WRITE, 'w'),
        bit(VM_PROT_EXECUTE, 'x'),
    ]
    .iter()
    .collect()
}

/// A NUL-terminated (or full) C char array as text, invalid UTF-8 replaced.
pub(crate) fn c_chars(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

impl GroupableMap for MemoryMap {
    type Key = String;

    fn group_key(&self) -> &String {
        &self.path
    }

    fn add(&mut self, m: &MemoryMap) {
        self.size = self.size.saturating_add(m.size);
        self.rss = self.rss.saturating_add(m.rss);
        self.private = self.private.saturating_add(m.private);
        self.swap = self.swap.saturating_add(m.swap);
        self.ref_count = self.ref_count.saturating_add(m.ref_count);
        self.shadow_depth = self.shadow_depth.saturating_add(m.shadow_depth);
    }

    fn forget_address(&mut self) {
        self.addr.clear();
        self.perms.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::neutral::maps::group_maps;
    use crate::neutral::{MemType, Os};

    #[test]
    fn zombie_and_stopped_win_over_flags() {
        // A zombie is `zombie` even while exiting and leading its session (#783).
        assert_eq!(
            convert_status(SZOMB, P_WEXIT, EPROC_SLEADER),
            ProcessStatus::Zombie
        );
        assert_eq!(convert_status(SSTOP, P_SYSTEM, 0), ProcessStatus::Stopped);
        assert_eq!(convert_status(SRUN, P_SYSTEM, 0), ProcessStatus::Idle);
        assert_eq!(convert_status(SRUN, P_PPWAIT, 0), ProcessStatus::Idle);
        assert_eq!(
            convert_status(SRUN, 0, EPROC_SLEADER),
            ProcessStatus::Sleeping
        );
        assert_eq!(convert_status(SRUN, 0, 0), ProcessStatus::Running);
        assert_eq!(convert_status(SSLEEP, 0, 0), ProcessStatus::Sleeping);
        assert_eq!(convert_status(SIDL, 0, 0), ProcessStatus::Idle);
        assert_eq!(convert_status(9, 0, 0), ProcessStatus::Unknown);
        assert_eq!(ProcessStatus::Zombie.as_str(), "zombie");
        assert_eq!(ProcessStatus::Unknown.to_string(), "?");
    }

    #[test]
    fn cpu_ticks_to_seconds() {
        // Apple silicon: 24 MHz, so 36e6 ticks are 1.5 s; Intel counts nanoseconds.
        assert_eq!(ticks_to_secs(36_000_000, 24_000_000), 1.5);
        assert_eq!(ticks_to_secs(2_500_000_000, 1_000_000_000), 2.5);
        assert_eq!(ticks_to_secs(5, 0), 0.0);
        // mach_timebase_info 125/3 ns per tick (M1) is 24 MHz; 1/1 is 1 GHz.
        assert_eq!(timebase_frequency(125, 3), 24_000_000);
        assert_eq!(timebase_frequency(1, 1), 1_000_000_000);
        assert_eq!(timebase_frequency(0, 1), 0);
    }

    #[test]
    fn create_time_moves_only_after_a_clock_step() {
        assert_eq!(timeval_secs(1_700_000_000, 250_000), 1_700_000_000.25);
        assert_eq!(adjust_create_time(100.0, 50.0, 50.5), 100.0);
        assert_eq!(adjust_create_time(100.0, 50.0, 53.0), 103.0);
        assert_eq!(adjust_create_time(100.0, 50.0, 47.0), 103.0);
        assert_eq!(adjust_create_time(100.0, 0.0, 47.0), 100.0);
    }

    #[test]
    fn perms_and_c_strings() {
        assert_eq!(perms(1 | 4), "r-x");
        assert_eq!(perms(3), "rw-");
        assert_eq!(perms(0), "---");
        assert_eq!(c_chars(b"zsh\0\0junk"), "zsh");
        assert_eq!(c_chars(b"full"), "full");
    }

    #[test]
    fn grouping_sums_by_path_in_first_seen_order() {
        let map = |path: &str, rss: u64| MemoryMap {
            addr: "0x1-0x2".into(),
            perms: "r--".into(),
            path: path.into(),
            size: 2 * rss,
            rss,
            private: rss / 2,
            swap: 0,
            ref_count: 1,
            shadow_depth: 0,
        };
        let g = group_maps(vec![map("/b", 10), map("/a", 4), map("/b", 6)]);
        assert_eq!(g.len(), 2);
        assert_eq!((g[0].path.as_str(), g[0].rss, g[0].size), ("/b", 16, 32));
        assert_eq!((g[0].private, g[0].ref_count), (8, 2));
        assert!(g[0].addr.is_empty() && g[0].perms.is_empty());
        assert_eq!((g[1].path.as_str(), g[1].rss), ("/a", 4));
    }

    #[test]
    fn memtype_parses_psutil_macos_names() {
        for name in [
            "rss",
            "vms",
            "peak_rss",
            "rss_anon",
            "rss_file",
            "wired",
            "compressed",
            "phys_footprint",
            "uss",
        ] {
            assert!(MemType::parse_on(name, Os::Macos).is_ok(), "{name}");
        }
        assert!(MemType::parse_on("pss", Os::Macos).is_err());
    }
}
