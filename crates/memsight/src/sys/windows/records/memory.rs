//! Working-set attributes to USS and resident bytes, protections to psutil's letters, and which
//! regions are `VirtualAlloc`'s (for the heap figures).

/// USS from a working-set walk (`PSAPI_WORKING_SET_BLOCK`s: `Protection:5 | ShareCount:3 |
/// Shared:1 | ...`): pages that are not shared, or shared by one process only, × the page size.
pub(crate) fn working_set_uss(blocks: &[usize], page_size: u64) -> u64 {
    let private = blocks
        .iter()
        .filter(|&&e| (e >> 8) & 1 == 0 || (e >> 5) & 7 <= 1)
        .count() as u64;
    private.saturating_mul(page_size)
}

/// USS from `QueryWorkingSetEx` attributes (`PSAPI_WORKING_SET_EX_BLOCK`: `Valid:1 |
/// ShareCount:3 | Win32Protection:11 | Shared:1 | ...`): resident pages not shared, or shared by one
/// process only, × the page size. The fallback where the working-set list cannot be read (Wine).
pub(crate) fn working_set_ex_uss(attributes: &[usize], page_size: u64) -> u64 {
    let private = attributes
        .iter()
        .filter(|&&a| a & 1 == 1 && ((a >> 15) & 1 == 0 || (a >> 1) & 7 <= 1))
        .count() as u64;
    private.saturating_mul(page_size)
}

/// Resident bytes from `QueryWorkingSetEx` attributes (`PSAPI_WORKING_SET_EX_BLOCK`, bit 0
/// `Valid`: the page is in the process's working set): the valid pages × the page size, shared
/// or not. A `memory_maps` region's `rss`.
pub(crate) fn working_set_ex_resident(
    attributes: impl IntoIterator<Item = usize>,
    page_size: u64,
) -> u64 {
    let valid = attributes.into_iter().filter(|&a| a & 1 == 1).count() as u64;
    valid.saturating_mul(page_size)
}

/// psutil's `prot()` letters for a `PAGE_*` protection.
pub(crate) fn prot(protect: u32) -> &'static str {
    match protect & 0xff {
        0x01 => "",
        0x02 => "r",
        0x04 => "rw",
        0x08 => "wc",
        0x10 => "x",
        0x20 => "xr",
        0x40 => "xrw",
        0x80 => "xwc",
        _ => "?",
    }
}

/// Whether a `MEMORY_BASIC_INFORMATION` region counts as `mmap_used` in psutil's `heap_info`:
/// committed, private, read-write at allocation, and not part of a heap.
pub(crate) fn is_virtual_alloc_region(
    state: u32,
    kind: u32,
    allocation_protect: u32,
    allocation_base: usize,
    heaps: &[usize],
) -> bool {
    const MEM_COMMIT: u32 = 0x1000;
    const MEM_PRIVATE: u32 = 0x2_0000;
    const PAGE_READWRITE: u32 = 0x04;
    state == MEM_COMMIT
        && kind == MEM_PRIVATE
        && allocation_protect & PAGE_READWRITE != 0
        && !heaps.contains(&allocation_base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uss_counts_unshared_and_singly_shared_pages() {
        let private = 0x1000;
        let shared_by_one = 0x2000 | (1 << 8) | (1 << 5);
        let shared_by_three = 0x3000 | (1 << 8) | (3 << 5);
        let blocks = [private, shared_by_one, shared_by_three];
        assert_eq!(working_set_uss(&blocks, 4096), 2 * 4096);
    }

    #[test]
    fn uss_from_working_set_ex_counts_valid_private_pages() {
        let private = 1;
        let not_resident = 0;
        let shared_by_one = 1 | (1 << 15) | (1 << 1);
        let shared_by_two = 1 | (1 << 15) | (2 << 1);
        let attrs = [private, not_resident, shared_by_one, shared_by_two];
        assert_eq!(working_set_ex_uss(&attrs, 4096), 2 * 4096);
    }

    #[test]
    fn resident_counts_valid_pages_shared_or_not() {
        let private = 1;
        let not_resident = 0;
        // Valid | ShareCount 3 | Shared: a DLL page shared with others is still resident.
        let shared_by_three = 1 | (3 << 1) | (1 << 15);
        // Shared but not valid: paged out.
        let shared_paged_out = (1 << 15) | (2 << 1);
        let attrs = [private, not_resident, shared_by_three, shared_paged_out];
        assert_eq!(working_set_ex_resident(attrs, 4096), 2 * 4096);
        assert_eq!(working_set_ex_resident([], 4096), 0);
        assert_eq!(working_set_ex_resident([1, 1, 1], 65536), 3 * 65536);
        assert_eq!(working_set_ex_resident([1, 1], u64::MAX), u64::MAX);
    }

    #[test]
    fn prot_letters() {
        assert_eq!(prot(0x01), "");
        assert_eq!(prot(0x04), "rw");
        assert_eq!(prot(0x20 | 0x100), "xr");
        assert_eq!(prot(0x80), "xwc");
        assert_eq!(prot(0x03), "?");
    }

    #[test]
    fn virtual_alloc_regions_exclude_heaps_and_images() {
        assert!(is_virtual_alloc_region(
            0x1000,
            0x2_0000,
            0x04,
            0x5000,
            &[0x1000]
        ));
        assert!(!is_virtual_alloc_region(
            0x1000,
            0x2_0000,
            0x04,
            0x1000,
            &[0x1000]
        ));
        assert!(!is_virtual_alloc_region(
            0x2000,
            0x2_0000,
            0x04,
            0x5000,
            &[]
        ));
        assert!(!is_virtual_alloc_region(
            0x1000,
            0x100_0000,
            0x04,
            0x5000,
            &[]
        ));
        assert!(!is_virtual_alloc_region(
            0x1000,
            0x2_0000,
            0x02,
            0x5000,
            &[]
        ));
    }
}
