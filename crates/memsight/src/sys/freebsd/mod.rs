//! The FreeBSD backend, on `libc`: sysctls for system memory (`vm.stats.vm.*`, `vm.vmtotal`,
//! `vm.swap_info`), `kinfo_proc` and the `kern.proc.*` buffers for processes, jemalloc's
//! `mallctl` for the heap. psutil 8's FreeBSD semantics (see each function), with its `shared`,
//! `sin`/`sout` and `num_fds` figures fixed (see the records). The raw-value conversions are in
//! [`records`], which the Linux unit tests compile too.
//!
//! It is type-checked, linked and unit-tested on its conversions from Linux (scripts/test-cross.sh),
//! not run on a FreeBSD machine.
#![allow(unsafe_code)]

pub(crate) mod boot;
pub(crate) mod heap;
pub(crate) mod process;
pub(crate) mod records;
pub(crate) mod system;

use std::ffi::CStr;
use std::io;

use super::unix::sysctl::sysctl_uint_by_name;
pub(crate) use super::unix::sysctl::{sysctl_into, sysctl_vec, sysctlbyname_into};
use super::unix::user;
use crate::error::{Error, Result};

// The `libc` structs the records' byte offsets and sizes were written from (`<sys/user.h>`,
// `<sys/sysctl.h>`, amd64).
const _: () = {
    use std::mem::{offset_of, size_of};

    use records::buffers as b;
    assert!(size_of::<libc::kinfo_proc>() == 1088); // KINFO_PROC_SIZE
    assert!(size_of::<libc::kinfo_vmentry>() == b::KINFO_VMENTRY_SIZE);
    assert!(offset_of!(libc::kinfo_vmentry, kve_type) == b::KVE_TYPE);
    assert!(offset_of!(libc::kinfo_vmentry, kve_start) == b::KVE_START);
    assert!(offset_of!(libc::kinfo_vmentry, kve_end) == b::KVE_END);
    assert!(offset_of!(libc::kinfo_vmentry, kve_resident) == b::KVE_RESIDENT);
    assert!(offset_of!(libc::kinfo_vmentry, kve_private_resident) == b::KVE_PRIVATE_RESIDENT);
    assert!(offset_of!(libc::kinfo_vmentry, kve_protection) == b::KVE_PROTECTION);
    assert!(offset_of!(libc::kinfo_vmentry, kve_ref_count) == b::KVE_REF_COUNT);
    assert!(offset_of!(libc::kinfo_vmentry, kve_shadow_count) == b::KVE_SHADOW_COUNT);
    assert!(offset_of!(libc::kinfo_vmentry, kve_path) == b::KVE_PATH);
    assert!(size_of::<libc::kinfo_file>() == b::KINFO_FILE_SIZE);
    assert!(offset_of!(libc::kinfo_file, kf_type) == b::KF_TYPE);
    assert!(offset_of!(libc::kinfo_file, kf_fd) == b::KF_FD);
    assert!(offset_of!(libc::kinfo_file, kf_offset) == b::KF_OFFSET);
    // `kf_un` (private in libc) starts right after the 8-byte `kf_offset`.
    assert!(b::KF_OFFSET + 8 == b::KF_VNODE_TYPE);
    assert!(offset_of!(libc::kinfo_file, kf_path) == b::KF_PATH);
    assert!(size_of::<libc::timeval>() == 16);
};

/// An integer sysctl by name, 4 or 8 bytes wide (a 64-bit counter is read whole), its failure
/// named by [`sysctl_error`].
pub(crate) fn sysctl_uint(name: &CStr) -> Result<u64> {
    sysctl_uint_by_name(name).map_err(|e| sysctl_error(name, e))
}

/// A failed system-wide sysctl, named: permission errors are [`Error::AccessDenied`].
pub(crate) fn sysctl_error(name: &CStr, e: io::Error) -> Error {
    let call = name.to_string_lossy().into_owned();
    match e.raw_os_error() {
        Some(libc::EPERM | libc::EACCES) => Error::call_denied(None, call),
        _ => Error::call_failed(call, e),
    }
}
