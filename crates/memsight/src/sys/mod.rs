//! The one place that picks the operating system's backend.
//!
//! Each backend module provides the same items under the same names (`process`, `system`, `boot`,
//! `heap`, ...); the public, OS-neutral modules of the crate re-export or wrap them. A target
//! without a backend stops here with a clear message instead of failing somewhere deep inside.

#[cfg(target_os = "linux")]
pub(crate) mod linux;
#[cfg(target_os = "linux")]
pub(crate) use linux::*;

#[cfg(not(target_os = "linux"))]
compile_error!(
    "memsight has no backend for this OS yet: it supports Linux (and Windows is in progress); \
     macOS and FreeBSD are planned"
);
