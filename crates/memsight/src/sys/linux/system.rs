//! System memory and swap, with psutil 7.2's Linux semantics (which follow procps `free` 4.x).

use std::sync::OnceLock;

use crate::error::{Error, Result};
use crate::sys::procfs::{ProcFs, meminfo, vmstat, zoneinfo};
// The cgroup readers round their percentages with the same rule.
pub(crate) use crate::neutral::numbers::percent;

pub use crate::sys::procfs::meminfo::{MeminfoField, MeminfoUnit};

/// The size of a memory page in bytes, from `sysconf(_SC_PAGESIZE)` (the auxiliary vector's
/// `AT_PAGESZ`).
pub fn page_size() -> u64 {
    // Kept after the first call: rustix may ask the kernel for the auxiliary vector on every call
    // (`prctl(PR_GET_AUXV)`), one system call per process in a `process_iter()` loop.
    static PAGE_SIZE: OnceLock<u64> = OnceLock::new();
    *PAGE_SIZE.get_or_init(|| rustix::param::page_size() as u64)
}

/// System memory, in bytes: psutil's `virtual_memory()` and the `Mem:` line of procps `free`.
///
/// All fields come from `/proc/meminfo` (kB × 1024).
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct VirtualMemory {
    /// Usable RAM (`MemTotal`); `free`'s `total`.
    pub total: u64,
    /// Memory that can be given to new work without swapping (`MemAvailable`, or on kernels
    /// before 3.14 (or when it reads 0) the kernel's own 3.14 estimate from `/proc/zoneinfo`);
    /// clamped to 0 if negative and to `free` if above `total` (LXC). `free`'s `available`.
    pub available: u64,
    /// `used / total × 100`, rounded to one decimal.
    pub percent: f64,
    /// `total - available` (procps ≥ 4.0.1 and psutil ≥ 7.1); `free`'s `used`.
    pub used: u64,
    /// Memory not used at all (`MemFree`); `free`'s `free`.
    pub free: u64,
    /// Recently used memory (`Active`).
    pub active: u64,
    /// Memory not recently used (`Inactive`, or `Inact_dirty + Inact_clean + Inact_laundry`).
    pub inactive: u64,
    /// Block-device buffers (`Buffers`).
    pub buffers: u64,
    /// Page cache plus reclaimable slab (`Cached + SReclaimable`); `buffers + cached` is `free`'s
    /// `buff/cache`.
    pub cached: u64,
    /// tmpfs and shared memory (`Shmem`, or `MemShared` on 2.4 kernels); `free`'s `shared`.
    pub shared: u64,
    /// Kernel data structures (`Slab`).
    pub slab: u64,
    /// The fields the kernel did not provide (reported as 0), by name: psutil warns about these
    /// instead. Empty on any modern kernel.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Vec::is_empty"))]
    pub missing: Vec<&'static str>,
}

impl VirtualMemory {
    /// This record with another `available` figure (clamped to `total`), `used` and `percent`
    /// recomputed from it: for callers that want another tool's definition, such as procps
    /// `free`, which shows `MemFree` where the kernel prints no `MemAvailable`.
    pub fn with_available(mut self, available: u64) -> VirtualMemory {
        self.available = available.min(self.total);
        self.used = self.total - self.available;
        self.percent = percent(self.used, self.total);
        self
    }
}

/// Swap, in bytes: psutil's `swap_memory()` and the `Swap:` line of procps `free`.
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct SwapMemory {
    /// Total swap (`SwapTotal`, or `sysinfo(2)` when `/proc/meminfo` lacks the swap lines).
    pub total: u64,
    /// `total - free`.
    pub used: u64,
    /// Unused swap (`SwapFree`, or `sysinfo(2)`).
    pub free: u64,
    /// `used / total × 100`, rounded to one decimal; 0 without swap.
    pub percent: f64,
    /// Bytes swapped in since boot (`/proc/vmstat` `pswpin` × the page size; psutil assumes 4 KiB).
    pub sin: u64,
    /// Bytes swapped out since boot (`/proc/vmstat` `pswpout` × the page size).
    pub sout: u64,
    /// The fields that could not be read (reported as 0): `sin` and `sout` when `/proc/vmstat` is
    /// unreadable or lacks the counters.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Vec::is_empty"))]
    pub missing: Vec<&'static str>,
}

/// System memory from `/proc/meminfo`; see [`VirtualMemory`].
///
/// ```
/// let mem = memsight::virtual_memory()?;
/// assert_eq!(mem.used, mem.total - mem.available);
/// # Ok::<(), memsight::Error>(())
/// ```
pub fn virtual_memory() -> Result<VirtualMemory> {
    ProcFs::default().virtual_memory()
}

/// Swap from `/proc/meminfo` and `/proc/vmstat`; see [`SwapMemory`].
pub fn swap_memory() -> Result<SwapMemory> {
    ProcFs::default().swap_memory()
}

/// Every line of `/proc/meminfo`, in the kernel's order (bytes for `kB` lines).
pub fn meminfo() -> Result<Vec<MeminfoField>> {
    ProcFs::default().meminfo()
}

impl ProcFs {
    /// [`virtual_memory`] under this root.
    pub fn virtual_memory(&self) -> Result<VirtualMemory> {
        let m = self.parse_proc("meminfo", meminfo::parse)?;
        let required = |value: Option<u64>, name: &str| {
            value.ok_or_else(|| Error::Parse {
                path: self.proc_path("meminfo"),
                line: 0,
                reason: format!("no {name} line"),
            })
        };
        let total = required(m.mem_total, "MemTotal")?;
        let free = required(m.mem_free, "MemFree")?;
        let mut missing = Vec::new();
        let mut or_missing = |value: Option<u64>, name: &'static str| {
            value.unwrap_or_else(|| {
                missing.push(name);
                0
            })
        };
        let buffers = or_missing(m.buffers, "buffers");
        let cached = or_missing(
            m.cached
                .map(|c| c.saturating_add(m.s_reclaimable.unwrap_or(0))),
            "cached",
        );
        let shared = or_missing(m.shmem.or(m.mem_shared), "shared");
        let active = or_missing(m.active, "active");
        let old_inactive = match (m.inact_dirty, m.inact_clean, m.inact_laundry) {
            (Some(d), Some(c), Some(l)) => Some(d.saturating_add(c).saturating_add(l)),
            _ => None,
        };
        let inactive = or_missing(m.inactive.or(old_inactive), "inactive");
        let slab = m.slab.unwrap_or(0);

        let mut available = match m.mem_available {
            Some(available) if available > 0 => available as i128,
            _ => self.estimate_available(&m, free)?,
        };
        if available < 0 {
            missing.push("available");
            available = 0;
        }
        let mut available = available as u64;
        if available > total {
            // LXC: a container's view of the host; procps and psutil fall back to MemFree.
            available = free;
        }
        let used = total.saturating_sub(available);
        Ok(VirtualMemory {
            total,
            available,
            percent: percent(used, total),
            used,
            free,
            active,
            inactive,
            buffers,
            cached,
            shared,
            slab,
            missing,
        })
    }

    /// The kernel 3.14 `MemAvailable` algorithm (commit 34e431b0ae), as psutil's
    /// `calculate_avail_vmem`: used when `MemAvailable` is missing or 0.
    fn estimate_available(&self, m: &meminfo::Meminfo, free: u64) -> Result<i128> {
        let fallback = free as i128 + m.cached.unwrap_or(0) as i128;
        let (Some(active_file), Some(inactive_file), Some(reclaimable)) =
            (m.active_file, m.inactive_file, m.s_reclaimable)
        else {
            return Ok(fallback);
        };
        let low_pages = match self.parse_proc("zoneinfo", zoneinfo::parse_low_watermarks) {
            Ok(pages) => pages,
            Err(Error::Io { .. } | Error::AccessDenied { .. }) => return Ok(fallback),
            Err(e) => return Err(e),
        };
        let low = low_pages as f64 * page_size() as f64;
        let page_cache = active_file.saturating_add(inactive_file) as f64;
        let reclaimable = reclaimable as f64;
        let available = free as f64 - low + page_cache - (page_cache / 2.0).min(low) + reclaimable
            - (reclaimable / 2.0).min(low);
        Ok(available as i128)
    }

    /// [`swap_memory`] under this root.
    pub fn swap_memory(&self) -> Result<SwapMemory> {
        let m = self.parse_proc("meminfo", meminfo::parse)?;
        let (total, free) = match (m.swap_total, m.swap_free) {
            (Some(total), Some(free)) => (total, free),
            _ => {
                let info = rustix::system::sysinfo();
                let unit = u64::from(info.mem_unit.max(1));
                (
                    (info.totalswap as u64).saturating_mul(unit),
                    (info.freeswap as u64).saturating_mul(unit),
                )
            }
        };
        let used = total.saturating_sub(free);
        let mut missing = Vec::new();
        let counters = match self.parse_proc("vmstat", vmstat::parse) {
            Ok(counters) => counters,
            Err(Error::Io { .. } | Error::AccessDenied { .. }) => vmstat::SwapCounters::default(),
            Err(e) => return Err(e),
        };
        let page = page_size();
        let mut pages = |value: Option<u64>, name: &'static str| match value {
            Some(pages) => pages.saturating_mul(page),
            None => {
                missing.push(name);
                0
            }
        };
        let sin = pages(counters.pswpin, "sin");
        let sout = pages(counters.pswpout, "sout");
        Ok(SwapMemory {
            total,
            used,
            free,
            percent: percent(used, total),
            sin,
            sout,
            missing,
        })
    }

    /// [`meminfo`] under this root.
    pub fn meminfo(&self) -> Result<Vec<MeminfoField>> {
        self.parse_proc("meminfo", meminfo::parse_fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_available_recomputes_used_and_percent() {
        let mem = VirtualMemory {
            total: 1000,
            available: 600,
            used: 400,
            percent: 40.0,
            ..VirtualMemory::default()
        };
        let procps = mem.clone().with_available(200);
        assert_eq!(
            (procps.available, procps.used, procps.percent),
            (200, 800, 80.0)
        );
        assert_eq!(mem.with_available(5000).used, 0);
    }
}
