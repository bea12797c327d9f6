//! System memory and swap with psutil 8's macOS semantics (`arch/osx/mem.c`).

use mach2::kern_return::KERN_SUCCESS;
use mach2::mach_init::mach_host_self;
use mach2::mach_port::mach_port_deallocate;
use mach2::traps::mach_task_self;

use super::pure::system::{self as records, SwapUsage, VmCounts};
pub use super::pure::system::{SwapMemory, VirtualMemory};
use super::{kernel_page_size, sysctl};
use crate::error::{Error, Result};

/// `HOST_INFO_MAX` (`<mach/host_info.h>`): the largest host info, in `integer_t` words.
const HOST_INFO_MAX: usize = 1024;
/// `HOST_VM_INFO64` (`<mach/host_info.h>`).
const HOST_VM_INFO64: libc::c_int = 4;

/// The size of a memory page in bytes, as the kernel counts VM pages (`vm_kernel_page_size`:
/// 16 KiB on Apple silicon, 4 KiB on Intel).
pub fn page_size() -> u64 {
    kernel_page_size()
}

/// `host_statistics64(HOST_VM_INFO64)` into a `HOST_INFO_MAX`-word buffer (psutil #2853), the
/// host port released after.
fn vm_counts() -> Result<VmCounts> {
    let mut words = [0 as libc::integer_t; HOST_INFO_MAX];
    let mut count = HOST_INFO_MAX as libc::mach_msg_type_number_t;
    // SAFETY: `words` has `count` writable words; the host port is a send right we own and
    // release after the call.
    let kr = unsafe {
        let host = mach_host_self();
        let kr = libc::host_statistics64(host, HOST_VM_INFO64, words.as_mut_ptr(), &mut count);
        mach_port_deallocate(mach_task_self(), host);
        kr
    };
    if kr != KERN_SUCCESS {
        return Err(Error::call_failed(
            "host_statistics64",
            std::io::Error::other(format!("kern_return_t {kr}")),
        ));
    }
    Ok(records::vm_counts(
        &words[..(count as usize).min(HOST_INFO_MAX)],
    ))
}

/// Physical memory in bytes (`sysctl hw.memsize`).
pub(crate) fn total_memory() -> Result<u64> {
    sysctl::read(&[libc::CTL_HW, libc::HW_MEMSIZE], 0u64)
        .map(|(v, _)| v)
        .map_err(|e| sysctl::error("hw.memsize", e))
}

/// System memory from `hw.memsize` and `host_statistics64`; see [`VirtualMemory`].
pub fn virtual_memory() -> Result<VirtualMemory> {
    Ok(records::virtual_memory(
        total_memory()?,
        &vm_counts()?,
        kernel_page_size(),
    ))
}

/// Swap from `sysctl vm.swapusage`, page-ins/outs from `host_statistics64`; see [`SwapMemory`].
pub fn swap_memory() -> Result<SwapMemory> {
    // SAFETY: xsw_usage is plain data; all-zero is valid.
    let zero: libc::xsw_usage = unsafe { std::mem::zeroed() };
    let (xsw, _) = sysctl::read(&[libc::CTL_VM, libc::VM_SWAPUSAGE], zero)
        .map_err(|e| sysctl::error("vm.swapusage", e))?;
    let usage = SwapUsage {
        total: xsw.xsu_total,
        avail: xsw.xsu_avail,
        used: xsw.xsu_used,
    };
    Ok(records::swap_memory(
        &usage,
        &vm_counts()?,
        kernel_page_size(),
    ))
}

// The words psutil reads lie inside libc's `vm_statistics64`, where the pure reader looks.
const _: () = {
    use records::vm_statistics64 as o;
    use std::mem::offset_of;
    assert!(offset_of!(libc::vm_statistics64, free_count) == o::FREE_COUNT);
    assert!(offset_of!(libc::vm_statistics64, active_count) == o::ACTIVE_COUNT);
    assert!(offset_of!(libc::vm_statistics64, inactive_count) == o::INACTIVE_COUNT);
    assert!(offset_of!(libc::vm_statistics64, wire_count) == o::WIRE_COUNT);
    assert!(offset_of!(libc::vm_statistics64, pageins) == o::PAGEINS);
    assert!(offset_of!(libc::vm_statistics64, pageouts) == o::PAGEOUTS);
    assert!(offset_of!(libc::vm_statistics64, speculative_count) == o::SPECULATIVE_COUNT);
    // libc's struct has the newer revisions' fields too (psutil #2853's point): only longer.
    assert!(std::mem::size_of::<libc::vm_statistics64>() >= o::SIZE);
};
