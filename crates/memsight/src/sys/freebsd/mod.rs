//! The FreeBSD backend, on `libc`: sysctls for system memory (`vm.stats.vm.*`, `vm.vmtotal`,
//! `vm.swap_info`), `kinfo_proc` and the `kern.proc.*` buffers for processes, jemalloc's
//! `mallctl` for the heap. psutil 8's FreeBSD semantics (see each function), with its `shared`,
//! `sin`/`sout` and `num_fds` figures fixed (see the records). The raw-value conversions are in
//! [`records`], which the Linux unit tests compile too.
//!
//! It is type-checked, linked and unit-tested on its conversions from Linux (scripts/test-cross.sh),
//! not run on a FreeBSD machine.
#![allow(unsafe_code)]

pub(crate) mod boot;
pub(crate) mod heap;
pub(crate) mod process;
pub(crate) mod records;
pub(crate) mod system;

use std::ffi::{CStr, c_int};
use std::io;

use super::unix::user;
use crate::error::{Error, Result};

// The `libc` structs the records' byte offsets and sizes were written from (`<sys/user.h>`,
// `<sys/sysctl.h>`, amd64).
const _: () = {
    use std::mem::{offset_of, size_of};

    use records::buffers as b;
    assert!(size_of::<libc::kinfo_proc>() == 1088); // KINFO_PROC_SIZE
    assert!(size_of::<libc::kinfo_vmentry>() == b::KINFO_VMENTRY_SIZE);
    assert!(offset_of!(libc::kinfo_vmentry, kve_type) == b::KVE_TYPE);
    assert!(offset_of!(libc::kinfo_vmentry, kve_start) == b::KVE_START);
    assert!(offset_of!(libc::kinfo_vmentry, kve_end) == b::KVE_END);
    assert!(offset_of!(libc::kinfo_vmentry, kve_resident) == b::KVE_RESIDENT);
    assert!(offset_of!(libc::kinfo_vmentry, kve_private_resident) == b::KVE_PRIVATE_RESIDENT);
    assert!(offset_of!(libc::kinfo_vmentry, kve_protection) == b::KVE_PROTECTION);
    assert!(offset_of!(libc::kinfo_vmentry, kve_ref_count) == b::KVE_REF_COUNT);
    assert!(offset_of!(libc::kinfo_vmentry, kve_shadow_count) == b::KVE_SHADOW_COUNT);
    assert!(offset_of!(libc::kinfo_vmentry, kve_path) == b::KVE_PATH);
    assert!(size_of::<libc::kinfo_file>() == b::KINFO_FILE_SIZE);
    assert!(offset_of!(libc::kinfo_file, kf_type) == b::KF_TYPE);
    assert!(offset_of!(libc::kinfo_file, kf_fd) == b::KF_FD);
    assert!(offset_of!(libc::kinfo_file, kf_offset) == b::KF_OFFSET);
    // `kf_un` (private in libc) starts right after the 8-byte `kf_offset`.
    assert!(b::KF_OFFSET + 8 == b::KF_VNODE_TYPE);
    assert!(offset_of!(libc::kinfo_file, kf_path) == b::KF_PATH);
    assert!(size_of::<libc::timeval>() == 16);
};

/// `sysctl(mib)` into `buf`; the length the kernel wrote.
pub(crate) fn sysctl_into(mib: &[c_int], buf: &mut [u8]) -> io::Result<usize> {
    let mut len = buf.len();
    // SAFETY: `mib` holds `mib.len()` ints; `buf` has `len` writable bytes, and the kernel writes
    // at most `len` and stores the length written in `len`; no new value is passed.
    let rc = unsafe {
        libc::sysctl(
            mib.as_ptr(),
            mib.len() as u32,
            buf.as_mut_ptr().cast(),
            &mut len,
            std::ptr::null(),
            0,
        )
    };
    if rc == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(len.min(buf.len()))
}

/// The most a variable-size sysctl buffer may take (a process's vmmap or file table).
const MAX_SYSCTL_BUFFER: usize = 256 << 20;

/// A variable-size sysctl (`kern.proc.proc`, `kern.proc.vmmap.PID`, ...): the size asked first,
/// then read with a third more room (libutil's `kinfo_getvmmap` margin), asked again when the
/// kernel answers `ENOMEM` because the table grew meanwhile (psutil's `psutil_sysctl_malloc`).
pub(crate) fn sysctl_vec(mib: &[c_int]) -> io::Result<Vec<u8>> {
    for _ in 0..8 {
        let mut len = 0usize;
        // SAFETY: a size query: null old pointer, `len` receives the size needed.
        let rc = unsafe {
            libc::sysctl(
                mib.as_ptr(),
                mib.len() as u32,
                std::ptr::null_mut(),
                &mut len,
                std::ptr::null(),
                0,
            )
        };
        if rc == -1 {
            return Err(io::Error::last_os_error());
        }
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
            std::ptr::null(),
            0,
        )
    };
    if rc == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(len.min(buf.len()))
}

/// An integer sysctl by name, 4 or 8 bytes wide (a 64-bit counter is read whole; see
/// [`records::system::ne_uint`]).
pub(crate) fn sysctl_uint(name: &CStr) -> Result<u64> {
    let mut buf = [0u8; 8];
    let n = sysctlbyname_into(name, &mut buf).map_err(|e| sysctl_error(name, e))?;
    records::system::ne_uint(&buf[..n]).ok_or_else(|| Error::Io {
        path: name.to_string_lossy().into_owned().into(),
        source: io::Error::other(format!("unexpected length {n}")),
    })
}

/// A failed system-wide sysctl, named: permission errors are [`Error::AccessDenied`].
pub(crate) fn sysctl_error(name: &CStr, e: io::Error) -> Error {
    let path = name.to_string_lossy().into_owned().into();
    match e.raw_os_error() {
        Some(libc::EPERM | libc::EACCES) => Error::AccessDenied { pid: None, path },
        _ => Error::Io { path, source: e },
    }
}
