//! jemalloc (`tikv-jemallocator`): `stats.allocated` / `stats.mapped` after a tcache flush and an
//! epoch advance; trim purges all arenas.
#![allow(unsafe_code)]

use std::ffi::CStr;

use super::HeapInfo;
use crate::error::{Error, Result};

fn ctl_err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Unsupported(format!("jemalloc {what}: {e}"))
}

/// Runs a void mallctl (no old or new value), such as `thread.tcache.flush`.
fn void_ctl(name: &CStr) -> Result<()> {
    // SAFETY: a NUL-terminated name and null old/new pointers, as jemalloc documents for void
    // mallctls.
    let rc = unsafe {
        tikv_jemalloc_sys::mallctl(
            name.as_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(ctl_err(
            &name.to_string_lossy(),
            std::io::Error::from_raw_os_error(rc),
        ))
    }
}

pub(super) fn info() -> Result<HeapInfo> {
    // Chunks cached in this thread's tcache would otherwise hide small leaks (psutil #2699).
    void_ctl(c"thread.tcache.flush")?;
    tikv_jemalloc_ctl::epoch::advance().map_err(|e| ctl_err("epoch", e))?;
    let allocated = tikv_jemalloc_ctl::stats::allocated::read().map_err(|e| ctl_err("stats", e))?;
    let mapped = tikv_jemalloc_ctl::stats::mapped::read().map_err(|e| ctl_err("stats", e))?;
    Ok(HeapInfo {
        heap_used: allocated as u64,
        mmap_used: mapped as u64,
        allocator: "jemalloc",
        legacy_mallinfo: false,
    })
}

pub(super) fn trim() -> Result<bool> {
    // 4096 is MALLCTL_ARENAS_ALL.
    void_ctl(c"arena.4096.purge")?;
    Ok(true)
}
