//! The Windows backend, on `windows-sys`: `GetPerformanceInfo` and PDH for system memory,
//! process handles (held open, so a pid is never reused under them) with psapi, PEB reads and the
//! `SystemProcessInformation` snapshot for processes, `HeapWalk` for the heap,
//! `IOCTL_DISK_PERFORMANCE` for disks and `GetAdaptersAddresses` for network adapters. psutil 8's Windows
//! semantics (see each function). The raw-value conversions are in [`records`], which the Linux
//! unit tests compile too.
#![allow(unsafe_code)]

pub(crate) mod boot;
pub(crate) mod disk;
pub(crate) mod heap;
pub(crate) mod net;
pub(crate) mod process;
pub(crate) mod records;
pub(crate) mod system;

use std::io;

use windows_sys::Win32::Foundation::{ERROR_ACCESS_DENIED, ERROR_INVALID_PARAMETER, GetLastError};

use crate::error::Error;

/// `ERROR_PRIVILEGE_NOT_HELD`, which psutil also reports as AccessDenied.
const ERROR_PRIVILEGE_NOT_HELD: u32 = 1314;

/// The calling thread's last Win32 error.
pub(crate) fn last_error() -> u32 {
    // SAFETY: GetLastError only reads thread-local state.
    unsafe { GetLastError() }
}

/// Maps a Win32 error from `api` the way psutil does: access denied (or a missing privilege) to
/// [`Error::AccessDenied`], an invalid pid to [`Error::NoSuchProcess`], anything else to
/// [`Error::Io`] naming the API.
pub(crate) fn win_error(pid: Option<u32>, api: &'static str, code: u32) -> Error {
    match (code, pid) {
        (ERROR_ACCESS_DENIED | ERROR_PRIVILEGE_NOT_HELD, pid) => Error::call_denied(pid, api),
        (ERROR_INVALID_PARAMETER, Some(pid)) => Error::NoSuchProcess { pid, name: None },
        _ => Error::call_failed(api, io::Error::from_raw_os_error(code as i32)),
    }
}

/// [`win_error`] for the calling thread's last error.
pub(crate) fn last_win_error(pid: Option<u32>, api: &'static str) -> Error {
    win_error(pid, api, last_error())
}

/// `size_of::<T>()` as the `u32` the Win32 `cb` arguments take.
pub(crate) fn cb<T>() -> u32 {
    std::mem::size_of::<T>() as u32
}
