//! `memsight record`'s process control on Windows: Ctrl-C and Ctrl-Break stop a recording
//! (`SetConsoleCtrlHandler`); a thread waits on a handle of its own for the command's (or the
//! attached process's) exit; the command is put in a job object that kills it when memsight's
//! handle on the job closes, that is when memsight exits, however it ends.

#![allow(unsafe_code)] // the Win32 calls below, each with its SAFETY note

use std::ffi::OsString;
use std::io;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};
use std::process::{Child, ExitStatus};
use std::sync::{OnceLock, mpsc};

use anyhow::Context;
use windows_sys::Win32::Foundation::{CloseHandle, WAIT_OBJECT_0};
use windows_sys::Win32::System::Console::{CTRL_BREAK_EVENT, CTRL_C_EVENT, SetConsoleCtrlHandler};
use windows_sys::Win32::System::JobObjects::{
    AssignProcessToJobObject, CreateJobObjectW, JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
    JOB_OBJECT_LIMIT_SILENT_BREAKAWAY_OK, JOBOBJECT_EXTENDED_LIMIT_INFORMATION,
    JobObjectExtendedLimitInformation, SetInformationJobObject,
};
use windows_sys::Win32::System::Threading::{
    INFINITE, OpenProcess, PROCESS_SYNCHRONIZE, WaitForSingleObject,
};

use super::Event;

/// How CMD's status becomes memsight's, for `--help`.
pub const STATUS_HELP: &str = "its exit code, or 1 when that is above 255";

/// What stops a recording and what becomes of CMD, for `--help`.
pub const STOP_HELP: &str = "Ctrl-C and Ctrl-Break end the recording alike: CMD, on the same \
    console, gets the same event (and is ended 5 s later), then the summary and the budget \
    check. If memsight is killed, CMD is killed with it (a job object); CMD's own children are \
    not.";

/// Where the console's control handler, which the system runs on a thread of its own, sends.
static STOPS: OnceLock<mpsc::Sender<Event>> = OnceLock::new();

/// The console control handler: Ctrl-C and Ctrl-Break become [`Event::Stop`] and are handled
/// (memsight goes on to its summary); any other event (closing the console, logoff, shutdown)
/// is left to the next handler, the system's, which ends memsight.
unsafe extern "system" fn on_console_event(kind: u32) -> windows_sys::core::BOOL {
    if kind != CTRL_C_EVENT && kind != CTRL_BREAK_EVENT {
        return 0;
    }
    if let Some(tx) = STOPS.get() {
        let _ = tx.send(Event::Stop);
    }
    1
}

/// Sends [`Event::Stop`] for each Ctrl-C or Ctrl-Break.
pub fn watch_stops(tx: mpsc::Sender<Event>) -> anyhow::Result<()> {
    STOPS
        .set(tx)
        .map_err(|_| anyhow::anyhow!("the console handler is already set"))?;
    // SAFETY: registers a function that lives as long as the program; it only reads a OnceLock
    // and sends on a channel, both safe from any thread.
    if unsafe { SetConsoleCtrlHandler(Some(on_console_event), 1) } == 0 {
        return Err(io::Error::last_os_error()).context("cannot handle Ctrl-C");
    }
    Ok(())
}

/// Sends [`Event::Exited`] when process `pid` exits, from a thread that waits on a handle of its
/// own (so the `Child` stays the main thread's to reap or kill). Nothing is sent when the
/// process cannot be opened: the next sample sees the exit.
fn watch_exit(pid: u32, tx: mpsc::Sender<Event>) {
    // SAFETY: no pointers; a null result is checked.
    let raw = unsafe { OpenProcess(PROCESS_SYNCHRONIZE, 0, pid) };
    if raw.is_null() {
        return;
    }
    // SAFETY: `raw` is a handle just opened, owned by nothing else.
    let handle = unsafe { OwnedHandle::from_raw_handle(raw) };
    std::thread::spawn(move || {
        // SAFETY: waits on the handle this thread owns, open for the whole call.
        if unsafe { WaitForSingleObject(handle.as_raw_handle(), INFINITE) } == WAIT_OBJECT_0 {
            let _ = tx.send(Event::Exited);
        }
    });
}

/// Sends [`Event::Exited`] when the command exits. Its pid cannot be reused meanwhile: the
/// `Child` holds a handle on it.
pub fn watch_child(child: &Child, tx: mpsc::Sender<Event>) {
    watch_exit(child.id(), tx);
}

/// Sends [`Event::Exited`] when the attached process `pid` exits.
pub fn watch_attached(pid: u32, tx: mpsc::Sender<Event>) {
    watch_exit(pid, tx);
}

/// Starts `program` with `args`, to die with memsight (see [`tie_to_memsight`]).
pub fn spawn(program: &OsString, args: &[OsString]) -> io::Result<Child> {
    let child = std::process::Command::new(program).args(args).spawn()?;
    tie_to_memsight(&child);
    Ok(child)
}

/// Puts the command in a new job object that kills its processes when its last handle closes,
/// and keeps that handle open for memsight's whole life: when memsight exits, however it ends,
/// the system closes it and the command is killed. Children the command starts leave the job
/// (silent breakaway), as on Linux only the command itself dies with memsight. Best effort: a
/// command started before its assignment to the job (a few microseconds) or a system refusing
/// jobs leaves the command running past memsight, as on macOS.
fn tie_to_memsight(child: &Child) {
    // SAFETY: null security attributes and name are allowed; a null result is checked.
    let job = unsafe { CreateJobObjectW(std::ptr::null(), std::ptr::null()) };
    if job.is_null() {
        return;
    }
    let mut limits = JOBOBJECT_EXTENDED_LIMIT_INFORMATION::default();
    limits.BasicLimitInformation.LimitFlags =
        JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE | JOB_OBJECT_LIMIT_SILENT_BREAKAWAY_OK;
    // SAFETY: `limits` lives for the call and its exact size is passed; `job` is open.
    let set = unsafe {
        SetInformationJobObject(
            job,
            JobObjectExtendedLimitInformation,
            std::ptr::from_ref(&limits).cast(),
            size_of::<JOBOBJECT_EXTENDED_LIMIT_INFORMATION>() as u32,
        )
    };
    // SAFETY: both handles are open (the child's is held by `child`).
    let assigned = set != 0 && unsafe { AssignProcessToJobObject(job, child.as_raw_handle()) } != 0;
    if !assigned {
        // SAFETY: `job` is open and owned here.
        unsafe { CloseHandle(job) };
    }
    // Assigned: the job handle is never closed by memsight, on purpose (see above).
}

/// Nothing to send: the command shares memsight's console and had the same Ctrl-C or
/// Ctrl-Break; it is killed if still running 5 s later.
pub fn interrupt(_child: &Child) {}

/// A child's exit status as ours: its exit code when it fits (0-255), else 1 (an NTSTATUS such
/// as 0xC0000005 for a crash is a failure, never truncated to a small or zero code).
pub fn exit_code(status: ExitStatus) -> u8 {
    match status.code() {
        Some(code) => u8::try_from(code).unwrap_or(1),
        None => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes() {
        use std::os::windows::process::ExitStatusExt;
        assert_eq!(exit_code(ExitStatus::from_raw(3)), 3);
        assert_eq!(exit_code(ExitStatus::from_raw(256)), 1);
        assert_eq!(exit_code(ExitStatus::from_raw(0xC000_0005)), 1);
        assert_eq!(exit_code(ExitStatus::from_raw(0)), 0);
    }
}
