//! The macOS backend, on `libc` and `mach2` (no Objective-C): `host_statistics64` and sysctls
//! for system memory, `kinfo_proc` and `proc_pidinfo` for processes, `task_info` where the task
//! port may be had, malloc zones for the heap. psutil 8's macOS semantics (see each function).
//! The conversions from raw values are in [`pure`], which the Linux unit tests compile too.
//!
//! This backend is compiled, linked and unit-tested on its conversions from Linux; it has not
//! been run on a Mac here.
#![allow(unsafe_code)]

pub(crate) mod boot;
mod ffi;
pub(crate) mod heap;
pub(crate) mod process;
pub(crate) mod pure;
mod sysctl;
pub(crate) mod system;

/// The calling thread's `errno`.
pub(crate) fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// The kernel's page size, which the VM counters count in (`vm_kernel_page_size`: 16 KiB on
/// Apple silicon, also seen so by an x86_64 binary under Rosetta, where `sysconf` says 4 KiB).
pub(crate) fn kernel_page_size() -> u64 {
    // SAFETY: a constant libSystem sets up before main; reading it has no side effects.
    unsafe { mach2::vm_page_size::vm_kernel_page_size as u64 }
}
