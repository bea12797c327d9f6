//! The native heap on FreeBSD: psutil 8's `heap_info()` / `heap_trim()` (`arch/bsd/heap.c`)
//! through jemalloc's `mallctl`, jemalloc being FreeBSD's libc `malloc` (and so the allocator
//! behind Rust's `System`).

use std::ffi::{CStr, c_void};

use crate::error::{Error, Result};
use crate::heap::HeapInfo;

/// A `mallctl` failure: jemalloc returns its error code (it does not set errno). `ENOENT` means
/// the name is unknown: the allocator is not jemalloc, or was built without statistics.
fn ctl_error(name: &CStr, rc: i32) -> Error {
    let name = name.to_string_lossy();
    if rc == libc::ENOENT {
        Error::Unsupported(format!(
            "mallctl {name:?} is unknown: malloc is not jemalloc or has no statistics"
        ))
    } else {
        Error::call_failed(
            format!("mallctl {name}"),
            std::io::Error::from_raw_os_error(rc),
        )
    }
}

/// `mallctl(name, old, oldlen, new, newlen)`, its return code mapped.
///
/// # Safety
/// `old`/`new` must be null or point to as many bytes as `oldlen`/`newlen` say, of the type the
/// control `name` reads or writes.
unsafe fn mallctl(
    name: &CStr,
    old: *mut c_void,
    oldlen: *mut usize,
    new: *mut c_void,
    newlen: usize,
) -> Result<()> {
    // SAFETY: `name` is NUL-terminated; the caller vouches for the pointers.
    let rc = unsafe { libc::mallctl(name.as_ptr(), old, oldlen, new, newlen) };
    if rc == 0 {
        Ok(())
    } else {
        Err(ctl_error(name, rc))
    }
}

/// Reads a `size_t` statistic.
fn read_size(name: &CStr) -> Result<u64> {
    let mut value: usize = 0;
    let mut len = std::mem::size_of::<usize>();
    // SAFETY: `value` is a `size_t` of `len` bytes, the type of jemalloc's `stats.*` sizes.
    unsafe {
        mallctl(
            name,
            (&raw mut value).cast(),
            &mut len,
            std::ptr::null_mut(),
            0,
        )?
    };
    Ok(value as u64)
}

/// Whether `malloc` is jemalloc: its `version` control answers (with a `const char *`).
fn is_jemalloc() -> bool {
    let mut version: *const libc::c_char = std::ptr::null();
    let mut len = std::mem::size_of::<*const libc::c_char>();
    // SAFETY: `version` is a pointer of `len` bytes, the type the `version` control reads.
    unsafe {
        mallctl(
            c"version",
            (&raw mut version).cast(),
            &mut len,
            std::ptr::null_mut(),
            0,
        )
    }
    .is_ok()
        && !version.is_null()
}

fn require_jemalloc() -> Result<()> {
    if is_jemalloc() {
        Ok(())
    } else {
        Err(Error::Unsupported(
            "heap figures need jemalloc, FreeBSD's libc malloc; this process's malloc does not \
             answer mallctl(\"version\")"
                .to_string(),
        ))
    }
}

/// psutil's BSD `heap_info()`: this thread's tcache flushed (`thread.tcache.flush`, so cached
/// chunks do not hide small leaks), the statistics refreshed (`epoch` written back), then
/// `heap_used = stats.allocated` and `mmap_used = stats.mapped`.
pub(crate) fn info() -> Result<HeapInfo> {
    require_jemalloc()?;
    // SAFETY: a void control: no old or new value. It fails only when this thread has no tcache
    // (`opt.tcache` off), which leaves nothing to flush.
    let _no_tcache = unsafe {
        mallctl(
            c"thread.tcache.flush",
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        )
    };
    let mut epoch: u64 = 1;
    let mut len = std::mem::size_of::<u64>();
    // SAFETY: `epoch` is the `uint64_t` the control reads and writes, `len` bytes both ways.
    unsafe {
        mallctl(
            c"epoch",
            (&raw mut epoch).cast(),
            &mut len,
            (&raw mut epoch).cast(),
            std::mem::size_of::<u64>(),
        )?;
    }
    Ok(HeapInfo {
        heap_used: read_size(c"stats.allocated")?,
        mmap_used: read_size(c"stats.mapped")?,
        allocator: "jemalloc",
        legacy_mallinfo: false,
    })
}

/// psutil's BSD `heap_trim()`: `arena.4096.purge` (4096 is `MALLCTL_ARENAS_ALL`), which
/// returns every arena's unused dirty pages to the OS. Always `true` when it succeeds.
pub(crate) fn trim() -> Result<bool> {
    require_jemalloc()?;
    // SAFETY: a void control: no old or new value.
    unsafe {
        mallctl(
            c"arena.4096.purge",
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        )?;
    }
    Ok(true)
}
