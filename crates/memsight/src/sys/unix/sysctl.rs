//! `sysctl(3)` reads shared by the BSD-derived backends (macOS and FreeBSD): by MIB or by name,
//! into a caller's buffer or a grown one. Errors are the raw `io::Error`; each backend names the
//! failed call its own way.
#![allow(unsafe_code)]

use std::ffi::{CStr, c_int};
use std::io;

use crate::neutral::numbers::ne_uint;

/// `sysctl(mib)` with `old` as the output (null for a size query) and `len` its size in bytes;
/// on return `len` holds the length written (or needed).
///
/// # Safety
/// `old` is null or valid for `*len` bytes of writes.
pub(crate) unsafe fn sysctl_raw(
    mib: &[c_int],
    old: *mut libc::c_void,
    len: &mut usize,
) -> io::Result<()> {
    // SAFETY: `mib` holds `mib.len()` ints (the kernel only reads them); `old` is null or has
    // `*len` writable bytes (the caller's contract) and the kernel writes at most `*len`; no new
    // value is passed.
    let rc = unsafe {
        libc::sysctl(
            mib.as_ptr().cast_mut(),
            mib.len() as libc::c_uint,
            old,
            len,
            std::ptr::null_mut(),
            0,
        )
    };
    if rc == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `sysctl(mib)` into `buf`; the length the kernel wrote.
pub(crate) fn sysctl_into(mib: &[c_int], buf: &mut [u8]) -> io::Result<usize> {
    let mut len = buf.len();
    // SAFETY: `buf` is a live allocation of `len` writable bytes.
    unsafe { sysctl_raw(mib, buf.as_mut_ptr().cast(), &mut len)? };
    Ok(len.min(buf.len()))
}

/// The most a variable-size sysctl buffer may take (a process table, vmmap or file table).
const MAX_SYSCTL_BUFFER: usize = 256 << 20;

/// A variable-size sysctl (`kern.proc.all`, `kern.proc.vmmap.PID`, ...): the size asked first,
/// then read with a third more room (libutil's `kinfo_getvmmap` margin), asked again when the
/// kernel answers `ENOMEM` because the table grew meanwhile (psutil's `psutil_sysctl_malloc`).
pub(crate) fn sysctl_vec(mib: &[c_int]) -> io::Result<Vec<u8>> {
    for _ in 0..8 {
        let mut len = 0usize;
        // SAFETY: a size query: a null output, `len` receives the size needed.
        unsafe { sysctl_raw(mib, std::ptr::null_mut(), &mut len)? };
        let room = len.saturating_add(len / 3).min(MAX_SYSCTL_BUFFER);
        let mut buf = vec![0u8; room];
        match sysctl_into(mib, &mut buf) {
            Ok(n) => {
                buf.truncate(n);
                return Ok(buf);
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOMEM) && room < MAX_SYSCTL_BUFFER => {}
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::from_raw_os_error(libc::ENOMEM))
}

/// `sysctlbyname(name)` into `buf`; the length the kernel wrote.
pub(crate) fn sysctlbyname_into(name: &CStr, buf: &mut [u8]) -> io::Result<usize> {
    let mut len = buf.len();
    // SAFETY: `name` is NUL-terminated; `buf` has `len` writable bytes and the kernel stores the
    // length written in `len`; no new value is passed.
    let rc = unsafe {
        libc::sysctlbyname(
            name.as_ptr(),
            buf.as_mut_ptr().cast(),
            &mut len,
            std::ptr::null_mut(),
            0,
        )
    };
    if rc == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(len.min(buf.len()))
}

/// An unsigned integer sysctl by name, 4 or 8 bytes wide (see [`ne_uint`]); any other length is
/// an error saying so.
pub(crate) fn sysctl_uint_by_name(name: &CStr) -> io::Result<u64> {
    let mut buf = [0u8; 8];
    let n = sysctlbyname_into(name, &mut buf)?;
    ne_uint(&buf[..n]).ok_or_else(|| io::Error::other(format!("unexpected length {n}")))
}
