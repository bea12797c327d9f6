//! The Windows `ProcSelf`: this process's open handles, threads, child
//! processes and USS, read with Win32 calls.
//!
//! - handles: `GetProcessHandleCount` (what [`Metric::Fds`](crate::Metric::Fds) counts on
//!   Windows). Wine answers 0 there: then the handle table is scanned instead, value by value
//!   with `GetHandleInformation`, from 4 up to [`SLACK_SLOTS`] values past the highest open
//!   one seen. For failure reports, each open handle value with its object type
//!   (`NtQueryObject` `ObjectTypeInformation`: `Event`, `File`, `Process`, ...) and, for files,
//!   the path (`GetFinalPathNameByHandleW`).
//! - threads, child processes: a Toolhelp snapshot (`CreateToolhelp32Snapshot`), entries whose
//!   owner (parent) is this process; thread names from `GetThreadDescription`.
//!
//! Nothing here can be closed under the harness the way `/proc/self` can on Linux: the handles it
//! uses live only for the duration of one reading, so [`ProcSelf::verify`] always succeeds.
#![allow(unsafe_code)]

use std::ffi::c_void;

use windows_sys::Wdk::Foundation::{NtQueryObject, ObjectTypeInformation};
use windows_sys::Win32::Foundation::{
    CloseHandle, GetHandleInformation, HANDLE, INVALID_HANDLE_VALUE, LocalFree, UNICODE_STRING,
};
use windows_sys::Win32::Storage::FileSystem::{
    FILE_TYPE_DISK, GetFileType, GetFinalPathNameByHandleW,
};
use windows_sys::Win32::System::Diagnostics::ToolHelp::{
    CreateToolhelp32Snapshot, PROCESSENTRY32W, Process32FirstW, Process32NextW, TH32CS_SNAPPROCESS,
    TH32CS_SNAPTHREAD, THREADENTRY32, Thread32First, Thread32Next,
};
use windows_sys::Win32::System::Memory::GetProcessHeaps;
use windows_sys::Win32::System::Threading::{
    GetCurrentProcess, GetProcessHandleCount, GetThreadDescription, OpenThread,
    THREAD_QUERY_LIMITED_INFORMATION,
};

/// Never happens on Windows (see the module's note); the type keeps the sampler's code shared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FdLost {
    pub(crate) fd: i32,
    pub(crate) now: String,
}

/// Handle values are multiples of 4 ("slots"), handed out lowest-free-first, so the open ones
/// sit low: a scan goes this many slots past the highest open handle seen so far (a function
/// leaking more handles than this per batch is still seen growing, by this many).
const SLACK_SLOTS: usize = 256;

pub(crate) struct ProcSelf {
    pid: u32,
    /// `GetProcessHandleCount` answers (it does on Windows; Wine answers 0): else scan.
    counted: bool,
    /// The highest handle slot found open so far (scans go [`SLACK_SLOTS`] beyond it).
    top_slot: usize,
}

/// A Toolhelp snapshot handle, closed on drop.
struct Snapshot(HANDLE);

impl Snapshot {
    fn new(flags: u32) -> std::io::Result<Snapshot> {
        // SAFETY: plain call; the handle is checked and owned by the guard.
        let h = unsafe { CreateToolhelp32Snapshot(flags, 0) };
        if h == INVALID_HANDLE_VALUE || h.is_null() {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Snapshot(h))
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        // SAFETY: the snapshot handle is ours and closed once.
        unsafe { CloseHandle(self.0) };
    }
}

impl ProcSelf {
    pub(crate) fn new() -> std::io::Result<ProcSelf> {
        let mut me = ProcSelf {
            pid: std::process::id(),
            counted: false,
            top_slot: 0,
        };
        // The harness holds handles of its own (at least its test runner's): 0 means "not
        // implemented" (Wine), not an empty table.
        me.counted = handle_count()? > 0;
        Ok(me)
    }

    /// Always fine on Windows: see the module's note.
    pub(crate) fn verify(&mut self) -> Result<(), FdLost> {
        Ok(())
    }

    /// Open handles of this process (`GetProcessHandleCount`, or a scan where it answers 0).
    pub(crate) fn fds(&mut self) -> std::io::Result<i64> {
        if self.counted {
            return Ok(i64::from(handle_count()?));
        }
        Ok(self.scan(|_| {}) as i64)
    }

    /// Calls `each` with every open handle value, slot 1 to [`SLACK_SLOTS`] past the highest
    /// open one; returns how many there are.
    fn scan(&mut self, mut each: impl FnMut(usize)) -> usize {
        let mut n = 0;
        let mut slot = 1;
        while slot <= self.top_slot + SLACK_SLOTS {
            let value = slot * 4;
            let mut flags = 0u32;
            // SAFETY: GetHandleInformation only looks the value up in this process's handle
            // table; an unused value fails with ERROR_INVALID_HANDLE.
            if unsafe { GetHandleInformation(value as HANDLE, &mut flags) } != 0 {
                n += 1;
                self.top_slot = self.top_slot.max(slot);
                each(value);
            }
            slot += 1;
        }
        n
    }

    /// Calls `each` with every thread entry of this process in a Toolhelp snapshot.
    fn each_thread(&self, mut each: impl FnMut(u32)) -> std::io::Result<i64> {
        let snap = Snapshot::new(TH32CS_SNAPTHREAD)?;
        // SAFETY: THREADENTRY32 is plain data; dwSize set as Thread32First requires.
        let mut e: THREADENTRY32 = unsafe { std::mem::zeroed() };
        e.dwSize = std::mem::size_of::<THREADENTRY32>() as u32;
        let mut n = 0;
        // SAFETY: a live snapshot handle and a properly sized entry.
        let mut ok = unsafe { Thread32First(snap.0, &mut e) };
        while ok != 0 {
            if e.th32OwnerProcessID == self.pid {
                n += 1;
                each(e.th32ThreadID);
            }
            // SAFETY: as above.
            ok = unsafe { Thread32Next(snap.0, &mut e) };
        }
        Ok(n)
    }

    /// Threads of this process (Toolhelp snapshot).
    pub(crate) fn threads(&mut self) -> std::io::Result<i64> {
        self.each_thread(|_| {})
    }

    /// Calls `each` with the pid of every running process whose parent is this one.
    fn each_child(&self, mut each: impl FnMut(u32)) -> std::io::Result<i64> {
        let snap = Snapshot::new(TH32CS_SNAPPROCESS)?;
        // SAFETY: PROCESSENTRY32W is plain data; dwSize set as Process32FirstW requires.
        let mut e: PROCESSENTRY32W = unsafe { std::mem::zeroed() };
        e.dwSize = std::mem::size_of::<PROCESSENTRY32W>() as u32;
        let mut n = 0;
        // SAFETY: a live snapshot handle and a properly sized entry.
        let mut ok = unsafe { Process32FirstW(snap.0, &mut e) };
        while ok != 0 {
            if e.th32ParentProcessID == self.pid && e.th32ProcessID != self.pid {
                n += 1;
                each(e.th32ProcessID);
            }
            // SAFETY: as above.
            ok = unsafe { Process32NextW(snap.0, &mut e) };
        }
        Ok(n)
    }

    /// Running child processes (Toolhelp snapshot: entries whose parent is this process).
    pub(crate) fn children(&mut self) -> std::io::Result<i64> {
        self.each_child(|_| {})
    }

    /// The child pids, for failure reports.
    pub(crate) fn child_pids(&mut self) -> Vec<i32> {
        let mut out = Vec::new();
        let _ = self.each_child(|pid| out.push(pid as i32));
        out
    }

    /// `(handle value, what it is)` for every open handle, for failure reports: the object type
    /// (`Event`, `File: C:\...`, `Process`, ...) where Windows tells it. Allocates.
    pub(crate) fn fd_targets(&mut self) -> Vec<(String, String)> {
        if self.counted {
            // The count gives no top: start from it (open handles sit low).
            self.top_slot = self.top_slot.max(self.fds().map_or(0, |n| n as usize));
        }
        let mut values = Vec::new();
        self.scan(|v| values.push(v));
        values
            .into_iter()
            .map(|v| (format!("{v:#x}"), describe_handle(v as HANDLE)))
            .collect()
    }

    /// `heap at 0x...` for every heap of this process (`GetProcessHeaps`), for failure reports.
    pub(crate) fn heaps(&mut self) -> Vec<String> {
        // SAFETY: a 0-length call only returns the count.
        let n = unsafe { GetProcessHeaps(0, std::ptr::null_mut()) };
        let mut heaps: Vec<HANDLE> = vec![std::ptr::null_mut(); n as usize + 16];
        // SAFETY: `heaps` has room for the count passed.
        let got = unsafe { GetProcessHeaps(heaps.len() as u32, heaps.as_mut_ptr()) };
        heaps.truncate((got as usize).min(heaps.len()));
        heaps
            .into_iter()
            .map(|h| format!("heap at {:#x}", h as usize))
            .collect()
    }

    /// `(tid, name)` for every thread of this process, for failure reports: the name set with
    /// `SetThreadDescription` (Rust's `thread::Builder::name` sets it), else `?`. Allocates.
    pub(crate) fn thread_names(&mut self) -> Vec<(u32, String)> {
        let mut tids = Vec::new();
        let _ = self.each_thread(|tid| tids.push(tid));
        tids.into_iter().map(|t| (t, thread_name(t))).collect()
    }
}

/// `GetProcessHandleCount` of this process.
fn handle_count() -> std::io::Result<u32> {
    let mut n = 0u32;
    // SAFETY: the pseudo-handle of this process; one u32 out-parameter.
    if unsafe { GetProcessHandleCount(GetCurrentProcess(), &mut n) } == 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(n)
}

/// The object type of a handle (`NtQueryObject` `ObjectTypeInformation`), with the path for a
/// disk file (`GetFinalPathNameByHandleW`); `?` when Windows does not tell.
fn describe_handle(h: HANDLE) -> String {
    // OBJECT_TYPE_INFORMATION starts with the type's UNICODE_STRING, whose buffer follows the
    // struct in the same output buffer. u64s keep the buffer aligned for it.
    let mut buf = [0u64; 128];
    let mut len = 0u32;
    // SAFETY: the buffer is writable for its whole size, which is passed; `len` is an out-param.
    let status = unsafe {
        NtQueryObject(
            h,
            ObjectTypeInformation,
            buf.as_mut_ptr().cast::<c_void>(),
            std::mem::size_of_val(&buf) as u32,
            &mut len,
        )
    };
    if status < 0 {
        return "?".to_owned();
    }
    // SAFETY: on success the buffer starts with a UNICODE_STRING (aligned: u64 buffer).
    let name = unsafe { &*buf.as_ptr().cast::<UNICODE_STRING>() };
    let ty = if name.Buffer.is_null() || name.Length == 0 {
        "?".to_owned()
    } else {
        // SAFETY: Windows points Buffer at `Length` bytes of UTF-16 inside `buf`.
        let s = unsafe { std::slice::from_raw_parts(name.Buffer, usize::from(name.Length) / 2) };
        String::from_utf16_lossy(s)
    };
    // Only disk files: asking a pipe's name can block on Windows.
    // SAFETY: GetFileType only reads the handle's device type.
    if ty == "File" && unsafe { GetFileType(h) } == FILE_TYPE_DISK {
        let mut path = [0u16; 1024];
        // SAFETY: the buffer and its length in characters; the handle is open.
        let n = unsafe { GetFinalPathNameByHandleW(h, path.as_mut_ptr(), path.len() as u32, 0) };
        if n > 0 && (n as usize) < path.len() {
            return format!("File: {}", String::from_utf16_lossy(&path[..n as usize]));
        }
    }
    ty
}

/// A thread's description (`GetThreadDescription`), or `?`.
fn thread_name(tid: u32) -> String {
    // SAFETY: plain call; the handle is checked and closed below.
    let h = unsafe { OpenThread(THREAD_QUERY_LIMITED_INFORMATION, 0, tid) };
    if h.is_null() {
        return "?".to_owned();
    }
    let mut p: *mut u16 = std::ptr::null_mut();
    // SAFETY: an open thread handle and an out-pointer Windows fills with a LocalAlloc'd string.
    let hr = unsafe { GetThreadDescription(h, &mut p) };
    let name = if hr >= 0 && !p.is_null() {
        let mut n = 0usize;
        // SAFETY: a NUL-terminated UTF-16 string from Windows; read up to the NUL (capped).
        while n < 1024 && unsafe { *p.add(n) } != 0 {
            n += 1;
        }
        // SAFETY: `n` characters were just read as valid.
        let s = String::from_utf16_lossy(unsafe { std::slice::from_raw_parts(p, n) });
        if s.is_empty() { "?".to_owned() } else { s }
    } else {
        "?".to_owned()
    };
    if !p.is_null() {
        // SAFETY: GetThreadDescription's string is freed with LocalFree, once.
        unsafe { LocalFree(p.cast()) };
    }
    // SAFETY: our handle, closed once.
    unsafe { CloseHandle(h) };
    name
}
