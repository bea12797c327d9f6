//! System memory and swap with psutil 8's FreeBSD semantics (`arch/freebsd/mem.c`), read from
//! sysctls.

use std::ffi::{CStr, c_int};

use super::records::system::{self as records, SwapCounts, VmCounts, XSWDEV_VERSION, Xswdev};
pub use super::records::system::{SwapMemory, VirtualMemory};
use super::{sysctl_error, sysctl_into, sysctl_uint, sysctlbyname_into};
use crate::error::{Error, Result};

/// The size of a memory page in bytes (`sysconf(_SC_PAGESIZE)`, as psutil takes it).
pub fn page_size() -> u64 {
    // SAFETY: sysconf only reads a system constant.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(n).unwrap_or(4096)
}

/// `vm.vmtotal` (`{CTL_VM, VM_TOTAL}`): the kernel's `struct vmtotal`.
fn vmtotal() -> Result<libc::vmtotal> {
    let mut buf = [0u8; std::mem::size_of::<libc::vmtotal>()];
    let n = sysctl_into(&[libc::CTL_VM, libc::VM_TOTAL], &mut buf)
        .map_err(|e| sysctl_error(c"vm.vmtotal", e))?;
    if n < std::mem::size_of::<libc::vmtotal>() {
        return Err(Error::Unsupported(format!(
            "vm.vmtotal returned {n} bytes, expected {}",
            buf.len()
        )));
    }
    // SAFETY: the buffer holds a whole `vmtotal` (plain integers), read without alignment.
    Ok(unsafe { std::ptr::read_unaligned(buf.as_ptr().cast::<libc::vmtotal>()) })
}

/// System memory from `hw.physmem`, `vm.stats.vm.v_{active,inactive,wire,free,cache}_count`,
/// `vfs.bufspace` and `vm.vmtotal`; see [`VirtualMemory`].
pub fn virtual_memory() -> Result<VirtualMemory> {
    let counts = VmCounts {
        page_size: page_size(),
        physmem: sysctl_uint(c"hw.physmem")?,
        active: sysctl_uint(c"vm.stats.vm.v_active_count")?,
        inactive: sysctl_uint(c"vm.stats.vm.v_inactive_count")?,
        wire: sysctl_uint(c"vm.stats.vm.v_wire_count")?,
        free: sysctl_uint(c"vm.stats.vm.v_free_count")?,
        // Gone since FreeBSD 12: psutil takes a failure as 0.
        cache: sysctl_uint(c"vm.stats.vm.v_cache_count").unwrap_or(0),
        bufspace: sysctl_uint(c"vfs.bufspace")?,
        shared_resident: vmtotal()?.t_rmshr,
    };
    Ok(records::virtual_memory(&counts))
}

/// The most swap devices memsight asks `vm.swap_info` for (the kernel allows far fewer).
const MAX_SWAP_DEVICES: c_int = 1024;

/// Every swap device (`vm.swap_info.N` for N = 0, 1, ... until `ENOENT`), as libkvm's
/// `kvm_getswapinfo_sysctl` reads them.
fn swap_devices() -> Result<Vec<Xswdev>> {
    let name: &CStr = c"vm.swap_info";
    let mut mib: [c_int; 3] = [0; 3];
    let mut len = mib.len() - 1;
    // SAFETY: `name` is NUL-terminated; `mib` has room for `len` ints, and the call stores the
    // number of ints written in `len`.
    if unsafe { libc::sysctlnametomib(name.as_ptr(), mib.as_mut_ptr(), &mut len) } == -1 {
        return Err(sysctl_error(name, std::io::Error::last_os_error()));
    }
    let mut devices = Vec::new();
    for n in 0..MAX_SWAP_DEVICES {
        mib[len] = n;
        let mut buf = [0u8; std::mem::size_of::<Xswdev>()];
        match sysctl_into(&mib[..=len], &mut buf) {
            Ok(got) if got == buf.len() => {}
            Ok(got) => {
                return Err(Error::Unsupported(format!(
                    "vm.swap_info returned {got} bytes, expected {} (struct xswdev changed)",
                    buf.len()
                )));
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => break,
            Err(e) => return Err(sysctl_error(name, e)),
        }
        // SAFETY: the buffer holds a whole `xswdev` (plain integers), read without alignment.
        let dev = unsafe { std::ptr::read_unaligned(buf.as_ptr().cast::<Xswdev>()) };
        if dev.xsw_version != XSWDEV_VERSION {
            return Err(Error::Unsupported(format!(
                "vm.swap_info: struct xswdev version {} (memsight reads {XSWDEV_VERSION})",
                dev.xsw_version
            )));
        }
        devices.push(dev);
    }
    Ok(devices)
}

/// Swap from `vm.swap_info` (what `kvm_getswapinfo` reads on a live kernel, less `vm.dmmax`
/// pages per device, as it does) and `vm.stats.vm.v_swappgs{in,out}`; see [`SwapMemory`].
///
/// memsight reads the sysctls itself rather than through libkvm: the same figures, one library
/// fewer, and no `kvm_open`.
pub fn swap_memory() -> Result<SwapMemory> {
    let devices = swap_devices()?;
    // The pages reserved at the start of each device; a kernel without the sysctl reserves none.
    let mut dmmax = [0u8; 4];
    let dmmax = match sysctlbyname_into(c"vm.dmmax", &mut dmmax) {
        Ok(4) => i32::from_ne_bytes(dmmax),
        Ok(_) => 0,
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => 0,
        Err(e) => return Err(sysctl_error(c"vm.dmmax", e)),
    };
    let (total, used) = records::swap_pages(&devices, dmmax);
    Ok(records::swap_memory(&SwapCounts {
        page_size: page_size(),
        total,
        used,
        pages_in: sysctl_uint(c"vm.stats.vm.v_swappgsin")?,
        pages_out: sysctl_uint(c"vm.stats.vm.v_swappgsout")?,
    }))
}
