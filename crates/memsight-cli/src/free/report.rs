//! One report of `memsight free`: the library's records, and on Linux the memory cgroup and the
//! figures procps `free` derives from `/proc/meminfo` for `-l`, `-v` and `--procps-available`.

use serde::Serialize;

use memsight::{SwapMemory, VirtualMemory};
#[cfg(target_os = "linux")]
use {
    super::procps::{self, Commit, Zone},
    memsight::linux::CgroupMemory,
};

use super::Args;
use crate::Host;

/// Everything one report shows; serialised as `memsight free --json`'s object.
#[derive(Debug, Serialize)]
pub struct Report {
    /// psutil's `virtual_memory()` for this OS.
    pub mem: VirtualMemory,
    /// psutil's `swap_memory()` for this OS.
    pub swap: SwapMemory,
    /// The memory cgroup memsight runs in, when one can be read (`null` otherwise). Linux only.
    #[cfg(target_os = "linux")]
    pub cgroup: Option<CgroupMemory>,
    /// `-l`: low memory (only with `-l`). Linux only.
    #[cfg(target_os = "linux")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub low: Option<Zone>,
    /// `-l`: high memory (only with `-l`). Linux only.
    #[cfg(target_os = "linux")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub high: Option<Zone>,
    /// `-v`: the commit limit and what is committed (only with `-v`). Linux only.
    #[cfg(target_os = "linux")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<Commit>,
}

/// Reads one report: the library's records, and on Linux the cgroup and the meminfo lines `-l`,
/// `-v` and `--procps-available` need (read only when asked).
#[cfg_attr(not(target_os = "linux"), allow(unused_variables))]
pub fn read(args: &Args, host: &Host) -> anyhow::Result<Report> {
    #[cfg_attr(not(target_os = "linux"), allow(unused_mut))]
    let mut report = Report {
        mem: host.virtual_memory()?,
        swap: host.swap_memory()?,
        // A process may legitimately have no readable cgroup (odd mounts); free still works.
        #[cfg(target_os = "linux")]
        cgroup: host.cgroup_memory().ok().flatten(),
        #[cfg(target_os = "linux")]
        low: None,
        #[cfg(target_os = "linux")]
        high: None,
        #[cfg(target_os = "linux")]
        commit: None,
    };
    #[cfg(target_os = "linux")]
    if args.lohi || args.committed || args.procps_available {
        let fields = host.meminfo()?;
        if args.procps_available {
            report.mem = report.mem.with_available(procps::procps_available(&fields));
        }
        if args.lohi {
            let (low, high) = Zone::low_high(&fields);
            (report.low, report.high) = (Some(low), Some(high));
        }
        if args.committed {
            report.commit = Some(Commit::from_meminfo(&fields));
        }
    }
    Ok(report)
}
