//! The native heap on macOS: psutil 8's `heap_info()` / `heap_trim()` (`arch/osx/heap.c`), over
//! every malloc zone. Rust's `System` allocator is libmalloc, so Rust allocations count too.

use mach2::kern_return::KERN_SUCCESS;
use mach2::traps::mach_task_self;

use super::ffi::{malloc_get_all_zones, malloc_zone_pressure_relief};
use crate::error::Result;
use crate::heap::HeapInfo;

/// The calling process's malloc zones (`malloc_get_all_zones` on its own task), or the default
/// zone alone when that fails, as psutil falls back.
fn zones() -> Vec<*mut libc::malloc_zone_t> {
    let mut addresses: *mut mach2::vm_types::vm_address_t = std::ptr::null_mut();
    let mut count: libc::c_uint = 0;
    // SAFETY: the own task with a null reader reads the zone list in place; both out-pointers
    // are locals.
    let kr = unsafe { malloc_get_all_zones(mach_task_self(), None, &mut addresses, &mut count) };
    if kr != KERN_SUCCESS || addresses.is_null() || count == 0 {
        // SAFETY: the default zone always exists.
        return vec![unsafe { libc::malloc_default_zone() }];
    }
    // SAFETY: on success `addresses` points to `count` zone addresses owned by libmalloc (not
    // to be freed), valid while no zone is created or destroyed; they are copied out at once.
    let list = unsafe { std::slice::from_raw_parts(addresses, count as usize) };
    list.iter()
        .map(|&a| a as *mut libc::malloc_zone_t)
        .filter(|z| !z.is_null())
        .collect()
}

/// psutil's macOS `heap_info()`: `heap_used` = Σ `size_in_use` of `malloc_zone_statistics`
/// over every zone; `mmap_used` is 0 (libmalloc reports large allocations inside the zones).
pub(crate) fn info() -> Result<HeapInfo> {
    let mut heap_used = 0u64;
    for zone in zones() {
        // SAFETY: malloc_statistics_t is plain data that the call fills for a live zone.
        let stats = unsafe {
            let mut s: libc::malloc_statistics_t = std::mem::zeroed();
            libc::malloc_zone_statistics(zone, &mut s);
            s
        };
        heap_used = heap_used.saturating_add(stats.size_in_use as u64);
    }
    Ok(HeapInfo {
        heap_used,
        mmap_used: 0,
        allocator: "libmalloc",
        legacy_mallinfo: false,
    })
}

/// psutil's `heap_trim()`: `malloc_zone_pressure_relief(zone, 0)` on every zone. Returns whether
/// any zone released memory.
pub(crate) fn trim() -> Result<bool> {
    let mut released = 0usize;
    for zone in zones() {
        // SAFETY: a live zone from the zone list; goal 0 asks for as much as possible.
        released = released.saturating_add(unsafe { malloc_zone_pressure_relief(zone, 0) });
    }
    Ok(released > 0)
}
