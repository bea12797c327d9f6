//! When the system booted (FreeBSD).

use super::{sysctl_error, sysctl_into};
use crate::error::{Error, Result};

/// The time the system booted, in whole seconds since the Unix epoch: `kern.boottime`'s
/// `tv_sec`, as psutil's `boot_time()` takes it on FreeBSD.
pub fn boot_time() -> Result<f64> {
    let mut buf = [0u8; std::mem::size_of::<libc::timeval>()];
    let n = sysctl_into(&[libc::CTL_KERN, libc::KERN_BOOTTIME], &mut buf)
        .map_err(|e| sysctl_error(c"kern.boottime", e))?;
    if n != buf.len() {
        return Err(Error::Unsupported(format!(
            "kern.boottime returned {n} bytes, expected {}",
            buf.len()
        )));
    }
    // SAFETY: the buffer holds a whole `timeval` (two integers), read without alignment.
    let tv = unsafe { std::ptr::read_unaligned(buf.as_ptr().cast::<libc::timeval>()) };
    Ok(tv.tv_sec as f64)
}
