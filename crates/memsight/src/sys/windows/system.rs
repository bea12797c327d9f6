//! System memory and swap with psutil 8's Windows semantics.

use windows_sys::Win32::System::Performance::{
    PDH_FMT_COUNTERVALUE, PDH_FMT_DOUBLE, PdhAddEnglishCounterW, PdhCloseQuery,
    PdhCollectQueryData, PdhGetFormattedCounterValue, PdhOpenQueryW,
};
use windows_sys::Win32::System::ProcessStatus::{K32GetPerformanceInfo, PERFORMANCE_INFORMATION};
use windows_sys::Win32::System::SystemInformation::{GetSystemInfo, SYSTEM_INFO};

use super::records::{self, PerfPages};
pub use super::records::{SwapMemory, VirtualMemory};
use super::{cb, last_win_error};
use crate::error::Result;

/// The size of a memory page in bytes (`GetSystemInfo` `dwPageSize`).
pub fn page_size() -> u64 {
    // SAFETY: SYSTEM_INFO is plain data; GetSystemInfo fills it and cannot fail.
    let info = unsafe {
        let mut info: SYSTEM_INFO = std::mem::zeroed();
        GetSystemInfo(&mut info);
        info
    };
    u64::from(info.dwPageSize)
}

/// `GetPerformanceInfo`'s page counts.
fn perf_pages() -> Result<PerfPages> {
    // SAFETY: PERFORMANCE_INFORMATION is plain data, written by the call with its size passed.
    let (ok, p) = unsafe {
        let mut p: PERFORMANCE_INFORMATION = std::mem::zeroed();
        p.cb = cb::<PERFORMANCE_INFORMATION>();
        (K32GetPerformanceInfo(&mut p, p.cb), p)
    };
    if ok == 0 {
        return Err(last_win_error(None, "GetPerformanceInfo"));
    }
    Ok(PerfPages {
        page_size: p.PageSize as u64,
        physical_total: p.PhysicalTotal as u64,
        physical_available: p.PhysicalAvailable as u64,
        system_cache: p.SystemCache as u64,
        kernel_nonpaged: p.KernelNonpaged as u64,
        commit_limit: p.CommitLimit as u64,
    })
}

/// System memory from `GetPerformanceInfo`; see [`VirtualMemory`].
pub fn virtual_memory() -> Result<VirtualMemory> {
    Ok(records::virtual_memory(&perf_pages()?))
}

/// Swap from `GetPerformanceInfo` and the PDH counter `\Paging File(_Total)\% Usage`; see
/// [`SwapMemory`].
pub fn swap_memory() -> Result<SwapMemory> {
    Ok(records::swap_memory(&perf_pages()?, paging_file_usage()))
}

/// The `\Paging File(_Total)\% Usage` counter, or 0 when PDH cannot give it (psutil gives 0 when
/// the collection fails; memsight also when the counter cannot be added, e.g. under Wine).
fn paging_file_usage() -> f64 {
    let path: Vec<u16> = "\\Paging File(_Total)\\% Usage\0".encode_utf16().collect();
    // SAFETY: the query handle is closed on every path; the counter belongs to the query; every
    // out-pointer is a local we own; `path` is NUL-terminated and outlives the calls.
    unsafe {
        let mut query = std::ptr::null_mut();
        if PdhOpenQueryW(std::ptr::null(), 0, &mut query) != 0 {
            return 0.0;
        }
        let mut counter = std::ptr::null_mut();
        let mut value: PDH_FMT_COUNTERVALUE = std::mem::zeroed();
        let ok = PdhAddEnglishCounterW(query, path.as_ptr(), 0, &mut counter) == 0
            && PdhCollectQueryData(query) == 0
            && PdhGetFormattedCounterValue(
                counter,
                PDH_FMT_DOUBLE,
                std::ptr::null_mut(),
                &mut value,
            ) == 0;
        PdhCloseQuery(query);
        if ok { value.Anonymous.doubleValue } else { 0.0 }
    }
}
