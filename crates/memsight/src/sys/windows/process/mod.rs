//! A process on Windows: an open process handle plus its creation time.
//!
//! The handle is held for the life of the [`Process`], so the kernel cannot hand its pid to a new
//! process meanwhile; getters that need more access rights than the held handle has open the pid
//! again and check that the creation time is the same before reading anything.
//!
//! The getters are split by topic, as the Linux backend's: `memory` (counters, working set,
//! maps), `peb` (command line, working directory, environment), `info` (the rest). The records
//! they fill and the pure readers of raw buffers are in `records/`, which the Linux unit tests
//! compile too.

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

use crate::error::{Error, Result};
use crate::neutral::maps::group_maps;
use crate::process::MemoryFootprint;
pub use crate::sys::windows::records::{
    AddressFamily, CpuTimes, IoCounters, MemType, MemoryFullInfo, MemoryInfo, MemoryInfoEx,
    MemoryMap, ProcessStatus, Thread,
};
use crate::sys::windows::records::{
    SnapshotProcess, basename, filetime, filetime_secs, filetime_to_unix, parse_environ_block,
    parse_snapshot, prot, split_command_line, status_from_threads, working_set_ex_resident,
    working_set_ex_uss, working_set_uss,
};
use crate::sys::windows::{cb, last_error, last_win_error, win_error};

mod info;
mod memory;
mod peb;

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

impl Process {
    /// Backs [`crate::Process::new`], where it is documented with every OS's source.
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

    /// Backs [`crate::Process::pid`], where it is documented with every OS's source.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Backs [`crate::Process::is_running`], where it is documented with every OS's source.
    pub fn is_running(&self) -> bool {
        // SAFETY: the held handle is open and has SYNCHRONIZE.
        unsafe { WaitForSingleObject(raw(&self.handle), 0) == WAIT_TIMEOUT }
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
