//! System memory and swap on FreeBSD: the records and psutil 8's formulas
//! (`arch/freebsd/mem.c`) over the raw sysctl values, with two of psutil's FreeBSD figures fixed.

use super::pages;
use crate::neutral::numbers::percent_half_away;

/// System memory, in bytes: psutil 8's `virtual_memory()` on FreeBSD, from `hw.physmem`, the
/// `vm.stats.vm.v_*_count` page counts, `vfs.bufspace` and `vm.vmtotal`.
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct VirtualMemory {
    /// Physical memory (`hw.physmem`).
    pub total: u64,
    /// `inactive + cached + free`: what can be handed out without swapping (psutil's formula,
    /// after the freebsd-memory script and Zabbix).
    pub available: u64,
    /// `(total - available) / total × 100`, rounded to one decimal (halves away from zero, as
    /// psutil's C code rounds).
    pub percent: f64,
    /// `active + wired + cached` (psutil's formula; it is not `total - available`).
    pub used: u64,
    /// Free pages (`v_free_count`) × the page size.
    pub free: u64,
    /// Pages in active use (`v_active_count`) × the page size.
    pub active: u64,
    /// Pages not used lately (`v_inactive_count`) × the page size.
    pub inactive: u64,
    /// The buffer cache (`vfs.bufspace`, bytes).
    pub buffers: u64,
    /// Cached pages (`v_cache_count`) × the page size; 0 on FreeBSD 12 and later, which dropped
    /// that queue (and the sysctl).
    pub cached: u64,
    /// Resident shared memory: `vmtotal.t_rmshr` × the page size. psutil 8 adds the *virtual*
    /// shared pages too (`t_vmshr + t_rmshr`), counting resident shared pages twice; memsight
    /// counts them once, as psutil does on NetBSD and OpenBSD since 8.0.
    pub shared: u64,
    /// Wired pages, which cannot be paged out (`v_wire_count`) × the page size.
    pub wired: u64,
}

/// Swap, in bytes: psutil 8's `swap_memory()` on FreeBSD. The totals are what
/// `kvm_getswapinfo` reports on a running kernel, read from the same `vm.swap_info` sysctl.
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct SwapMemory {
    /// Σ (`xsw_nblks` − `vm.dmmax`) pages of every swap device × the page size (the
    /// `kvm_getswapinfo` total).
    pub total: u64,
    /// Σ `xsw_used` pages × the page size.
    pub used: u64,
    /// `total - used`.
    pub free: u64,
    /// `used / total × 100`, rounded to one decimal; 0 without swap.
    pub percent: f64,
    /// Bytes swapped in since boot: `vm.stats.vm.v_swappgsin` pages × the page size. psutil 8
    /// reports `v_swapin + v_swapout` here, a count of pager operations (not bytes, and with the
    /// swap-outs mixed in).
    pub sin: u64,
    /// Bytes swapped out since boot: `vm.stats.vm.v_swappgsout` pages × the page size. psutil 8
    /// reports `v_vnodein + v_vnodeout` here, a count of vnode pager operations.
    pub sout: u64,
}

/// The raw values `virtual_memory` is computed from: bytes where said, pages otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct VmCounts {
    /// `sysconf(_SC_PAGESIZE)`.
    pub page_size: u64,
    /// `hw.physmem`, bytes.
    pub physmem: u64,
    /// `vm.stats.vm.v_active_count`.
    pub active: u64,
    /// `vm.stats.vm.v_inactive_count`.
    pub inactive: u64,
    /// `vm.stats.vm.v_wire_count`.
    pub wire: u64,
    /// `vm.stats.vm.v_free_count`.
    pub free: u64,
    /// `vm.stats.vm.v_cache_count` (0 when the sysctl is gone, as psutil takes it).
    pub cache: u64,
    /// `vfs.bufspace`, bytes.
    pub bufspace: u64,
    /// `vmtotal.t_rmshr`: resident shared pages.
    pub shared_resident: u64,
}

/// psutil 8's FreeBSD `virtual_memory()` formulas (with `shared` counted once; see
/// [`VirtualMemory::shared`]).
pub(crate) fn virtual_memory(c: &VmCounts) -> VirtualMemory {
    let ps = c.page_size;
    let bytes = |n: u64| n.saturating_mul(ps);
    let (active, inactive, wired, free, cached) = (
        bytes(c.active),
        bytes(c.inactive),
        bytes(c.wire),
        bytes(c.free),
        bytes(c.cache),
    );
    let total = c.physmem;
    let available = inactive.saturating_add(cached).saturating_add(free);
    VirtualMemory {
        total,
        available,
        percent: percent_half_away(total.saturating_sub(available), total),
        used: active.saturating_add(wired).saturating_add(cached),
        free,
        active,
        inactive,
        buffers: c.bufspace,
        cached,
        shared: bytes(c.shared_resident),
        wired,
    }
}

/// `struct xswdev` of `<vm/vm_param.h>` (`XSWDEV_VERSION` 2, FreeBSD 12 and later, where `dev_t`
/// is 64 bits): one swap device, as the `vm.swap_info.N` sysctl returns it.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Xswdev {
    /// `XSWDEV_VERSION`.
    pub xsw_version: u32,
    /// The device.
    pub xsw_dev: u64,
    /// `SW_*` flags.
    pub xsw_flags: i32,
    /// Size in pages.
    pub xsw_nblks: i32,
    /// Pages in use.
    pub xsw_used: i32,
}

/// The `xsw_version` memsight understands.
pub(crate) const XSWDEV_VERSION: u32 = 2;

const _: () = {
    use std::mem::{offset_of, size_of};
    assert!(size_of::<Xswdev>() == 32);
    assert!(offset_of!(Xswdev, xsw_version) == 0);
    assert!(offset_of!(Xswdev, xsw_dev) == 8);
    assert!(offset_of!(Xswdev, xsw_flags) == 16);
    assert!(offset_of!(Xswdev, xsw_nblks) == 20);
    assert!(offset_of!(Xswdev, xsw_used) == 24);
};

/// libkvm's `kvm_getswapinfo_sysctl` totals: (Σ `xsw_nblks - dmmax`, Σ `xsw_used`), in pages. A
/// device smaller than `dmmax` counts as 0 rather than negative.
pub(crate) fn swap_pages(devices: &[Xswdev], dmmax: i32) -> (u64, u64) {
    devices.iter().fold((0u64, 0u64), |(total, used), d| {
        let size = (i64::from(d.xsw_nblks) - i64::from(dmmax)).max(0) as u64;
        let in_use = u64::try_from(d.xsw_used).unwrap_or(0);
        (total.saturating_add(size), used.saturating_add(in_use))
    })
}

/// The raw values `swap_memory` is computed from, in pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct SwapCounts {
    /// `sysconf(_SC_PAGESIZE)`.
    pub page_size: u64,
    /// [`swap_pages`]' total.
    pub total: u64,
    /// [`swap_pages`]' used.
    pub used: u64,
    /// `vm.stats.vm.v_swappgsin`.
    pub pages_in: u64,
    /// `vm.stats.vm.v_swappgsout`.
    pub pages_out: u64,
}

/// psutil 8's FreeBSD `swap_memory()` formulas, with `sin`/`sout` in bytes (see [`SwapMemory`]).
pub(crate) fn swap_memory(c: &SwapCounts) -> SwapMemory {
    let total = pages_u(c.total, c.page_size);
    let used = pages_u(c.used, c.page_size).min(total);
    SwapMemory {
        total,
        used,
        free: total - used,
        percent: percent_half_away(used, total),
        sin: pages_u(c.pages_in, c.page_size),
        sout: pages_u(c.pages_out, c.page_size),
    }
}

fn pages_u(count: u64, page_size: u64) -> u64 {
    pages(i64::try_from(count).unwrap_or(i64::MAX), page_size)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1 << 30;
    const MIB: u64 = 1 << 20;

    #[test]
    fn virtual_memory_follows_psutils_formulas_with_shared_counted_once() {
        // 8 GiB of RAM in 4 KiB pages: 1 GiB active, 512 MiB inactive, 256 MiB wired, 2 GiB
        // free, no cache queue, 100 MiB of buffers, 1000 resident shared pages.
        let c = VmCounts {
            page_size: 4096,
            physmem: 8 * GIB,
            active: 262_144,
            inactive: 131_072,
            wire: 65_536,
            free: 524_288,
            cache: 0,
            bufspace: 100 * MIB,
            shared_resident: 1000,
        };
        let m = virtual_memory(&c);
        assert_eq!(m.total, 8 * GIB);
        assert_eq!(m.available, 2 * GIB + 512 * MIB); // inactive + cached + free
        assert_eq!(m.used, GIB + 256 * MIB); // active + wired + cached
        assert_eq!(m.free, 2 * GIB);
        assert_eq!(m.active, GIB);
        assert_eq!(m.inactive, 512 * MIB);
        assert_eq!(m.wired, 256 * MIB);
        assert_eq!(m.buffers, 100 * MIB);
        assert_eq!(m.cached, 0);
        assert_eq!(m.shared, 4_096_000); // psutil: (t_vmshr + t_rmshr) × 4096
        // (8 GiB - 2.5 GiB) / 8 GiB = 68.75 % exactly: C rounds it to 68.8.
        assert_eq!(m.percent, 68.8);
    }

    #[test]
    fn the_cache_queue_counts_as_available_and_used() {
        let c = VmCounts {
            page_size: 4096,
            physmem: 4 * GIB,
            cache: 1024, // 4 MiB
            ..VmCounts::default()
        };
        let m = virtual_memory(&c);
        assert_eq!((m.available, m.used, m.cached), (4 * MIB, 4 * MIB, 4 * MIB));
        assert_eq!(m.percent, 99.9); // (4096 - 4) / 4096 = 99.902 %
    }

    #[test]
    fn no_ram_gives_zero_percent_not_nan() {
        assert_eq!(virtual_memory(&VmCounts::default()).percent, 0.0);
    }

    #[test]
    fn swap_totals_are_libkvms_less_dmmax_per_device() {
        let dev = |nblks, used| Xswdev {
            xsw_version: XSWDEV_VERSION,
            xsw_nblks: nblks,
            xsw_used: used,
            ..Xswdev::default()
        };
        let devices = [dev(262_144, 1000), dev(131_072, 24), dev(16, 0)];
        // (262144 - 32) + (131072 - 32) + max(16 - 32, 0) = 393152 pages; 1024 pages used.
        assert_eq!(swap_pages(&devices, 32), (393_152, 1024));
        assert_eq!(swap_pages(&[], 32), (0, 0));
    }

    #[test]
    fn swap_memory_is_in_bytes_and_sin_sout_are_pages_times_page_size() {
        let s = swap_memory(&SwapCounts {
            page_size: 4096,
            total: 393_152,
            used: 1024,
            pages_in: 50,
            pages_out: 70,
        });
        assert_eq!(s.total, 1_610_350_592);
        assert_eq!(s.used, 4 * MIB);
        assert_eq!(s.free, 1_610_350_592 - 4 * MIB);
        assert_eq!(s.percent, 0.3); // 0.2605 %
        assert_eq!((s.sin, s.sout), (204_800, 286_720));
    }

    #[test]
    fn no_swap_is_all_zero() {
        let s = swap_memory(&SwapCounts {
            page_size: 4096,
            ..SwapCounts::default()
        });
        assert_eq!((s.total, s.used, s.free, s.percent), (0, 0, 0, 0.0));
    }
}
