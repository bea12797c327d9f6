//! The Windows counterpart of `proc_self`: this process's open handles, threads, child
//! processes and USS, read with Win32 calls.
//!
//! - handles: `GetProcessHandleCount` (what [`Metric::Fds`](crate::Metric::Fds) counts on
//!   Windows); for failure reports each open handle value with its object type (`NtQueryObject`
//!   `ObjectTypeInformation`: `Event`, `File`, `Process`, ...) and, for files, the path
//!   (`GetFinalPathNameByHandleW`).
//! - threads, child processes: a Toolhelp snapshot (`CreateToolhelp32Snapshot`), entries whose
//!   owner (parent) is this process; thread names from `GetThreadDescription`.
//! - USS: memsight's `memory_footprint()` (the private pages of the working set).
//!
//! Nothing here can be closed under the harness the way `/proc/self` can on Linux: the handles it
//! uses live only for the duration of one reading, so [`ProcSelf::verify`] always succeeds.
#![allow(unsafe_code)]

use std::ffi::c_void;

use windows_sys::Wdk::Foundation::{NtQueryObject, ObjectTypeInformation};
use windows_sys::Win32::Foundation::{
    CloseHandle, GetHandleInformation, HANDLE, INVALID_HANDLE_VALUE, LocalFree, UNICODE_STRING,
};
use windows_sys::Win32::Storage::FileSystem::GetFinalPathNameByHandleW;
use windows_sys::Win32::System::Diagnostics::ToolHelp::{
    CreateToolhelp32Snapshot, PROCESSENTRY32W, Process32FirstW, Process32NextW, TH32CS_SNAPPROCESS,
    TH32CS_SNAPTHREAD, THREADENTRY32, Thread32First, Thread32Next,
};
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

/// Handle values are multiples of 4. When naming handles, values are tried up to 4 times this
/// many slots beyond the count `GetProcessHandleCount` gives (values are reused lowest-first, so
/// the open ones sit low).
const SLACK_SLOTS: usize = 4096;

pub(crate) struct ProcSelf {
    pid: u32,
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

/// A UTF-16 buffer up to its first NUL, as a String.
fn wide(buf: &[u16]) -> String {
    let end = buf.iter().position(|&c| c == 0).unwrap_or(buf.len());
    String::from_utf16_lossy(&buf[..end])
}

impl ProcSelf {
    pub(crate) fn new() -> std::io::Result<ProcSelf> {
        Ok(ProcSelf {
            pid: std::process::id(),
        })
    }

    /// Always fine on Windows: see the module's note.
    pub(crate) fn verify(&mut self) -> Result<(), FdLost> {
        Ok(())
    }

    /// Open handles of this process (`GetProcessHandleCount`).
    pub(crate) fn fds(&mut self) -> std::io::Result<i64> {
        let mut n = 0u32;
        // SAFETY: the pseudo-handle of this process; one u32 out-parameter.
        if unsafe { GetProcessHandleCount(GetCurrentProcess(), &mut n) } == 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(i64::from(n))
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

    /// Calls `each` with `(pid, exe name)` of every running process whose parent is this one.
    fn each_child(&self, mut each: impl FnMut(u32, &[u16])) -> std::io::Result<i64> {
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
                each(e.th32ProcessID, &e.szExeFile);
            }
            // SAFETY: as above.
            ok = unsafe { Process32NextW(snap.0, &mut e) };
        }
        Ok(n)
    }

    /// Running child processes (Toolhelp snapshot: entries whose parent is this process).
    pub(crate) fn children(&mut self) -> std::io::Result<i64> {
        self.each_child(|_, _| {})
    }

    /// The child pids, for failure reports.
    pub(crate) fn child_pids(&mut self) -> Vec<i32> {
        let mut out = Vec::new();
        let _ = self.each_child(|pid, _| out.push(pid as i32));
        out
    }

    /// `PID (exe name)` of a child process, for failure reports.
    pub(crate) fn describe_child(&mut self, pid: i32) -> String {
        let mut name = None;
        let _ = self.each_child(|p, exe| {
            if p as i32 == pid {
                name = Some(wide(exe));
            }
        });
        match name {
            Some(n) => format!("{pid} ({n})"),
            None => format!("{pid}"),
        }
    }

    /// USS: the private pages of the working set (memsight's `memory_footprint`), bytes.
    pub(crate) fn uss(&mut self) -> std::io::Result<i64> {
        let p = memsight::Process::current().map_err(std::io::Error::other)?;
        let f = p.memory_footprint().map_err(std::io::Error::other)?;
        Ok(i64::try_from(f.uss).unwrap_or(i64::MAX))
    }

    /// `(handle value, what it is)` for every open handle, for failure reports: the object type
    /// (`Event`, `File: C:\...`, `Process`, ...) where Windows tells it. Allocates.
    pub(crate) fn fd_targets(&mut self) -> Vec<(String, String)> {
        let count = self.fds().map_or(0, |n| n as usize);
        let mut out = Vec::new();
        let slots = count + SLACK_SLOTS;
        for slot in 1..=slots {
            let value = slot * 4;
            let h = value as HANDLE;
            let mut flags = 0u32;
            // SAFETY: GetHandleInformation only looks the value up in this process's handle
            // table; an unused value fails with ERROR_INVALID_HANDLE.
            if unsafe { GetHandleInformation(h, &mut flags) } == 0 {
                continue;
            }
            out.push((format!("{value:#x}"), describe_handle(h)));
            if out.len() >= count {
                break;
            }
        }
        out
    }

    /// `(tid, name)` for every thread of this process, for failure reports: the name set with
    /// `SetThreadDescription` (Rust's `thread::Builder::name` sets it), else `?`. Allocates.
    pub(crate) fn thread_names(&mut self) -> Vec<(u32, String)> {
        let mut tids = Vec::new();
        let _ = self.each_thread(|tid| tids.push(tid));
        tids.into_iter().map(|t| (t, thread_name(t))).collect()
    }
}

/// The object type of a handle (`NtQueryObject` `ObjectTypeInformation`), with the path for a
/// file; `?` when Windows does not tell.
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
    if ty == "File" {
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
