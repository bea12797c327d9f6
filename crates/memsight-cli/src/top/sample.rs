//! What one refresh reads, through the library: the system's memory (the figures `free` shows),
//! the cgroup's limit, memory pressure, and every process's memory from the scan `ps` uses.

use std::collections::HashSet;

use serde::Serialize;

use memsight::linux::{CgroupMemory, MemoryPressure, ProcFs};
use memsight::{SwapMemory, VirtualMemory};

use super::model::Proc;

/// The header of a frame: `free`'s figures, the calling process's cgroup and memory pressure.
#[derive(Debug, Clone, Serialize)]
pub struct Header {
    /// System memory (`/proc/meminfo`), as `memsight free` reads it.
    pub mem: VirtualMemory,
    /// Swap (`/proc/meminfo`, `/proc/vmstat`).
    pub swap: SwapMemory,
    /// The memory cgroup of the viewer (when one with a memory controller holds it).
    pub cgroup: Option<CgroupMemory>,
    /// `/proc/pressure/memory` (`None` where the kernel has no PSI).
    pub pressure: Option<MemoryPressure>,
}

/// Reads the header.
pub fn header(procfs: &ProcFs) -> anyhow::Result<Header> {
    Ok(Header {
        mem: procfs.virtual_memory()?,
        swap: procfs.swap_memory()?,
        // Odd mounts can make the cgroup unreadable; the view still works without that line.
        cgroup: procfs.cgroup_memory().ok().flatten(),
        pressure: procfs.memory_pressure().ok().flatten(),
    })
}

/// Every process with user memory: the scan's USS, PSS, SwapPss, swap and RSS (read on the
/// scan's threads), and for those whose smaps_rollup is denied, RSS, owner and command only.
/// Processes that exit meanwhile are left out; so are kernel threads and zombies. `only` (when
/// not empty) names the pids to read, in ascending order.
pub fn processes(procfs: &ProcFs, only: &[u32], threads: usize) -> anyhow::Result<Vec<Proc>> {
    let pids = if only.is_empty() {
        procfs.pids()?
    } else {
        only.to_vec()
    };
    let scan = procfs.memory_scan_on(&pids, threads);
    let mut procs: Vec<Proc> = scan
        .processes
        .into_iter()
        .map(|p| Proc {
            pid: p.pid,
            ppid: None,
            username: p.username,
            uid: p.uid,
            name: p.name,
            cmdline: p.cmdline,
            uss: Some(p.uss),
            pss: Some(p.pss),
            swap_pss: Some(p.swap_pss),
            swap: Some(p.swap),
            rss: p.rss,
            peak_rss: None,
            cgroup: None,
        })
        .collect();
    procs.extend(
        scan.access_denied
            .into_iter()
            .filter_map(|pid| denied(procfs, pid)),
    );
    Ok(procs)
}

/// A process whose memory details are denied: what every user may read of it. `None` when it
/// has exited, or has no address space.
fn denied(procfs: &ProcFs, pid: u32) -> Option<Proc> {
    let p = procfs.process(pid).ok()?;
    p.oneshot(|p| {
        let m = p.memory_info().ok()?;
        if m.vms == 0 {
            return None;
        }
        Some(Proc {
            pid,
            ppid: None,
            username: p.username().ok()?,
            uid: p.owner_uid().ok()?,
            name: p.name().ok()?,
            cmdline: p.cmdline().ok()?,
            uss: None,
            pss: None,
            swap_pss: None,
            swap: None,
            rss: m.rss,
            peak_rss: None,
            cgroup: None,
        })
    })
}

/// Reads the parent pid (`stat`), peak RSS (`status` `VmHWM`) and memory cgroup (`cgroup`) of
/// the processes in `procs` that `wanted` names and that have not been read in this frame yet
/// (`done` remembers them): three small reads each. A process gone meanwhile keeps `None`.
pub fn fill_extras(
    procfs: &ProcFs,
    procs: &mut [Proc],
    wanted: impl Fn(&Proc) -> bool,
    done: &mut HashSet<u32>,
) {
    for p in procs.iter_mut().filter(|p| wanted(p)) {
        if !done.insert(p.pid) {
            continue;
        }
        let Ok(handle) = procfs.process(p.pid) else {
            continue;
        };
        handle.oneshot(|h| {
            p.ppid = h.ppid().ok();
            p.peak_rss = h.memory_info_ex().ok().map(|m| m.peak_rss);
            p.cgroup = h.memory_cgroup().ok().flatten();
        });
    }
}
