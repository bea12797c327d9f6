//! Disk I/O counters on Windows: `IOCTL_DISK_PERFORMANCE` on each `\\.\PhysicalDriveN`, psutil's
//! `disk_io_counters(perdisk, nowrap)`.

use std::collections::BTreeMap;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};
use std::sync::Mutex;

use windows_sys::Win32::Foundation::{
    ERROR_INSUFFICIENT_BUFFER, ERROR_INVALID_FUNCTION, ERROR_INVALID_PARAMETER,
    ERROR_NOT_SUPPORTED, INVALID_HANDLE_VALUE,
};
use windows_sys::Win32::Storage::FileSystem::{
    CreateFileW, FILE_SHARE_READ, FILE_SHARE_WRITE, OPEN_EXISTING,
};
use windows_sys::Win32::System::IO::DeviceIoControl;
use windows_sys::Win32::System::Ioctl::{DISK_PERFORMANCE, IOCTL_DISK_PERFORMANCE};

pub use super::records::DiskIo;
use super::{cb, last_error, win_error};
use crate::error::Result;
use crate::sys::wrap::{self, WrapStates};

/// psutil tries drives 0 to 32: Windows gives no count of them.
const MAX_DRIVE: u32 = 32;

/// What [`disk_io_counters`] returns: one total, or one record per drive.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(untagged))]
pub enum DiskIoCounters {
    /// The sum over physical drives; `None` when none answers (psutil's `None`).
    Total(Option<DiskIo>),
    /// Every drive that answers, by name (`PhysicalDrive0`, ...).
    PerDisk(BTreeMap<String, DiskIo>),
}

/// The `nowrap` state per `perdisk` choice.
static WRAP: WrapStates<bool, 6> = Mutex::new(Vec::new());

/// Disk I/O counters since boot, psutil's `disk_io_counters(perdisk, nowrap)` on Windows: each
/// `\\.\PhysicalDriveN` (N = 0..=32) that opens is asked `IOCTL_DISK_PERFORMANCE`; a drive that
/// cannot be opened or does not keep the counters (`ERROR_INVALID_FUNCTION`,
/// `ERROR_NOT_SUPPORTED`) is skipped, as psutil does. With `nowrap`, a counter that went down
/// since the last call (the 32-bit counts wrap) has its previous value added from then on;
/// [`disk_io_counters_cache_clear`] forgets those.
pub fn disk_io_counters(perdisk: bool, nowrap: bool) -> Result<DiskIoCounters> {
    let mut raw = Vec::new();
    for n in 0..=MAX_DRIVE {
        if let Some(d) = drive_performance(n)? {
            raw.push((format!("PhysicalDrive{n}"), d.to_array()));
        }
    }
    if nowrap {
        raw = wrap::run_keyed(&WRAP, perdisk, raw);
    }
    if perdisk {
        return Ok(DiskIoCounters::PerDisk(
            raw.into_iter()
                .map(|(name, a)| (name, DiskIo::from_array(a)))
                .collect(),
        ));
    }
    Ok(DiskIoCounters::Total(
        wrap::total(&raw).map(DiskIo::from_array),
    ))
}

/// Forgets what `nowrap` remembered (psutil's `disk_io_counters.cache_clear()`).
pub fn disk_io_counters_cache_clear() {
    wrap::clear(&WRAP);
}

/// `IOCTL_DISK_PERFORMANCE` of drive `n`; `None` when there is no such drive or it keeps no
/// counters.
fn drive_performance(n: u32) -> Result<Option<DiskIo>> {
    let path: Vec<u16> = format!("\\\\.\\PhysicalDrive{n}\0")
        .encode_utf16()
        .collect();
    // SAFETY: `path` is NUL-terminated; no access rights are asked (the ioctl needs none).
    let h = unsafe {
        CreateFileW(
            path.as_ptr(),
            0,
            FILE_SHARE_READ | FILE_SHARE_WRITE,
            std::ptr::null(),
            OPEN_EXISTING,
            0,
            std::ptr::null_mut(),
        )
    };
    if h == INVALID_HANDLE_VALUE || h.is_null() {
        return Ok(None);
    }
    // SAFETY: `h` is a fresh handle we own.
    let h = unsafe { OwnedHandle::from_raw_handle(h) };
    // SAFETY: DISK_PERFORMANCE is plain data, written by the call with its size passed.
    let (ok, p) = unsafe {
        let mut p: DISK_PERFORMANCE = std::mem::zeroed();
        let mut returned = 0u32;
        let ok = DeviceIoControl(
            h.as_raw_handle(),
            IOCTL_DISK_PERFORMANCE,
            std::ptr::null(),
            0,
            (&raw mut p).cast(),
            cb::<DISK_PERFORMANCE>(),
            &mut returned,
            std::ptr::null_mut(),
        );
        (ok, p)
    };
    if ok == 0 {
        return match last_error() {
            ERROR_INVALID_FUNCTION | ERROR_NOT_SUPPORTED | ERROR_INVALID_PARAMETER => Ok(None),
            // The struct is the documented size; a driver wanting more is not one psutil reads.
            ERROR_INSUFFICIENT_BUFFER => Ok(None),
            code => Err(win_error(
                None,
                "DeviceIoControl(IOCTL_DISK_PERFORMANCE)",
                code,
            )),
        };
    }
    Ok(Some(DiskIo::from_performance(
        p.ReadCount,
        p.WriteCount,
        (p.BytesRead, p.BytesWritten),
        (p.ReadTime, p.WriteTime),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ffi_struct_size_matches_the_x64_abi() {
        assert_eq!(std::mem::size_of::<DISK_PERFORMANCE>(), 88);
    }
}
