//! System memory and swap on macOS: the records and psutil 8's formulas
//! (`arch/osx/mem.c`, `_psosx.py`), from the raw `vm_statistics64` words, `hw.memsize` and
//! `vm.swapusage`.

use crate::neutral::numbers::percent;

/// System memory, in bytes: psutil 8's `virtual_memory()` on macOS. `total` is `hw.memsize`;
/// the others are `host_statistics64(HOST_VM_INFO64)` page counts × the kernel page size
/// (`vm_kernel_page_size`: 16 KiB on Apple silicon, also for an x86_64 build under Rosetta).
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct VirtualMemory {
    /// Physical memory (`sysctl hw.memsize`).
    pub total: u64,
    /// Memory available without swapping: `inactive + free` pages (`free_count` before
    /// speculative pages are taken out; psutil's and Zabbix's choice).
    pub available: u64,
    /// `(total - available) / total × 100`, rounded to one decimal.
    pub percent: f64,
    /// `active + wired` pages.
    pub used: u64,
    /// `free_count - speculative_count` pages: `vm_stat`'s "Pages free".
    pub free: u64,
    /// Recently used pages (`active_count`).
    pub active: u64,
    /// Pages not used lately, reclaimable (`inactive_count`).
    pub inactive: u64,
    /// Pages the kernel keeps in RAM (`wire_count`).
    pub wired: u64,
}

/// Swap, in bytes: psutil 8's `swap_memory()` on macOS (`sysctl vm.swapusage`, an `xsw_usage`).
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct SwapMemory {
    /// The swap files' size (`xsu_total`; macOS grows and shrinks them on demand).
    pub total: u64,
    /// Swap in use (`xsu_used`).
    pub used: u64,
    /// Swap free (`xsu_avail`).
    pub free: u64,
    /// `used / total × 100`, rounded to one decimal (0 with no swap).
    pub percent: f64,
    /// Bytes paged in since boot: `pageins` × page size. As in psutil this counts every pager
    /// page-in (file-backed ones too, what `vm_stat` calls "Pageins"), not only swap-ins.
    pub sin: u64,
    /// Bytes paged out since boot: `pageouts` × page size (every pager page-out, as `vm_stat`'s
    /// "Pageouts"; not only swap-outs).
    pub sout: u64,
}

/// The `vm_statistics64` counts psutil reads (pages).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct VmCounts {
    pub free: u64,
    pub active: u64,
    pub inactive: u64,
    pub wire: u64,
    pub speculative: u64,
    pub pageins: u64,
    pub pageouts: u64,
}

/// Byte offsets in `struct vm_statistics64` (`<mach/vm_statistics.h>`; 152 bytes, 38 words).
pub(crate) mod vm_statistics64 {
    pub const FREE_COUNT: usize = 0;
    pub const ACTIVE_COUNT: usize = 4;
    pub const INACTIVE_COUNT: usize = 8;
    pub const WIRE_COUNT: usize = 12;
    pub const PAGEINS: usize = 32;
    pub const PAGEOUTS: usize = 40;
    pub const SPECULATIVE_COUNT: usize = 92;
    pub const SIZE: usize = 152;
}

/// The counts from the `integer_t` words `host_statistics64(HOST_VM_INFO64)` wrote (`words` is
/// the first `count` of them). psutil's #2853 workaround: the call gets a `HOST_INFO_MAX`-word
/// buffer, so a kernel whose struct outgrew the SDK's answers instead of failing, and a field
/// beyond what the kernel wrote reads 0 (psutil zero-fills).
pub(crate) fn vm_counts(words: &[i32]) -> VmCounts {
    use vm_statistics64 as o;
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_ne_bytes()).collect();
    let u32_at = |at: usize| {
        bytes
            .get(at..at + 4)
            .and_then(|b| b.try_into().ok())
            .map_or(0, |b| u64::from(u32::from_ne_bytes(b)))
    };
    let u64_at = |at: usize| {
        bytes
            .get(at..at + 8)
            .and_then(|b| b.try_into().ok())
            .map_or(0, u64::from_ne_bytes)
    };
    VmCounts {
        free: u32_at(o::FREE_COUNT),
        active: u32_at(o::ACTIVE_COUNT),
        inactive: u32_at(o::INACTIVE_COUNT),
        wire: u32_at(o::WIRE_COUNT),
        speculative: u32_at(o::SPECULATIVE_COUNT),
        pageins: u64_at(o::PAGEINS),
        pageouts: u64_at(o::PAGEOUTS),
    }
}

/// psutil 8's `virtual_memory()` formulas (`arch/osx/mem.c`).
pub(crate) fn virtual_memory(total: u64, c: &VmCounts, page_size: u64) -> VirtualMemory {
    let bytes = |pages: u64| pages.saturating_mul(page_size);
    let available = bytes(c.inactive.saturating_add(c.free));
    VirtualMemory {
        total,
        available,
        percent: percent(total.saturating_sub(available), total),
        used: bytes(c.active.saturating_add(c.wire)),
        free: bytes(c.free.saturating_sub(c.speculative)),
        active: bytes(c.active),
        inactive: bytes(c.inactive),
        wired: bytes(c.wire),
    }
}

/// The `struct xsw_usage` fields psutil reads (bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct SwapUsage {
    pub total: u64,
    pub avail: u64,
    pub used: u64,
}

/// psutil 8's `swap_memory()` formulas: the `xsw_usage` bytes, and page-ins/outs × page size.
pub(crate) fn swap_memory(s: &SwapUsage, c: &VmCounts, page_size: u64) -> SwapMemory {
    SwapMemory {
        total: s.total,
        used: s.used,
        free: s.avail,
        percent: percent(s.used, s.total),
        sin: c.pageins.saturating_mul(page_size),
        sout: c.pageouts.saturating_mul(page_size),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `vm_statistics64` as the kernel writes it, in words: free 1000, active 2000, inactive
    /// 3000, wire 500, speculative 200, pageins 7, pageouts 2^32 + 1 (both halves of a u64).
    fn words() -> Vec<i32> {
        let mut b = vec![0u8; vm_statistics64::SIZE];
        let put32 = |b: &mut Vec<u8>, at: usize, v: u32| {
            b[at..at + 4].copy_from_slice(&v.to_ne_bytes());
        };
        put32(&mut b, 0, 1000);
        put32(&mut b, 4, 2000);
        put32(&mut b, 8, 3000);
        put32(&mut b, 12, 500);
        put32(&mut b, 92, 200);
        b[32..40].copy_from_slice(&7u64.to_ne_bytes());
        b[40..48].copy_from_slice(&((1u64 << 32) + 1).to_ne_bytes());
        b.chunks_exact(4)
            .map(|c| i32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    }

    #[test]
    fn counts_are_read_at_the_header_offsets() {
        let w = words();
        assert_eq!(w.len(), 38); // HOST_VM_INFO64_COUNT
        let c = vm_counts(&w);
        assert_eq!(
            c,
            VmCounts {
                free: 1000,
                active: 2000,
                inactive: 3000,
                wire: 500,
                speculative: 200,
                pageins: 7,
                pageouts: (1 << 32) + 1,
            }
        );
        // A kernel that wrote fewer words (an old revision): the rest reads 0, not garbage.
        let short = vm_counts(&w[..4]);
        assert_eq!((short.wire, short.speculative, short.pageins), (500, 0, 0));
        assert_eq!(vm_counts(&[]), VmCounts::default());
    }

    #[test]
    fn virtual_memory_follows_psutil_with_16k_pages() {
        // 16 GiB of RAM, 16 KiB pages (Apple silicon).
        let total = 16 << 30;
        let m = virtual_memory(total, &vm_counts(&words()), 16384);
        assert_eq!(m.available, (3000 + 1000) * 16384); // 65_536_000
        assert_eq!(m.used, (2000 + 500) * 16384); // 40_960_000
        assert_eq!(m.free, (1000 - 200) * 16384); // 13_107_200
        assert_eq!(m.active, 32_768_000);
        assert_eq!(m.inactive, 49_152_000);
        assert_eq!(m.wired, 8_192_000);
        // (17_179_869_184 - 65_536_000) / 17_179_869_184 = 99.6185...%
        assert_eq!(m.percent, 99.6);
        assert_eq!(virtual_memory(0, &VmCounts::default(), 4096).percent, 0.0);
    }

    #[test]
    fn free_never_goes_below_zero() {
        let c = VmCounts {
            free: 10,
            speculative: 20,
            ..VmCounts::default()
        };
        assert_eq!(virtual_memory(1 << 20, &c, 4096).free, 0);
    }

    #[test]
    fn swap_follows_psutil() {
        let s = SwapUsage {
            total: 2 << 30,
            avail: (2 << 30) - (512 << 20),
            used: 512 << 20,
        };
        let sw = swap_memory(&s, &vm_counts(&words()), 4096);
        assert_eq!(sw.total, 2_147_483_648);
        assert_eq!(sw.used, 536_870_912);
        assert_eq!(sw.free, 1_610_612_736);
        assert_eq!(sw.percent, 25.0);
        assert_eq!(sw.sin, 7 * 4096);
        assert_eq!(sw.sout, ((1 << 32) + 1) * 4096);
        let none = swap_memory(&SwapUsage::default(), &VmCounts::default(), 4096);
        assert_eq!(none.percent, 0.0);
    }
}
