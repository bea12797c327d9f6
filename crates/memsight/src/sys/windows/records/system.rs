//! System memory: `GetPerformanceInfo` pages and the PDH paging-file percent to psutil's
//! `virtual_memory()` and `swap_memory()`.

use crate::neutral::numbers::{percent, round1};

/// System memory, in bytes: psutil 8's `virtual_memory()` on Windows, from
/// `GetPerformanceInfo` (page counts × `PageSize`).
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct VirtualMemory {
    /// Physical memory (`PhysicalTotal`).
    pub total: u64,
    /// Memory available without paging out (`PhysicalAvailable`).
    pub available: u64,
    /// `used / total × 100`, rounded to one decimal.
    pub percent: f64,
    /// `total - available`.
    pub used: u64,
    /// The same as `available` (Windows has no separate figure; psutil's choice).
    pub free: u64,
    /// The system file cache (`SystemCache`).
    pub cached: u64,
    /// Non-paged kernel memory (`KernelNonpaged`), which can never be paged out.
    pub wired: u64,
}

/// Swap (the page files), in bytes: psutil 8's `swap_memory()` on Windows.
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct SwapMemory {
    /// `CommitLimit - PhysicalTotal` (`GetPerformanceInfo`): the page files' size.
    pub total: u64,
    /// `percent × total / 100`.
    pub used: u64,
    /// `total - used`.
    pub free: u64,
    /// The PDH counter `\Paging File(_Total)\% Usage`, rounded to one decimal; 0 when the counter
    /// cannot be read (no page file, counters disabled).
    pub percent: f64,
    /// Always 0: Windows does not count swap-ins.
    pub sin: u64,
    /// Always 0: Windows does not count swap-outs.
    pub sout: u64,
}

/// The `PERFORMANCE_INFORMATION` values psutil uses: page counts and the page size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct PerfPages {
    pub page_size: u64,
    pub physical_total: u64,
    pub physical_available: u64,
    pub system_cache: u64,
    pub kernel_nonpaged: u64,
    pub commit_limit: u64,
}

/// psutil 8's `virtual_memory()` formulas.
pub(crate) fn virtual_memory(p: &PerfPages) -> VirtualMemory {
    let ps = p.page_size;
    let total = p.physical_total.saturating_mul(ps);
    let available = p.physical_available.saturating_mul(ps).min(total);
    let used = total - available;
    VirtualMemory {
        total,
        available,
        percent: percent(used, total),
        used,
        free: available,
        cached: p.system_cache.saturating_mul(ps),
        wired: p.kernel_nonpaged.saturating_mul(ps),
    }
}

/// psutil 8's `swap_memory()` formulas, `usage_percent` being the PDH counter's value.
pub(crate) fn swap_memory(p: &PerfPages, usage_percent: f64) -> SwapMemory {
    let total = p
        .commit_limit
        .saturating_mul(p.page_size)
        .saturating_sub(p.physical_total.saturating_mul(p.page_size));
    let (pct, used) = if total > 0 {
        let pct = usage_percent.clamp(0.0, 100.0);
        (pct, (0.01 * pct * total as f64) as u64)
    } else {
        (0.0, 0)
    };
    SwapMemory {
        total,
        used,
        free: total - used.min(total),
        percent: round1(pct),
        sin: 0,
        sout: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perf() -> PerfPages {
        PerfPages {
            page_size: 4096,
            physical_total: 1000,
            physical_available: 250,
            system_cache: 100,
            kernel_nonpaged: 10,
            commit_limit: 1500,
        }
    }

    #[test]
    fn virtual_memory_follows_psutil() {
        let m = virtual_memory(&perf());
        assert_eq!(m.total, 4_096_000);
        assert_eq!(m.available, 1_024_000);
        assert_eq!(m.free, m.available);
        assert_eq!(m.used, 3_072_000);
        assert_eq!(m.percent, 75.0);
        assert_eq!(m.cached, 409_600);
        assert_eq!(m.wired, 40_960);
        assert_eq!(virtual_memory(&PerfPages::default()).percent, 0.0);
    }

    #[test]
    fn swap_is_commit_limit_minus_ram_with_pdh_percent() {
        let s = swap_memory(&perf(), 12.34);
        assert_eq!(s.total, 500 * 4096);
        assert_eq!(s.used, (0.01 * 12.34 * (500.0 * 4096.0)) as u64);
        assert_eq!(s.free, s.total - s.used);
        assert_eq!(s.percent, 12.3);
        let none = swap_memory(
            &PerfPages {
                commit_limit: 1000,
                ..perf()
            },
            50.0,
        );
        assert_eq!((none.total, none.used, none.percent), (0, 0, 0.0));
    }
}
