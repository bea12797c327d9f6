//! USS on macOS: psutil 8's `proc_pidinfo(PROC_PIDREGIONINFO)` region walk (after Mozilla's
//! `nsMemoryReporterManager`), with the dyld shared region filtered out on arm64 too.

use super::layout::{ProcRegionInfo, SM_COW, SM_LARGE_PAGE, SM_PRIVATE};

/// The instruction set whose shared-region bounds apply to a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arch {
    X86_64,
    Arm64,
}

/// `SHARED_REGION_BASE_*` and `SHARED_REGION_SIZE_*` of `<mach/shared_region.h>` (macOS 11 and
/// later). arm64 takes the largest size XNU has used (6 GiB; older kernels 4 GiB): the filter
/// only drops regions that are not `SM_PRIVATE`, so a wider range cannot hide private memory.
/// psutil has no arm64 case (it checks `CPU_TYPE_ARM`, never true on Apple silicon), so its
/// filter never fires there.
pub(crate) fn shared_region(arch: Arch) -> (u64, u64) {
    match arch {
        Arch::X86_64 => (0x7FF8_0000_0000, 0x7_FE00_0000),
        Arch::Arm64 => (0x1_8000_0000, 0x1_8000_0000),
    }
}

/// Whether `addr` lies in the dyld shared region of `arch`.
pub(crate) fn in_shared_region(addr: u64, arch: Arch) -> bool {
    let (base, size) = shared_region(arch);
    addr >= base && addr - base < size
}

/// The pages of one region that are the process's alone (psutil's accumulation): private and
/// large-page regions count every resident page; copy-on-write regions their private pages, and
/// the shared ones too when nobody else references the object; shared regions, and anything
/// non-private inside the dyld shared region, count nothing.
pub(crate) fn private_pages(r: &ProcRegionInfo, arch: Arch) -> u64 {
    if in_shared_region(r.pri_address, arch) && r.pri_share_mode != SM_PRIVATE {
        return 0;
    }
    let private = u64::from(r.pri_private_pages_resident);
    let shared = u64::from(r.pri_shared_pages_resident);
    match r.pri_share_mode {
        SM_LARGE_PAGE | SM_PRIVATE => private + shared,
        SM_COW if r.pri_ref_count == 1 => private + shared,
        SM_COW => private,
        _ => 0,
    }
}

/// Walks the regions from address 0: `query(addr)` gives the region at or after `addr` (as any
/// record `region` reads a `proc_regioninfo` from), or `None` past the last one. The walk stops,
/// as psutil's does (with a warning there), when a region is empty or does not move the address
/// forward, so a bad answer can never loop. Calls `f` with each record.
pub(crate) fn walk<T, E>(
    mut query: impl FnMut(u64) -> Result<Option<T>, E>,
    region: impl Fn(&T) -> ProcRegionInfo,
    mut f: impl FnMut(&T),
) -> Result<(), E> {
    let mut addr = 0u64;
    while let Some(item) = query(addr)? {
        f(&item);
        let r = region(&item);
        match r.pri_address.checked_add(r.pri_size) {
            Some(next) if r.pri_size != 0 && next > addr => addr = next,
            _ => break,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// USS pages of a walk, as `Process::memory_footprint` sums them.
    fn uss_pages<E>(
        query: impl FnMut(u64) -> Result<Option<ProcRegionInfo>, E>,
        arch: Arch,
    ) -> Result<u64, E> {
        let mut pages = 0u64;
        walk(query, |r| *r, |r| pages += private_pages(r, arch))?;
        Ok(pages)
    }

    fn region(
        address: u64,
        size: u64,
        mode: u32,
        private: u32,
        shared: u32,
        refs: u32,
    ) -> ProcRegionInfo {
        ProcRegionInfo {
            pri_address: address,
            pri_size: size,
            pri_share_mode: mode,
            pri_private_pages_resident: private,
            pri_shared_pages_resident: shared,
            pri_ref_count: refs,
            ..ProcRegionInfo::default()
        }
    }

    #[test]
    fn share_modes_count_as_psutil() {
        let a = Arch::X86_64;
        assert_eq!(
            private_pages(&region(0x1000, 0x1000, SM_PRIVATE, 3, 2, 1), a),
            5
        );
        assert_eq!(
            private_pages(&region(0x1000, 0x1000, SM_LARGE_PAGE, 3, 2, 1), a),
            5
        );
        assert_eq!(
            private_pages(&region(0x1000, 0x1000, SM_COW, 3, 2, 1), a),
            5
        );
        assert_eq!(
            private_pages(&region(0x1000, 0x1000, SM_COW, 3, 2, 2), a),
            3
        );
        assert_eq!(
            private_pages(&region(0x1000, 0x1000, 4 /* SM_SHARED */, 3, 2, 1), a),
            0
        );
        assert_eq!(
            private_pages(&region(0x1000, 0x1000, 3 /* SM_EMPTY */, 3, 2, 1), a),
            0
        );
    }

    #[test]
    fn shared_region_is_filtered_on_both_architectures() {
        // arm64: 0x1_8000_0000 .. 0x3_0000_0000.
        assert!(!in_shared_region(0x1_7FFF_FFFF, Arch::Arm64));
        assert!(in_shared_region(0x1_8000_0000, Arch::Arm64));
        assert!(in_shared_region(0x2_FFFF_FFFF, Arch::Arm64));
        assert!(!in_shared_region(0x3_0000_0000, Arch::Arm64));
        // x86_64: 0x7FF8_0000_0000 .. 0x7FFF_FE00_0000.
        assert!(in_shared_region(0x7FFF_0000_0000, Arch::X86_64));
        assert!(!in_shared_region(0x7FFF_FE00_0000, Arch::X86_64));
        assert!(!in_shared_region(0x1_8000_0000, Arch::X86_64));
        // A COW library page in the arm64 shared region counts nothing; a private one counts.
        let cow = region(0x1_9000_0000, 0x4000, SM_COW, 7, 1, 1);
        assert_eq!(private_pages(&cow, Arch::Arm64), 0);
        assert_eq!(private_pages(&cow, Arch::X86_64), 8);
        let private = region(0x1_9000_0000, 0x4000, SM_PRIVATE, 7, 1, 1);
        assert_eq!(private_pages(&private, Arch::Arm64), 8);
    }

    #[test]
    fn walk_sums_and_stops_on_a_stuck_address() {
        let regions = [
            region(0x1000, 0x1000, SM_PRIVATE, 1, 0, 1),
            region(0x4000, 0x2000, SM_COW, 2, 5, 3),
        ];
        let query = |addr: u64| -> Result<Option<ProcRegionInfo>, ()> {
            Ok(regions
                .iter()
                .find(|r| r.pri_address + r.pri_size > addr)
                .copied())
        };
        assert_eq!(uss_pages(query, Arch::Arm64), Ok(3));
        // A region of size 0 would be asked for again and again: the walk stops after it.
        let mut calls = 0;
        let stuck = |_: u64| -> Result<Option<ProcRegionInfo>, ()> {
            calls += 1;
            Ok(Some(region(0x1000, 0, SM_PRIVATE, 1, 0, 1)))
        };
        assert_eq!(uss_pages(stuck, Arch::Arm64), Ok(1));
        assert_eq!(calls, 1);
        // A region that ends at the top of the address space ends the walk, no overflow.
        let top = |_: u64| -> Result<Option<ProcRegionInfo>, ()> {
            Ok(Some(region(u64::MAX - 10, 100, SM_PRIVATE, 1, 0, 1)))
        };
        assert_eq!(uss_pages(top, Arch::Arm64), Ok(1));
        // Errors pass through.
        assert_eq!(
            uss_pages(|_| Err::<Option<ProcRegionInfo>, _>("denied"), Arch::Arm64),
            Err("denied")
        );
    }
}
