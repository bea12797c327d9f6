//! The one place that picks the operating system's backend.
//!
//! Each backend module provides the same items under the same names (`process`, `system`, `boot`,
//! `heap`, ...); the public, OS-neutral modules of the crate re-export or wrap them. A target
//! without a backend stops here with a clear message instead of failing somewhere deep inside.

// Shared by the Unix backends (the user database).
#[cfg(unix)]
pub(crate) mod unix;

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

#[cfg(target_os = "macos")]
pub(crate) mod macos;
#[cfg(target_os = "macos")]
pub(crate) use macos::*;

#[cfg(target_os = "freebsd")]
pub(crate) mod freebsd;
#[cfg(target_os = "freebsd")]
pub(crate) use freebsd::*;

// The Windows conversions are pure: the Linux unit tests check them too, and the fuzz targets
// (feature `fuzzing`) run their byte parsers.
// What only the Windows backend uses is allowed to be dead there (records/mod.rs).
#[cfg(all(any(test, feature = "fuzzing"), not(windows)))]
#[path = "windows/records/mod.rs"]
pub(crate) mod windows_records;

// So are the macOS ones.
#[cfg(all(any(test, feature = "fuzzing"), target_os = "linux"))]
#[path = "macos/pure/mod.rs"]
pub(crate) mod macos_pure;

// So are the FreeBSD ones (some records only the FreeBSD FFI side builds).
#[cfg(all(any(test, feature = "fuzzing"), target_os = "linux"))]
#[allow(dead_code)]
#[path = "freebsd/records/mod.rs"]
pub(crate) mod freebsd_records;

#[cfg(not(any(
    target_os = "linux",
    windows,
    target_os = "macos",
    target_os = "freebsd"
)))]
compile_error!(
    "memsight has no backend for this OS: it supports Linux, Windows, macOS and FreeBSD"
);
