//! When the system booted (macOS).

use super::sysctl;
use crate::error::Result;

/// The time the system booted, in seconds since the Unix epoch (`sysctl kern.boottime`,
/// `tv_sec`, as psutil). It moves when the wall clock is set.
pub fn boot_time() -> Result<f64> {
    let zero = libc::timeval {
        tv_sec: 0,
        tv_usec: 0,
    };
    let (tv, _) = sysctl::read(&[libc::CTL_KERN, libc::KERN_BOOTTIME], zero)
        .map_err(|e| sysctl::error("kern.boottime", e))?;
    Ok(tv.tv_sec as f64)
}
