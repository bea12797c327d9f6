//! What memsight declares itself for macOS because `libc` and `mach2` lack it: the path-bearing
//! `proc_info` structs and two libmalloc calls. Sizes and offsets are asserted against the
//! layouts of `<sys/proc_info.h>`; the plain structs are in [`super::pure::layout`].

use super::pure::layout::ProcRegionInfo;

/// `proc_pidinfo` flavor: one region (`struct proc_regioninfo`).
pub(crate) const PROC_PIDREGIONINFO: libc::c_int = 7;
/// `proc_pidinfo` flavor: one region and its file (`struct proc_regionwithpathinfo`).
pub(crate) const PROC_PIDREGIONPATHINFO: libc::c_int = 8;
/// `proc_pidfdinfo` flavor: a vnode descriptor and its path (`struct vnode_fdinfowithpath`).
pub(crate) const PROC_PIDFDVNODEPATHINFO: libc::c_int = 2;

/// `struct proc_regionwithpathinfo` (`<sys/proc_info.h>`).
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct ProcRegionWithPathInfo {
    pub prp_prinfo: ProcRegionInfo,
    pub prp_vip: libc::vnode_info_path,
}

/// `struct proc_fileinfo` (`<sys/proc_info.h>`).
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct ProcFileInfo {
    pub fi_openflags: u32,
    pub fi_status: u32,
    pub fi_offset: i64,
    pub fi_type: i32,
    pub fi_guardflags: u32,
}

/// `struct vnode_fdinfowithpath` (`<sys/proc_info.h>`).
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct VnodeFdInfoWithPath {
    pub pfi: ProcFileInfo,
    pub pvip: libc::vnode_info_path,
}

const _: () = {
    use std::mem::{offset_of, size_of};
    // vinfo_stat 136 + vi_type, vi_pad 8 + fsid_t 8 = vnode_info 152; + MAXPATHLEN 1024.
    assert!(size_of::<libc::vnode_info_path>() == 1176);
    assert!(offset_of!(libc::vnode_info_path, vip_path) == 152);
    assert!(size_of::<ProcRegionWithPathInfo>() == 96 + 1176);
    assert!(offset_of!(ProcRegionWithPathInfo, prp_vip) == 96);
    assert!(size_of::<ProcFileInfo>() == 24);
    assert!(offset_of!(ProcFileInfo, fi_type) == 16);
    assert!(size_of::<VnodeFdInfoWithPath>() == 24 + 1176);
    assert!(offset_of!(VnodeFdInfoWithPath, pvip) == 24);
};

unsafe extern "C" {
    /// `<malloc/malloc.h>`: the zones of `task` (the caller's own with a null reader). The
    /// array belongs to libmalloc.
    pub(crate) fn malloc_get_all_zones(
        task: mach2::port::mach_port_t,
        reader: Option<
            unsafe extern "C" fn(
                mach2::port::mach_port_t,
                mach2::vm_types::vm_address_t,
                mach2::vm_types::vm_size_t,
                *mut *mut libc::c_void,
            ) -> mach2::kern_return::kern_return_t,
        >,
        addresses: *mut *mut mach2::vm_types::vm_address_t,
        count: *mut libc::c_uint,
    ) -> mach2::kern_return::kern_return_t;

    /// `<malloc/malloc.h>`: asks `zone` to return free memory to the kernel (`goal` 0: as much
    /// as it can). Returns the bytes released.
    pub(crate) fn malloc_zone_pressure_relief(
        zone: *mut libc::malloc_zone_t,
        goal: libc::size_t,
    ) -> libc::size_t;
}

/// The text of a `vip_path` (a NUL-terminated `char[MAXPATHLEN]`).
pub(crate) fn vip_path(vip: &libc::vnode_info_path) -> std::path::PathBuf {
    use std::os::unix::ffi::OsStrExt;
    // SAFETY: `vip_path` is 32 × 32 `c_char`s laid out contiguously: 1024 bytes.
    let bytes: &[u8; 1024] = unsafe { &*(&raw const vip.vip_path).cast::<[u8; 1024]>() };
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    std::ffi::OsStr::from_bytes(&bytes[..end]).into()
}
