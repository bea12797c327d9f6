//! The native heap on Windows: psutil 8's `heap_info()` / `heap_trim()` (`arch/windows/heap.c`).

use std::ffi::c_void;

use windows_sys::Win32::Foundation::{HANDLE, SetLastError};
use windows_sys::Win32::System::Memory::{
    GetProcessHeap, GetProcessHeaps, HeapCompact, HeapLock, HeapUnlock, HeapWalk,
    MEMORY_BASIC_INFORMATION, PROCESS_HEAP_ENTRY, VirtualQuery,
};

use super::records::is_virtual_alloc_region;
use super::{last_error, last_win_error};
use crate::error::Result;
use crate::heap::HeapInfo;

/// `PROCESS_HEAP_ENTRY_BUSY`: an allocated block.
const PROCESS_HEAP_ENTRY_BUSY: u16 = 0x0004;
/// `ERROR_NO_MORE_ITEMS`: the end of a heap walk.
const ERROR_NO_MORE_ITEMS: u32 = 259;

/// Every heap of the calling process (`GetProcessHeaps`, called twice; the smaller count wins if
/// heaps went away in between, psutil #2946).
fn process_heaps() -> Result<Vec<HANDLE>> {
    // SAFETY: a 0-length call only returns the count.
    let n = unsafe { GetProcessHeaps(0, std::ptr::null_mut()) };
    if n == 0 {
        return Err(last_win_error(None, "GetProcessHeaps"));
    }
    let mut heaps: Vec<HANDLE> = vec![std::ptr::null_mut(); n as usize];
    // SAFETY: `heaps` has room for `n` handles.
    let got = unsafe { GetProcessHeaps(n, heaps.as_mut_ptr()) };
    if got == 0 {
        return Err(last_win_error(None, "GetProcessHeaps"));
    }
    heaps.truncate(got.min(n) as usize);
    Ok(heaps)
}

/// Bytes in busy blocks of one heap (`HeapWalk` under `HeapLock`).
fn heap_busy_bytes(heap: HANDLE) -> Result<u64> {
    let mut used = 0u64;
    // SAFETY: the heap handle came from GetProcessHeaps; the walk entry starts zeroed (lpData
    // null) as HeapWalk requires; the heap is locked for the walk and unlocked on every path.
    unsafe {
        if HeapLock(heap) == 0 {
            return Err(last_win_error(None, "HeapLock"));
        }
        let mut entry: PROCESS_HEAP_ENTRY = std::mem::zeroed();
        let result = loop {
            if HeapWalk(heap, &mut entry) == 0 {
                let code = last_error();
                break if code == ERROR_NO_MORE_ITEMS {
                    Ok(used)
                } else {
                    Err(super::win_error(None, "HeapWalk", code))
                };
            }
            if entry.wFlags & PROCESS_HEAP_ENTRY_BUSY != 0 {
                used += u64::from(entry.cbData);
            }
        };
        HeapUnlock(heap);
        result
    }
}

/// psutil's Windows `heap_info()`: `heap_used` = bytes of busy blocks in every process heap
/// (`HeapWalk`; Rust's `System` allocator uses the default one), `mmap_used` = committed private
/// read-write regions outside the heaps (`VirtualQuery`: what `VirtualAlloc` handed out),
/// `heap_count` = `GetProcessHeaps`' count (grows with `HeapCreate`).
pub(crate) fn info() -> Result<HeapInfo> {
    let heaps = process_heaps()?;
    let mut heap_used = 0u64;
    for &heap in &heaps {
        heap_used += heap_busy_bytes(heap)?;
    }
    let bases: Vec<usize> = heaps.iter().map(|&h| h as usize).collect();
    let mut mmap_used = 0u64;
    let mut addr: usize = 0;
    loop {
        // SAFETY: VirtualQuery writes at most `size_of::<MEMORY_BASIC_INFORMATION>()` bytes into
        // the zeroed local; any address may be queried.
        let (n, mbi) = unsafe {
            let mut mbi: MEMORY_BASIC_INFORMATION = std::mem::zeroed();
            let n = VirtualQuery(
                addr as *const c_void,
                &mut mbi,
                std::mem::size_of::<MEMORY_BASIC_INFORMATION>(),
            );
            (n, mbi)
        };
        if n != std::mem::size_of::<MEMORY_BASIC_INFORMATION>() {
            break;
        }
        if is_virtual_alloc_region(
            mbi.State,
            mbi.Type,
            mbi.AllocationProtect,
            mbi.AllocationBase as usize,
            &bases,
        ) {
            mmap_used += mbi.RegionSize as u64;
        }
        match (mbi.BaseAddress as usize).checked_add(mbi.RegionSize) {
            Some(next) if next > addr => addr = next,
            _ => break,
        }
    }
    Ok(HeapInfo {
        heap_used,
        mmap_used,
        heap_count: heaps.len() as u64,
        allocator: "windows",
    })
}

/// psutil's `heap_trim()`: `HeapCompact(GetProcessHeap(), 0)`; a 0 return is an error only when
/// `GetLastError` is set. Returns whether the heap has any free block left (the largest one is
/// not 0).
pub(crate) fn trim() -> Result<bool> {
    // SAFETY: the default heap handle is valid for the process's lifetime.
    let largest = unsafe {
        SetLastError(0);
        HeapCompact(GetProcessHeap(), 0)
    };
    if largest == 0 {
        let code = last_error();
        if code != 0 {
            return Err(super::win_error(None, "HeapCompact", code));
        }
    }
    Ok(largest != 0)
}
