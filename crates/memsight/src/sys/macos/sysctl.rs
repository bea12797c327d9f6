//! `sysctl(3)` reads: by MIB and by name, into a plain-data value or a byte buffer.

use std::ffi::CStr;
use std::io;

use super::pure::system::sysctl_uint;
use crate::error::{Error, Result};

/// Reads a fixed-size plain-data value at `mib`. Returns the value (zero-filled past what the
/// kernel wrote) and the byte count written.
pub(crate) fn read<T: Copy>(mib: &[libc::c_int], zero: T) -> io::Result<(T, usize)> {
    let mut value = zero;
    let mut len = std::mem::size_of::<T>();
    // SAFETY: `value` is a live, writable `T` of `len` bytes; `mib` is a live slice of its length;
    // no new value is set (null, 0).
    let rc = unsafe {
        libc::sysctl(
            mib.as_ptr().cast_mut(),
            mib.len() as libc::c_uint,
            (&raw mut value).cast(),
            &mut len,
            std::ptr::null_mut(),
            0,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((value, len))
}

/// Reads a variable-size value at `mib` into bytes: asks for the size, then reads, growing the
/// buffer and retrying while the kernel says `ENOMEM` (the table grew meanwhile), up to 64 MiB.
pub(crate) fn read_bytes(mib: &[libc::c_int]) -> io::Result<Vec<u8>> {
    let mut len = 0usize;
    // SAFETY: a size query: null buffer, `len` receives the size.
    let rc = unsafe {
        libc::sysctl(
            mib.as_ptr().cast_mut(),
            mib.len() as libc::c_uint,
            std::ptr::null_mut(),
            &mut len,
            std::ptr::null_mut(),
            0,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    let mut buf = vec![0u8; len + len / 8 + 64];
    loop {
        let mut got = buf.len();
        // SAFETY: `buf` has `got` writable bytes.
        let rc = unsafe {
            libc::sysctl(
                mib.as_ptr().cast_mut(),
                mib.len() as libc::c_uint,
                buf.as_mut_ptr().cast(),
                &mut got,
                std::ptr::null_mut(),
                0,
            )
        };
        if rc == 0 {
            buf.truncate(got);
            return Ok(buf);
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::ENOMEM) || buf.len() >= 64 << 20 {
            return Err(err);
        }
        let bigger = buf.len() * 2;
        buf.resize(bigger, 0);
    }
}

/// Reads an unsigned integer sysctl by name (`sysctlbyname`), 4 or 8 bytes wide.
pub(crate) fn uint_by_name(name: &CStr) -> Result<u64> {
    let mut buf = [0u8; 8];
    let mut len = buf.len();
    // SAFETY: `name` is NUL-terminated; `buf` has `len` writable bytes.
    let rc = unsafe {
        libc::sysctlbyname(
            name.as_ptr(),
            buf.as_mut_ptr().cast(),
            &mut len,
            std::ptr::null_mut(),
            0,
        )
    };
    if rc != 0 {
        return Err(Error::Io {
            path: format!("sysctl {}", name.to_string_lossy()).into(),
            source: io::Error::last_os_error(),
        });
    }
    sysctl_uint(&buf[..len.min(8)]).ok_or_else(|| Error::Io {
        path: format!("sysctl {}", name.to_string_lossy()).into(),
        source: io::Error::other(format!("{len}-byte value")),
    })
}

/// An [`Error::Io`] for a failed sysctl `what`.
pub(crate) fn error(what: &str, source: io::Error) -> Error {
    Error::Io {
        path: format!("sysctl {what}").into(),
        source,
    }
}
