//! This process's own resources, read without disturbing what the harness measures: open
//! descriptors (handles on Windows), threads, child processes, mappings and USS. One file per
//! OS, each giving the same [`ProcSelf`] interface to the sampler.

#[cfg(target_os = "freebsd")]
mod freebsd;
#[cfg(not(any(windows, target_os = "macos", target_os = "freebsd")))]
mod linux;
#[cfg(target_os = "macos")]
mod macos;
#[cfg(windows)]
mod windows;

#[cfg(target_os = "freebsd")]
pub(crate) use freebsd::ProcSelf;
#[cfg(not(any(windows, target_os = "macos", target_os = "freebsd")))]
pub(crate) use linux::ProcSelf;
#[cfg(target_os = "macos")]
pub(crate) use macos::ProcSelf;
#[cfg(windows)]
pub(crate) use windows::ProcSelf;
