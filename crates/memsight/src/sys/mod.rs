//! The one place that picks the operating system's backend.
//!
//! Each backend module provides the same items under the same names (`process`, `system`, `boot`,
//! `heap`, ...); the public, OS-neutral modules of the crate re-export or wrap them. A target
//! without a backend stops here with a clear message instead of failing somewhere deep inside.

// Shared by the backends: psutil's counter-wrap compensation.
#[cfg(any(target_os = "linux", windows))]
pub(crate) mod wrap;

#[cfg(target_os = "linux")]
pub(crate) mod linux;
#[cfg(target_os = "linux")]
pub(crate) use linux::*;

#[cfg(windows)]
pub(crate) mod windows;
#[cfg(windows)]
pub(crate) use windows::*;

// The Windows conversions are pure: the Linux unit tests check them too.
#[cfg(all(test, not(windows)))]
#[path = "windows/records.rs"]
mod windows_records;

#[cfg(not(any(target_os = "linux", windows)))]
compile_error!(
    "memsight has no backend for this OS yet: it supports Linux and Windows; macOS and FreeBSD \
     are planned"
);
