//! mimalloc: committed bytes from `mi_process_info`; trim is `mi_collect(true)`.
#![allow(unsafe_code)]

use super::HeapInfo;
use crate::error::Result;

pub(super) fn info() -> Result<HeapInfo> {
    let mut v = [0usize; 8];
    let [
        elapsed,
        user,
        system,
        rss,
        peak_rss,
        commit,
        peak_commit,
        faults,
    ] = &mut v;
    // SAFETY: mi_process_info writes one usize through each of the eight valid pointers.
    unsafe {
        libmimalloc_sys::mi_process_info(
            elapsed,
            user,
            system,
            rss,
            peak_rss,
            commit,
            peak_commit,
            faults,
        );
    }
    Ok(HeapInfo {
        heap_used: v[5] as u64,
        mmap_used: 0,
        allocator: "mimalloc",
        legacy_mallinfo: false,
    })
}

pub(super) fn trim() -> Result<bool> {
    // SAFETY: mi_collect may be called at any time from any thread.
    unsafe { libmimalloc_sys::mi_collect(true) };
    Ok(true)
}
