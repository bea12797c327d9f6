//! A process on Windows: an open process handle plus its creation time.
//!
//! The handle is held for the life of the [`Process`], so the kernel cannot hand its pid to a new
//! process meanwhile; getters that need more access rights than the held handle has open the pid
//! again and check that the creation time is the same before reading anything.

use std::collections::BTreeMap;
use std::ffi::c_void;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};
use std::path::PathBuf;

use windows_sys::Wdk::System::SystemInformation::{
    NtQuerySystemInformation, SystemProcessInformation,
};
use windows_sys::Wdk::System::Threading::{NtQueryInformationProcess, ProcessBasicInformation};
use windows_sys::Win32::Foundation::{
    ERROR_INSUFFICIENT_BUFFER, ERROR_INVALID_PARAMETER, FILETIME, HANDLE,
    STATUS_INFO_LENGTH_MISMATCH, WAIT_TIMEOUT,
};
use windows_sys::Win32::Security::{
    GetTokenInformation, LookupAccountSidW, SID_NAME_USE, TOKEN_QUERY, TOKEN_USER, TokenUser,
};
use windows_sys::Win32::System::Diagnostics::Debug::ReadProcessMemory;
use windows_sys::Win32::System::Memory::{MEMORY_BASIC_INFORMATION, VirtualQueryEx};
use windows_sys::Win32::System::ProcessStatus::{
    K32EnumProcesses, K32GetMappedFileNameW, K32GetProcessMemoryInfo, K32QueryWorkingSet,
    K32QueryWorkingSetEx, PROCESS_MEMORY_COUNTERS, PROCESS_MEMORY_COUNTERS_EX,
};
use windows_sys::Win32::System::Threading::{
    GetCurrentProcess, GetProcessHandleCount, GetProcessIoCounters, GetProcessTimes, IO_COUNTERS,
    OpenProcess, OpenProcessToken, PROCESS_BASIC_INFORMATION, PROCESS_NAME_WIN32,
    PROCESS_QUERY_INFORMATION, PROCESS_QUERY_LIMITED_INFORMATION, PROCESS_VM_READ,
    QueryFullProcessImageNameW, WaitForSingleObject,
};

pub use super::records::{AddressFamily, MemType, ProcessStatus, Thread};
use super::records::{
    SnapshotProcess, basename, filetime, filetime_secs, filetime_to_unix, parse_environ_block,
    parse_snapshot, prot, split_command_line, status_from_threads, working_set_ex_resident,
    working_set_ex_uss, working_set_uss,
};
use super::{cb, last_error, last_win_error, win_error};
use crate::error::{Error, Result};
use crate::neutral::maps::{GroupableMap, group_maps};
use crate::process::MemoryFootprint;

/// Memory figures of a process, in bytes: psutil 8's `pmem` on Windows, from
/// `GetProcessMemoryInfo` (`PROCESS_MEMORY_COUNTERS_EX`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MemoryInfo {
    /// The working set (`WorkingSetSize`): pages resident in RAM.
    pub rss: u64,
    /// Private committed bytes (`PrivateUsage`, "private bytes" in Task Manager).
    pub vms: u64,
    /// The largest working set so far (`PeakWorkingSetSize`).
    pub peak_rss: u64,
    /// The largest private commit so far (`PeakPagefileUsage`).
    pub peak_vms: u64,
}

/// [`MemoryInfo`] plus psutil 8's `memory_info_ex` Windows fields, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MemoryInfoEx {
    /// The [`MemoryInfo`] figures, flattened: their keys come first in JSON, and `ex.rss` reads
    /// them through `Deref`.
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub memory: MemoryInfo,
    /// Reserved address space (`VirtualSize` of the `SystemProcessInformation` snapshot).
    pub r#virtual: u64,
    /// The largest reserved address space so far (`PeakVirtualSize` of the snapshot).
    pub peak_virtual: u64,
    /// Paged pool charged to the process (`QuotaPagedPoolUsage`).
    pub paged_pool: u64,
    /// Non-paged pool charged to the process (`QuotaNonPagedPoolUsage`).
    pub nonpaged_pool: u64,
    /// The peak of `paged_pool` (`QuotaPeakPagedPoolUsage`).
    pub peak_paged_pool: u64,
    /// The peak of `nonpaged_pool` (`QuotaPeakNonPagedPoolUsage`).
    pub peak_nonpaged_pool: u64,
}

/// [`MemoryInfo`] plus USS, in bytes: psutil's `pfullmem` on Windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MemoryFullInfo {
    /// The [`MemoryInfo`] figures, flattened: their keys come first in JSON, and `full.rss`
    /// reads them through `Deref`.
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub memory: MemoryInfo,
    /// Private working-set pages × the page size (`QueryWorkingSet`).
    pub uss: u64,
}

crate::process::extends_memory_info!(MemoryInfoEx, MemoryFullInfo);

/// One region of a process's address space that maps a file (`VirtualQueryEx` +
/// `GetMappedFileNameW`): psutil's `pmmap_ext` on Windows.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MemoryMap {
    /// The region's base address, `0x...`; empty when grouped by path.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "String::is_empty"))]
    pub addr: String,
    /// The protection in psutil's letters (`r`, `rw`, `wc`, `x`, `xr`, `xrw`, `xwc`, `?`);
    /// empty when grouped by path.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "String::is_empty"))]
    pub perms: String,
    /// The mapped file, as the NT device path `GetMappedFileNameW` gives.
    pub path: String,
    /// The region's resident bytes: its pages in the process's working set (`QueryWorkingSetEx`,
    /// `Valid` bit) × the page size, shared pages included; at most the region size. psutil
    /// reports the region size here (`RegionSize`, truncated to 32 bits); so does memsight, full
    /// 64 bits, where `QueryWorkingSetEx` refuses the process (Wine, for every process but the
    /// caller).
    pub rss: u64,
}

impl GroupableMap for MemoryMap {
    type Key = String;

    fn group_key(&self) -> &String {
        &self.path
    }

    fn add(&mut self, m: &MemoryMap) {
        self.rss = self.rss.saturating_add(m.rss);
    }

    fn forget_address(&mut self) {
        self.addr.clear();
        self.perms.clear();
    }
}

/// Seconds a process spent on the CPU (`GetProcessTimes`). psutil's `pcputimes` on Windows.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct CpuTimes {
    /// Time in user mode (`lpUserTime`), seconds.
    pub user: f64,
    /// Time in kernel mode (`lpKernelTime`), seconds.
    pub system: f64,
    /// Always 0: Windows does not add children's times.
    pub children_user: f64,
    /// Always 0.
    pub children_system: f64,
}

/// I/O operations and bytes of a process since it started (`GetProcessIoCounters`). psutil's
/// `pio` on Windows: every read and write, not only storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct IoCounters {
    /// Read operations (`ReadOperationCount`).
    pub read_count: u64,
    /// Write operations (`WriteOperationCount`).
    pub write_count: u64,
    /// Bytes read (`ReadTransferCount`).
    pub read_bytes: u64,
    /// Bytes written (`WriteTransferCount`).
    pub write_bytes: u64,
    /// Other operations (`OtherOperationCount`).
    pub other_count: u64,
    /// Bytes of other operations (`OtherTransferCount`).
    pub other_bytes: u64,
}

/// `SYNCHRONIZE`: lets the held handle be waited on (to tell whether the process exited).
const SYNCHRONIZE: u32 = 0x0010_0000;
/// `ERROR_PARTIAL_COPY`: a `ReadProcessMemory` that raced with the target.
const ERROR_PARTIAL_COPY: u32 = 299;
/// psutil refuses working-set buffers above this (256 MiB).
const MAX_BUFFER: usize = 256 << 20;

/// A handle on one running process (Windows): the pid, an open process handle, and the creation
/// time. Equality is identity: same pid and creation time.
#[derive(Debug)]
pub struct Process {
    pid: u32,
    handle: OwnedHandle,
    /// `GetProcessTimes` creation time (FILETIME units).
    created: u64,
}

impl PartialEq for Process {
    fn eq(&self, other: &Self) -> bool {
        self.pid == other.pid && self.created == other.created
    }
}

impl Eq for Process {}

/// Opens `pid` with `access`, psutil's `psutil_handle_from_pid` error mapping: pid 0 and a denied
/// open give AccessDenied, an unknown pid NoSuchProcess.
fn open(pid: u32, access: u32) -> Result<OwnedHandle> {
    if pid == 0 {
        return Err(Error::call_denied(Some(0), "OpenProcess"));
    }
    // SAFETY: OpenProcess takes plain values and returns a new handle or null.
    let h = unsafe { OpenProcess(access, 0, pid) };
    if h.is_null() {
        return Err(last_win_error(Some(pid), "OpenProcess"));
    }
    // SAFETY: `h` is a fresh handle we own; OwnedHandle closes it.
    Ok(unsafe { OwnedHandle::from_raw_handle(h) })
}

fn raw(h: &OwnedHandle) -> HANDLE {
    h.as_raw_handle()
}

/// `GetProcessTimes`: (creation, kernel, user) in FILETIME units.
fn process_times(pid: u32, h: &OwnedHandle) -> Result<(u64, u64, u64)> {
    let zero = FILETIME {
        dwLowDateTime: 0,
        dwHighDateTime: 0,
    };
    let (mut c, mut e, mut k, mut u) = (zero, zero, zero, zero);
    // SAFETY: four FILETIME out-parameters we own; the handle is open.
    if unsafe { GetProcessTimes(raw(h), &mut c, &mut e, &mut k, &mut u) } == 0 {
        // psutil: access denied here means the process is gone.
        return Err(
            match win_error(Some(pid), "GetProcessTimes", last_error()) {
                Error::AccessDenied { .. } => Error::NoSuchProcess { pid, name: None },
                e => e,
            },
        );
    }
    let ft = |t: FILETIME| filetime(t.dwLowDateTime, t.dwHighDateTime);
    Ok((ft(c), ft(k), ft(u)))
}

/// psutil's `pmem` on Windows from `GetProcessMemoryInfo`'s counters.
fn memory_info_of(c: &PROCESS_MEMORY_COUNTERS_EX) -> MemoryInfo {
    MemoryInfo {
        rss: c.WorkingSetSize as u64,
        vms: c.PrivateUsage as u64,
        peak_rss: c.PeakWorkingSetSize as u64,
        peak_vms: c.PeakPagefileUsage as u64,
    }
}

/// The ids of every process (`EnumProcesses`, the buffer grown while it comes back full),
/// ascending; includes 0 (System Idle Process) and 4 (System). psutil's `pids()`.
pub fn pids() -> Result<Vec<u32>> {
    let mut buf: Vec<u32> = vec![0; 1024];
    loop {
        let size = (buf.len() * 4) as u32;
        let mut needed = 0u32;
        // SAFETY: `buf` has `size` bytes; `needed` is ours.
        if unsafe { K32EnumProcesses(buf.as_mut_ptr(), size, &mut needed) } == 0 {
            return Err(last_win_error(None, "EnumProcesses"));
        }
        if needed < size {
            buf.truncate(needed as usize / 4);
            buf.sort_unstable();
            return Ok(buf);
        }
        buf.resize(buf.len() + 1024, 0);
    }
}

/// Every process, in pid order; processes that exit (or deny access) meanwhile are errors in the
/// iterator. psutil's `process_iter()`.
pub fn process_iter() -> impl Iterator<Item = Result<Process>> {
    let pids = pids();
    let (list, err) = match pids {
        Ok(list) => (list, None),
        Err(e) => (Vec::new(), Some(e)),
    };
    err.into_iter()
        .map(Err)
        .chain(list.into_iter().map(Process::new))
}

/// The `SystemProcessInformation` snapshot of every process (`NtQuerySystemInformation`, the
/// buffer grown to the size asked for).
fn snapshot() -> Result<Vec<SnapshotProcess>> {
    let mut buf: Vec<u8> = vec![0; 0x4000];
    loop {
        let mut needed = 0u32;
        // SAFETY: `buf` has `buf.len()` writable bytes; `needed` is ours.
        let status = unsafe {
            NtQuerySystemInformation(
                SystemProcessInformation,
                buf.as_mut_ptr().cast(),
                buf.len() as u32,
                &mut needed,
            )
        };
        if status == STATUS_INFO_LENGTH_MISMATCH || status == 0xC000_0023_u32 as i32 {
            let want = (needed as usize).max(buf.len() * 2);
            if want > MAX_BUFFER {
                return Err(Error::Unsupported(
                    "process snapshot above 256 MiB".to_string(),
                ));
            }
            buf.resize(want, 0);
            continue;
        }
        if status < 0 {
            return Err(Error::call_failed(
                "NtQuerySystemInformation",
                std::io::Error::other(format!("NTSTATUS {:#x}", status as u32)),
            ));
        }
        return Ok(parse_snapshot(&buf));
    }
}

/// Pages asked of `QueryWorkingSetEx` per call: a 64 KiB buffer whatever the region's size.
const WS_EX_BATCH: usize = 4096;

/// `QueryWorkingSetEx` on `batch`, (VirtualAddress, VirtualAttributes) pairs in
/// `PSAPI_WORKING_SET_EX_INFORMATION`'s layout, the addresses set by the caller: fills in the
/// attributes, or gives the Win32 error code.
fn query_working_set_ex(target: HANDLE, batch: &mut [[usize; 2]]) -> std::result::Result<(), u32> {
    let bytes = std::mem::size_of_val(batch) as u32;
    // SAFETY: `batch` holds `bytes` writable bytes of (address, attributes) pairs, the struct's
    // layout (two pointer-sized fields) and alignment.
    if unsafe { K32QueryWorkingSetEx(target, batch.as_mut_ptr().cast(), bytes) } == 0 {
        return Err(last_error());
    }
    Ok(())
}

/// The bytes of `[base, base + size)` in the working set of the process behind `target`
/// (`QueryWorkingSetEx` over its pages, [`WS_EX_BATCH`] at a time, reusing `batch`), or the
/// Win32 error code of the first call that fails.
fn region_resident(
    target: HANDLE,
    base: usize,
    size: usize,
    batch: &mut Vec<[usize; 2]>,
) -> std::result::Result<u64, u32> {
    let page = super::system::page_size().max(1) as usize;
    let pages = size / page;
    let mut resident = 0u64;
    let mut first = 0usize;
    while first < pages {
        let n = (pages - first).min(WS_EX_BATCH);
        batch.clear();
        batch.extend((first..first + n).map(|i| [base.wrapping_add(i * page), 0]));
        query_working_set_ex(target, batch)?;
        resident = resident.saturating_add(working_set_ex_resident(
            batch.iter().map(|e| e[1]),
            page as u64,
        ));
        first += n;
    }
    Ok(resident)
}

/// The `QueryWorkingSetEx` attributes of every committed page of the process behind `target`
/// (regions from `VirtualQueryEx`, pages asked in batches of 4096).
fn resident_attributes(target: HANDLE) -> Result<Vec<usize>> {
    const MEM_COMMIT: u32 = 0x1000;
    let page = super::system::page_size().max(1) as usize;
    let mut out = Vec::new();
    // (VirtualAddress, VirtualAttributes): PSAPI_WORKING_SET_EX_INFORMATION's layout.
    let mut batch: Vec<[usize; 2]> = Vec::with_capacity(WS_EX_BATCH);
    let flush = |batch: &mut Vec<[usize; 2]>, out: &mut Vec<usize>| -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        if let Err(code) = query_working_set_ex(target, batch) {
            return Err(match code {
                // Neither working-set call takes this process (Wine answers so for every process
                // but the caller): psutil's NotImplementedError, not a vanished pid.
                ERROR_INVALID_PARAMETER => Error::Unsupported(
                    "the working set of another process (QueryWorkingSet and QueryWorkingSetEx \
                     refuse it; Wine has them for the calling process only)"
                        .to_string(),
                ),
                code => win_error(None, "QueryWorkingSetEx", code),
            });
        }
        out.extend(batch.iter().map(|e| e[1]));
        batch.clear();
        Ok(())
    };
    let mut addr = 0usize;
    loop {
        // SAFETY: VirtualQueryEx writes at most the struct's size into the zeroed local.
        let (n, mbi) = unsafe {
            let mut mbi: MEMORY_BASIC_INFORMATION = std::mem::zeroed();
            let n = VirtualQueryEx(
                target,
                addr as *const c_void,
                &mut mbi,
                std::mem::size_of::<MEMORY_BASIC_INFORMATION>(),
            );
            (n, mbi)
        };
        if n == 0 {
            break;
        }
        let base = mbi.BaseAddress as usize;
        if mbi.State == MEM_COMMIT {
            for i in 0..mbi.RegionSize / page {
                batch.push([base + i * page, 0]);
                if batch.len() == WS_EX_BATCH {
                    flush(&mut batch, &mut out)?;
                }
            }
        }
        match base.checked_add(mbi.RegionSize) {
            Some(next) if next > addr => addr = next,
            _ => break,
        }
    }
    flush(&mut batch, &mut out)?;
    Ok(out)
}

/// Reads `len` bytes at `addr` of the process behind `h` (`ReadProcessMemory`).
fn read_memory(pid: u32, h: &OwnedHandle, addr: usize, len: usize) -> Result<Vec<u8>> {
    let mut out = vec![0u8; len];
    let mut done = 0usize;
    // SAFETY: `out` has `len` writable bytes; the remote address is only read by the kernel.
    let ok = unsafe {
        ReadProcessMemory(
            raw(h),
            addr as *const c_void,
            out.as_mut_ptr().cast(),
            len,
            &mut done,
        )
    };
    if ok == 0 {
        let code = last_error();
        return Err(match code {
            // psutil retries a partial copy and then reports AccessDenied.
            ERROR_PARTIAL_COPY | 998 => Error::call_denied(Some(pid), "ReadProcessMemory"),
            code => win_error(Some(pid), "ReadProcessMemory", code),
        });
    }
    out.truncate(done);
    Ok(out)
}

fn usize_at(buf: &[u8], at: usize) -> Option<usize> {
    Some(usize::from_le_bytes(buf.get(at..at + 8)?.try_into().ok()?))
}

/// x64 offsets: `PEB.ProcessParameters`, and in `RTL_USER_PROCESS_PARAMETERS` the
/// `CurrentDirectory.DosPath`, `CommandLine` `UNICODE_STRING`s and the `Environment` pointer.
const PEB_PROCESS_PARAMETERS: usize = 0x20;
const PARAMS_CURRENT_DIRECTORY: usize = 0x38;
const PARAMS_COMMAND_LINE: usize = 0x70;
const PARAMS_ENVIRONMENT: usize = 0x80;
const PARAMS_LEN: usize = 0x88;

impl Process {
    /// Opens process `pid` (`OpenProcess` with `PROCESS_QUERY_LIMITED_INFORMATION | SYNCHRONIZE`)
    /// and reads its creation time. Fails with [`Error::NoSuchProcess`] if there is none, and
    /// with [`Error::AccessDenied`] for pid 0 and protected processes.
    pub fn new(pid: u32) -> Result<Process> {
        let handle = open(pid, PROCESS_QUERY_LIMITED_INFORMATION | SYNCHRONIZE)?;
        let (created, _, _) = process_times(pid, &handle)?;
        let process = Process {
            pid,
            handle,
            created,
        };
        if !process.is_running() {
            return Err(Error::NoSuchProcess { pid, name: None });
        }
        Ok(process)
    }

    /// The calling process.
    pub fn current() -> Result<Process> {
        Process::new(std::process::id())
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Whether this process is still running: its handle is not signalled
    /// (`WaitForSingleObject(h, 0)` times out). The handle pins the process, so a reused pid can
    /// never answer for it.
    pub fn is_running(&self) -> bool {
        // SAFETY: the held handle is open and has SYNCHRONIZE.
        unsafe { WaitForSingleObject(raw(&self.handle), 0) == WAIT_TIMEOUT }
    }

    /// Runs `f` with this process (API parity with Linux: Windows getters share no files, so
    /// there is nothing to cache).
    pub fn oneshot<T>(&self, f: impl FnOnce(&Process) -> T) -> T {
        f(self)
    }

    fn alive(&self) -> Result<()> {
        if self.is_running() {
            Ok(())
        } else {
            Err(Error::NoSuchProcess {
                pid: self.pid,
                name: None,
            })
        }
    }

    /// A new handle with `access`, checked to be the same process (same creation time).
    fn reopen(&self, access: u32) -> Result<OwnedHandle> {
        self.alive()?;
        let h = open(self.pid, access)?;
        let (created, _, _) = process_times(self.pid, &h)?;
        if created != self.created {
            return Err(Error::NoSuchProcess {
                pid: self.pid,
                name: None,
            });
        }
        Ok(h)
    }

    /// This process's entry in a fresh snapshot.
    fn snapshot_entry(&self) -> Result<SnapshotProcess> {
        self.alive()?;
        snapshot()?
            .into_iter()
            .find(|p| p.pid == self.pid && p.create_time == self.created)
            .ok_or(Error::NoSuchProcess {
                pid: self.pid,
                name: None,
            })
    }

    /// `GetProcessMemoryInfo`'s counters. `PrivateUsage` and `PagefileUsage` are the same
    /// figure (the commit charge); Wine fills only the latter, so a 0 `PrivateUsage` takes it.
    fn counters(&self) -> Result<PROCESS_MEMORY_COUNTERS_EX> {
        self.alive()?;
        // SAFETY: plain-data struct written by the call with its size passed.
        let (ok, c) = unsafe {
            let mut c: PROCESS_MEMORY_COUNTERS_EX = std::mem::zeroed();
            let ok = K32GetProcessMemoryInfo(
                raw(&self.handle),
                (&raw mut c).cast::<PROCESS_MEMORY_COUNTERS>(),
                cb::<PROCESS_MEMORY_COUNTERS_EX>(),
            );
            (ok, c)
        };
        if ok == 0 {
            return Err(last_win_error(Some(self.pid), "GetProcessMemoryInfo"));
        }
        let mut c = c;
        if c.PrivateUsage == 0 {
            c.PrivateUsage = c.PagefileUsage;
        }
        Ok(c)
    }

    /// Working set, private bytes and their peaks (`GetProcessMemoryInfo`); see [`MemoryInfo`].
    pub fn memory_info(&self) -> Result<MemoryInfo> {
        Ok(memory_info_of(&self.counters()?))
    }

    /// [`memory_info`](Self::memory_info) plus the pools (`GetProcessMemoryInfo`) and the
    /// reserved address space (`VirtualSize`, `PeakVirtualSize` of a `SystemProcessInformation`
    /// snapshot, a whole-system query: costly). psutil 8's `memory_info_ex`.
    pub fn memory_info_ex(&self) -> Result<MemoryInfoEx> {
        let c = self.counters()?;
        let snap = self.snapshot_entry()?;
        Ok(MemoryInfoEx {
            memory: memory_info_of(&c),
            r#virtual: snap.virtual_size,
            peak_virtual: snap.peak_virtual_size,
            paged_pool: c.QuotaPagedPoolUsage as u64,
            nonpaged_pool: c.QuotaNonPagedPoolUsage as u64,
            peak_paged_pool: c.QuotaPeakPagedPoolUsage as u64,
            peak_nonpaged_pool: c.QuotaPeakNonPagedPoolUsage as u64,
        })
    }

    /// USS: the private pages of the working set × the page size (`QueryWorkingSet` with
    /// `PROCESS_QUERY_INFORMATION`, the buffer doubled while too small). psutil 8's
    /// `memory_footprint()` on Windows. [`Error::Unsupported`] where neither working-set call takes
    /// the process (under Wine, every process but the caller).
    pub fn memory_footprint(&self) -> Result<MemoryFootprint> {
        // The calling process is walked through its pseudo-handle (Wine walks only that one).
        let own = self.pid == std::process::id();
        let reopened = if own {
            self.alive()?;
            None
        } else {
            Some(self.reopen(PROCESS_QUERY_INFORMATION)?)
        };
        // SAFETY: GetCurrentProcess returns a constant pseudo-handle that needs no closing.
        let target = reopened
            .as_ref()
            .map_or_else(|| unsafe { GetCurrentProcess() }, raw);
        let mut buf: Vec<usize> = vec![0; 0x8000 / 8];
        loop {
            let bytes = buf.len() * 8;
            // SAFETY: `buf` has `bytes` writable bytes, usize-aligned as the struct needs.
            let ok = unsafe { K32QueryWorkingSet(target, buf.as_mut_ptr().cast(), bytes as u32) };
            let entries = buf.first().copied().unwrap_or(0);
            if ok != 0 {
                let n = entries.min(buf.len() - 1);
                let uss = working_set_uss(&buf[1..=n], super::system::page_size());
                return Ok(MemoryFootprint { uss });
            }
            let code = last_error();
            if code == ERROR_INVALID_PARAMETER {
                // No working-set list (Wine): ask page by page instead.
                let uss =
                    working_set_ex_uss(&resident_attributes(target)?, super::system::page_size());
                return Ok(MemoryFootprint { uss });
            }
            if code != 24 /* ERROR_BAD_LENGTH */ && code != ERROR_INSUFFICIENT_BUFFER {
                // Not `Some(pid)`: an invalid-parameter answer here is not a vanished process.
                return Err(win_error(None, "QueryWorkingSet", code));
            }
            let want = (entries + 1 + 4096).max(buf.len() * 2);
            if want * 8 > MAX_BUFFER {
                return Err(Error::Unsupported("working set above 256 MiB".to_string()));
            }
            buf.resize(want, 0);
        }
    }

    /// [`memory_info`](Self::memory_info) plus [`memory_footprint`](Self::memory_footprint)'s
    /// USS. psutil's `memory_full_info()` on Windows.
    pub fn memory_full_info(&self) -> Result<MemoryFullInfo> {
        let m = self.memory_info()?;
        let f = self.memory_footprint()?;
        Ok(MemoryFullInfo {
            memory: m,
            uss: f.uss,
        })
    }

    /// The [`MemType`] field of `memory_info`, `memory_info_ex` or `memory_footprint` (only the
    /// record named is read), for the neutral `memory_percent`.
    pub(crate) fn memory_value(&self, memtype: MemType) -> Result<u64> {
        Ok(match memtype {
            MemType::Uss => self.memory_footprint()?.uss,
            MemType::Rss | MemType::Vms | MemType::PeakRss | MemType::PeakVms => {
                let m = self.memory_info()?;
                match memtype {
                    MemType::Rss => m.rss,
                    MemType::Vms => m.vms,
                    MemType::PeakRss => m.peak_rss,
                    _ => m.peak_vms,
                }
            }
            _ => {
                let m = self.memory_info_ex()?;
                match memtype {
                    MemType::Virtual => m.r#virtual,
                    MemType::PeakVirtual => m.peak_virtual,
                    MemType::PagedPool => m.paged_pool,
                    MemType::NonpagedPool => m.nonpaged_pool,
                    MemType::PeakPagedPool => m.peak_paged_pool,
                    _ => m.peak_nonpaged_pool,
                }
            }
        })
    }

    /// Total RAM for `memory_percent`: `virtual_memory().total`.
    pub(crate) fn total_ram(&self) -> Result<u64> {
        Ok(super::system::virtual_memory()?.total)
    }

    /// The regions that map a file (`VirtualQueryEx` from address 0, `GetMappedFileNameW` on
    /// each), in address order; with `grouped`, one record per path with `rss` summed.
    /// `rss` is the region's resident bytes (`QueryWorkingSetEx`, see [`MemoryMap::rss`]); where
    /// that call refuses the process (Wine, for every process but the caller) it falls back to
    /// the region size, psutil's figure (not truncated to 32 bits).
    pub fn memory_maps(&self, grouped: bool) -> Result<Vec<MemoryMap>> {
        // The calling process is asked through its pseudo-handle (Wine answers QueryWorkingSetEx
        // only for that one).
        let own = self.pid == std::process::id();
        let reopened = if own {
            self.alive()?;
            None
        } else {
            Some(self.reopen(PROCESS_QUERY_INFORMATION | PROCESS_VM_READ)?)
        };
        // SAFETY: GetCurrentProcess returns a constant pseudo-handle that needs no closing.
        let target = reopened
            .as_ref()
            .map_or_else(|| unsafe { GetCurrentProcess() }, raw);
        let mut maps = Vec::new();
        let mut addr = 0usize;
        let mut name = vec![0u16; 0x8000];
        // Resident bytes region by region with QueryWorkingSetEx, not one QueryWorkingSet of the
        // whole process sorted and counted per region: that list is every resident page (up to
        // hundreds of MiB of entries for a big process) while the file-mapped regions are
        // usually a small part of it, and Wine has no QueryWorkingSet at all. This asks only the
        // mapped regions' pages, with one 64 KiB buffer reused ([`WS_EX_BATCH`] pages a call).
        let mut batch: Vec<[usize; 2]> = Vec::with_capacity(WS_EX_BATCH);
        let mut working_set_ex = true;
        loop {
            // SAFETY: VirtualQueryEx writes at most the struct's size into the zeroed local.
            let (n, mbi) = unsafe {
                let mut mbi: MEMORY_BASIC_INFORMATION = std::mem::zeroed();
                let n = VirtualQueryEx(
                    target,
                    addr as *const c_void,
                    &mut mbi,
                    std::mem::size_of::<MEMORY_BASIC_INFORMATION>(),
                );
                (n, mbi)
            };
            if n == 0 {
                break;
            }
            let base = mbi.BaseAddress as usize;
            // SAFETY: `name` has room for its length in UTF-16 units.
            let len = unsafe {
                K32GetMappedFileNameW(
                    target,
                    base as *const c_void,
                    name.as_mut_ptr(),
                    name.len() as u32,
                )
            } as usize;
            if len > 0 {
                let mut rss = mbi.RegionSize as u64;
                if working_set_ex {
                    match region_resident(target, base, mbi.RegionSize, &mut batch) {
                        Ok(resident) => rss = resident,
                        // Refused for this process (Wine: any but the caller): region sizes.
                        Err(ERROR_INVALID_PARAMETER) => working_set_ex = false,
                        Err(code) => {
                            return Err(win_error(Some(self.pid), "QueryWorkingSetEx", code));
                        }
                    }
                }
                maps.push(MemoryMap {
                    addr: format!("{base:#x}"),
                    perms: prot(mbi.Protect).to_string(),
                    path: String::from_utf16_lossy(&name[..len.min(name.len())]),
                    rss,
                });
            }
            match base.checked_add(mbi.RegionSize) {
                Some(next) if next > addr => addr = next,
                _ => break,
            }
        }
        Ok(if grouped { group_maps(maps) } else { maps })
    }

    /// The executable's full path (`QueryFullProcessImageNameW`, Win32 form). pid 4 (System)
    /// gives an empty path, as psutil does.
    pub fn exe(&self) -> Result<PathBuf> {
        self.alive()?;
        if self.pid == 4 {
            return Ok(PathBuf::new());
        }
        let mut buf = vec![0u16; 32 * 1024];
        let mut len = buf.len() as u32;
        // SAFETY: `buf` holds `len` UTF-16 units; `len` is updated to the length written.
        let ok = unsafe {
            QueryFullProcessImageNameW(
                raw(&self.handle),
                PROCESS_NAME_WIN32,
                buf.as_mut_ptr(),
                &mut len,
            )
        };
        if ok == 0 {
            return Err(last_win_error(Some(self.pid), "QueryFullProcessImageNameW"));
        }
        Ok(PathBuf::from(String::from_utf16_lossy(
            &buf[..(len as usize).min(buf.len())],
        )))
    }

    /// The process name: "System Idle Process" for pid 0, "System" for 4, else the base name of
    /// [`exe`](Self::exe). psutil's Windows `name()`.
    pub fn name(&self) -> Result<String> {
        match self.pid {
            4 => Ok("System".to_string()),
            _ => {
                let exe = self.exe()?;
                Ok(basename(&exe.to_string_lossy()).to_string())
            }
        }
    }

    /// Reads the `RTL_USER_PROCESS_PARAMETERS` block of the target's PEB, with a handle able to
    /// read its memory.
    fn process_parameters(&self) -> Result<(OwnedHandle, Vec<u8>)> {
        let h = self.reopen(PROCESS_QUERY_INFORMATION | PROCESS_VM_READ)?;
        // SAFETY: PROCESS_BASIC_INFORMATION is plain data written by the call with its size.
        let (status, pbi) = unsafe {
            let mut pbi: PROCESS_BASIC_INFORMATION = std::mem::zeroed();
            let status = NtQueryInformationProcess(
                raw(&h),
                ProcessBasicInformation,
                (&raw mut pbi).cast(),
                cb::<PROCESS_BASIC_INFORMATION>(),
                std::ptr::null_mut(),
            );
            (status, pbi)
        };
        if status < 0 {
            return Err(Error::call_denied(
                Some(self.pid),
                "NtQueryInformationProcess",
            ));
        }
        let peb = read_memory(
            self.pid,
            &h,
            pbi.PebBaseAddress as usize + PEB_PROCESS_PARAMETERS,
            8,
        )?;
        let params_addr = usize_at(&peb, 0).ok_or_else(|| self.short_read())?;
        let params = read_memory(self.pid, &h, params_addr, PARAMS_LEN)?;
        Ok((h, params))
    }

    fn short_read(&self) -> Error {
        Error::call_denied(Some(self.pid), "ReadProcessMemory")
    }

    /// Reads the `UNICODE_STRING` at `at` of the parameter block.
    fn unicode_string(&self, h: &OwnedHandle, params: &[u8], at: usize) -> Result<String> {
        let len = params
            .get(at..at + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
            .ok_or_else(|| self.short_read())?;
        let ptr = usize_at(params, at + 8).ok_or_else(|| self.short_read())?;
        if len == 0 || ptr == 0 {
            return Ok(String::new());
        }
        let bytes = read_memory(self.pid, h, ptr, len)?;
        let units: Vec<u16> = bytes
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        Ok(String::from_utf16_lossy(&units))
    }

    /// The command line from the target's PEB (`RTL_USER_PROCESS_PARAMETERS.CommandLine`), split
    /// as `CommandLineToArgvW` does. pids 0 and 4 give an empty list, as in psutil.
    pub fn cmdline(&self) -> Result<Vec<String>> {
        if self.pid == 4 {
            return Ok(Vec::new());
        }
        let (h, params) = self.process_parameters()?;
        let line = self.unicode_string(&h, &params, PARAMS_COMMAND_LINE)?;
        Ok(split_command_line(&line))
    }

    /// The working directory from the target's PEB (`CurrentDirectory.DosPath`), without the
    /// trailing `\` (psutil's `normpath`) except for a drive root.
    pub fn cwd(&self) -> Result<PathBuf> {
        if self.pid == 4 {
            return Err(Error::call_denied(Some(4), "cwd"));
        }
        let (h, params) = self.process_parameters()?;
        let mut dir = self.unicode_string(&h, &params, PARAMS_CURRENT_DIRECTORY)?;
        if dir.len() > 3 && dir.ends_with('\\') {
            dir.pop();
        }
        Ok(PathBuf::from(dir))
    }

    /// The environment from the target's PEB (`RTL_USER_PROCESS_PARAMETERS.Environment`, read to
    /// the end of its memory region), keys upper-cased and `=C:` entries dropped as psutil's
    /// `parse_environ_block` does. pid 4 gives an empty map.
    pub fn environ(&self) -> Result<BTreeMap<String, String>> {
        if self.pid == 4 {
            return Ok(BTreeMap::new());
        }
        let (h, params) = self.process_parameters()?;
        let env = usize_at(&params, PARAMS_ENVIRONMENT).ok_or_else(|| self.short_read())?;
        if env == 0 {
            return Ok(BTreeMap::new());
        }
        // SAFETY: VirtualQueryEx writes at most the struct's size into the zeroed local.
        let (n, mbi) = unsafe {
            let mut mbi: MEMORY_BASIC_INFORMATION = std::mem::zeroed();
            let n = VirtualQueryEx(
                raw(&h),
                env as *const c_void,
                &mut mbi,
                std::mem::size_of::<MEMORY_BASIC_INFORMATION>(),
            );
            (n, mbi)
        };
        if n == 0 {
            return Err(last_win_error(Some(self.pid), "VirtualQueryEx"));
        }
        let end = (mbi.BaseAddress as usize).saturating_add(mbi.RegionSize);
        let len = end.saturating_sub(env).min(MAX_BUFFER);
        let bytes = read_memory(self.pid, &h, env, len)?;
        let units: Vec<u16> = bytes
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        Ok(parse_environ_block(&units))
    }

    /// When the process started, in seconds since the Unix epoch (`GetProcessTimes` creation).
    pub fn create_time(&self) -> Result<f64> {
        Ok(filetime_to_unix(self.created))
    }

    /// The parent's pid (`InheritedFromUniqueProcessId` of the snapshot). The parent may have
    /// exited, and Windows may since have given its pid to another process.
    pub fn ppid(&self) -> Result<u32> {
        Ok(self.snapshot_entry()?.ppid)
    }

    /// The parent process, if it is still running and started before this one (psutil's check
    /// against a reused parent pid); `None` otherwise.
    pub fn parent(&self) -> Result<Option<Process>> {
        let ppid = self.ppid()?;
        match Process::new(ppid) {
            Ok(parent) if parent.created <= self.created => Ok(Some(parent)),
            Ok(_) | Err(Error::NoSuchProcess { .. }) | Err(Error::AccessDenied { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The children (with `recursive`, all descendants) from one snapshot's parent links, kept
    /// only if they started after their parent (a reused parent pid is not a parent).
    pub fn children(&self, recursive: bool) -> Result<Vec<Process>> {
        self.alive()?;
        let snap = snapshot()?;
        let mut out = Vec::new();
        let mut queue = vec![(self.pid, self.created)];
        while let Some((parent, parent_created)) = queue.pop() {
            for p in &snap {
                if p.ppid != parent || p.pid == parent || p.create_time < parent_created {
                    continue;
                }
                let Ok(child) = Process::new(p.pid) else {
                    continue;
                };
                if recursive {
                    queue.push((child.pid, child.created));
                }
                out.push(child);
            }
        }
        out.sort_by_key(|p| p.pid);
        Ok(out)
    }

    /// [`ProcessStatus::Stopped`] when every thread is suspended, else running (snapshot thread
    /// states, psutil's rule).
    pub fn status(&self) -> Result<ProcessStatus> {
        Ok(status_from_threads(&self.snapshot_entry()?.threads))
    }

    /// Threads (`NumberOfThreads` of the snapshot).
    pub fn num_threads(&self) -> Result<u64> {
        Ok(u64::from(self.snapshot_entry()?.num_threads))
    }

    /// Every thread, sorted by id, with its user and kernel time: the `SYSTEM_THREAD_INFORMATION`
    /// entries of a fresh snapshot (the times psutil reads per thread with `GetThreadTimes`,
    /// without opening each thread).
    pub fn threads(&self) -> Result<Vec<Thread>> {
        let mut threads = self.snapshot_entry()?.thread_times;
        threads.sort_by_key(|t| t.id);
        Ok(threads)
    }

    /// Open handles (`GetProcessHandleCount`).
    pub fn num_handles(&self) -> Result<u64> {
        self.alive()?;
        let mut n = 0u32;
        // SAFETY: one u32 out-parameter; the handle is open.
        if unsafe { GetProcessHandleCount(raw(&self.handle), &mut n) } == 0 {
            return Err(last_win_error(Some(self.pid), "GetProcessHandleCount"));
        }
        Ok(u64::from(n))
    }

    /// User and kernel time (`GetProcessTimes`), seconds; children's times are 0.
    pub fn cpu_times(&self) -> Result<CpuTimes> {
        self.alive()?;
        let (_, kernel, user) = process_times(self.pid, &self.handle)?;
        Ok(CpuTimes {
            user: filetime_secs(user),
            system: filetime_secs(kernel),
            children_user: 0.0,
            children_system: 0.0,
        })
    }

    /// I/O operations and bytes (`GetProcessIoCounters`).
    pub fn io_counters(&self) -> Result<IoCounters> {
        self.alive()?;
        // SAFETY: plain-data out-parameter; the handle is open.
        let (ok, c) = unsafe {
            let mut c: IO_COUNTERS = std::mem::zeroed();
            (GetProcessIoCounters(raw(&self.handle), &mut c), c)
        };
        if ok == 0 {
            return Err(last_win_error(Some(self.pid), "GetProcessIoCounters"));
        }
        Ok(IoCounters {
            read_count: c.ReadOperationCount,
            write_count: c.WriteOperationCount,
            read_bytes: c.ReadTransferCount,
            write_bytes: c.WriteTransferCount,
            other_count: c.OtherOperationCount,
            other_bytes: c.OtherTransferCount,
        })
    }

    /// The owner as `DOMAIN\user` (`OpenProcessToken` → `GetTokenInformation(TokenUser)` →
    /// `LookupAccountSidW`); `NT AUTHORITY\SYSTEM` for pid 4.
    pub fn username(&self) -> Result<String> {
        if self.pid == 4 {
            return Ok("NT AUTHORITY\\SYSTEM".to_string());
        }
        self.alive()?;
        let mut token: HANDLE = std::ptr::null_mut();
        // SAFETY: the handle is open; `token` receives a new handle we own.
        if unsafe { OpenProcessToken(raw(&self.handle), TOKEN_QUERY, &mut token) } == 0 {
            return Err(last_win_error(Some(self.pid), "OpenProcessToken"));
        }
        // SAFETY: `token` is a fresh handle we own.
        let token = unsafe { OwnedHandle::from_raw_handle(token) };
        let mut need = 0u32;
        // SAFETY: a size query with no buffer.
        unsafe { GetTokenInformation(raw(&token), TokenUser, std::ptr::null_mut(), 0, &mut need) };
        let mut buf: Vec<usize> = vec![0; (need as usize).div_ceil(8).max(8)];
        // SAFETY: `buf` has `buf.len() * 8` bytes, pointer-aligned for TOKEN_USER.
        let ok = unsafe {
            GetTokenInformation(
                raw(&token),
                TokenUser,
                buf.as_mut_ptr().cast(),
                (buf.len() * 8) as u32,
                &mut need,
            )
        };
        if ok == 0 {
            return Err(last_win_error(Some(self.pid), "GetTokenInformation"));
        }
        // SAFETY: the call filled `buf` with a TOKEN_USER whose SID points inside `buf`.
        let sid = unsafe { (*buf.as_ptr().cast::<TOKEN_USER>()).User.Sid };
        let (mut name, mut domain) = (vec![0u16; 256], vec![0u16; 256]);
        loop {
            let (mut n, mut d) = (name.len() as u32, domain.len() as u32);
            let mut kind: SID_NAME_USE = 0;
            // SAFETY: both buffers hold the lengths passed; `sid` lives in `buf`.
            let ok = unsafe {
                LookupAccountSidW(
                    std::ptr::null(),
                    sid,
                    name.as_mut_ptr(),
                    &mut n,
                    domain.as_mut_ptr(),
                    &mut d,
                    &mut kind,
                )
            };
            if ok != 0 {
                let name = String::from_utf16_lossy(&name[..(n as usize).min(name.len())]);
                let domain = String::from_utf16_lossy(&domain[..(d as usize).min(domain.len())]);
                return Ok(format!("{domain}\\{name}"));
            }
            let code = last_error();
            if code != ERROR_INSUFFICIENT_BUFFER || name.len() > 1 << 15 {
                // ERROR_NONE_MAPPED (1332): psutil reports AccessDenied.
                return Err(match code {
                    1332 => Error::call_denied(Some(self.pid), "LookupAccountSidW"),
                    code => win_error(Some(self.pid), "LookupAccountSidW", code),
                });
            }
            name.resize((n as usize).max(name.len() * 2), 0);
            domain.resize((d as usize).max(domain.len() * 2), 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ffi_struct_sizes_match_the_x64_abi() {
        assert_eq!(std::mem::size_of::<PROCESS_MEMORY_COUNTERS_EX>(), 80);
        assert_eq!(std::mem::size_of::<PROCESS_BASIC_INFORMATION>(), 48);
        assert_eq!(std::mem::size_of::<MEMORY_BASIC_INFORMATION>(), 48);
        assert_eq!(std::mem::size_of::<IO_COUNTERS>(), 48);
    }
}
