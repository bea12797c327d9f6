//! When the system booted (Windows).

use windows_sys::Win32::Foundation::FILETIME;
use windows_sys::Win32::System::SystemInformation::{GetSystemTimeAsFileTime, GetTickCount64};

use super::records::{filetime, filetime_to_unix};
use crate::error::Result;

/// The time the system booted, in seconds since the Unix epoch: the current time
/// (`GetSystemTimeAsFileTime`) minus the time since boot (`GetTickCount64`, ms). psutil's
/// `boot_time()` on Windows.
pub fn boot_time() -> Result<f64> {
    let mut now = FILETIME {
        dwLowDateTime: 0,
        dwHighDateTime: 0,
    };
    // SAFETY: both calls only write the FILETIME we own / return a value.
    let (uptime_ms, ()) = unsafe { (GetTickCount64(), GetSystemTimeAsFileTime(&mut now)) };
    let now = filetime_to_unix(filetime(now.dwLowDateTime, now.dwHighDateTime));
    Ok(now - uptime_ms as f64 / 1000.0)
}
