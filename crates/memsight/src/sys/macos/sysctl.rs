//! `sysctl(3)` reads: by MIB and by name, into a plain-data value or a byte buffer.

use std::ffi::CStr;
use std::io;

use crate::error::{Error, Result};
pub(crate) use crate::sys::unix::sysctl::sysctl_vec;
use crate::sys::unix::sysctl::{sysctl_raw, sysctl_uint_by_name};

/// Reads a fixed-size plain-data value at `mib`. Returns the value (zero-filled past what the
/// kernel wrote) and the byte count written.
pub(crate) fn read<T: Copy>(mib: &[libc::c_int], zero: T) -> io::Result<(T, usize)> {
    let mut value = zero;
    let mut len = std::mem::size_of::<T>();
    // SAFETY: `value` is a live, writable `T` of `len` bytes.
    unsafe { sysctl_raw(mib, (&raw mut value).cast(), &mut len)? };
    Ok((value, len))
}

/// Reads an unsigned integer sysctl by name (`sysctlbyname`), 4 or 8 bytes wide.
pub(crate) fn uint_by_name(name: &CStr) -> Result<u64> {
    sysctl_uint_by_name(name).map_err(|e| error(&name.to_string_lossy(), e))
}

/// An [`Error::Io`] for a failed sysctl `what`.
pub(crate) fn error(what: &str, source: io::Error) -> Error {
    Error::call_failed(format!("sysctl {what}"), source)
}
