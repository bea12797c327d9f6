//! `memsight record`'s process control on Unix: SIGINT, SIGTERM and SIGHUP stop a recording; a
//! thread waits for the command's exit without reaping it (`waitid` with `WNOWAIT`); on Linux
//! the command dies with memsight (`PR_SET_PDEATHSIG`) and an attached process's exit wakes the
//! loop through a pidfd. macOS and FreeBSD have neither here: a command outlives a killed
//! memsight, and an attached process's exit is seen at the next sample.

use std::ffi::OsString;
use std::io;
use std::process::{Child, ExitStatus};
use std::sync::mpsc;

use anyhow::Context;

use super::Event;

/// How CMD's status becomes memsight's, for `--help`.
pub const STATUS_HELP: &str = "128+N when signal N ended it";

/// What becomes of CMD when memsight is killed outright: Linux kills it too (a parent-death
/// signal), other systems have no such thing.
#[cfg(target_os = "linux")]
macro_rules! when_killed {
    () => {
        "If memsight is killed, CMD is killed with it."
    };
}
#[cfg(not(target_os = "linux"))]
macro_rules! when_killed {
    () => {
        "If memsight is killed outright (SIGKILL), CMD is not killed with it on this system."
    };
}

/// What stops a recording and what becomes of CMD, for `--help`.
pub const STOP_HELP: &str = concat!(
    "SIGINT, SIGTERM and SIGHUP end the recording alike: CMD gets SIGINT (SIGKILL 5 s later), \
     then the summary and the budget check. ",
    when_killed!()
);

/// The signals that end a recording as Ctrl-C does: with the summary and the budget check.
const STOP_SIGNALS: [i32; 3] = [
    signal_hook::consts::SIGINT,
    signal_hook::consts::SIGTERM,
    signal_hook::consts::SIGHUP,
];

/// Sends [`Event::Stop`] for each stop signal, from a thread of its own.
pub fn watch_stops(tx: mpsc::Sender<Event>) -> anyhow::Result<()> {
    let mut signals =
        signal_hook::iterator::Signals::new(STOP_SIGNALS).context("cannot handle signals")?;
    std::thread::spawn(move || {
        for _ in signals.forever() {
            if tx.send(Event::Stop).is_err() {
                break;
            }
        }
    });
    Ok(())
}

/// Sends [`Event::Exited`] when the child `pid` exits, from a thread that waits for it without
/// reaping it (the main thread reaps it through its `Child`).
pub fn watch_child(child: &Child, tx: mpsc::Sender<Event>) {
    let Some(pid) = rustix::process::Pid::from_raw(child.id() as i32) else {
        return;
    };
    std::thread::spawn(move || {
        use rustix::process::{WaitId, WaitIdOptions, waitid};
        let options = WaitIdOptions::EXITED | WaitIdOptions::NOWAIT;
        while let Err(rustix::io::Errno::INTR) = waitid(WaitId::Pid(pid), options) {}
        let _ = tx.send(Event::Exited);
    });
}

/// Sends [`Event::Exited`] when the attached process `pid` exits, through a pidfd (Linux 5.3);
/// on an older kernel nothing is sent and the exit is seen at the next sample.
#[cfg(target_os = "linux")]
pub fn watch_attached(pid: u32, tx: mpsc::Sender<Event>) {
    let Some(pid) = rustix::process::Pid::from_raw(pid as i32) else {
        return;
    };
    let Ok(fd) = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()) else {
        return;
    };
    std::thread::spawn(move || {
        use rustix::event::{PollFd, PollFlags, poll};
        let mut fds = [PollFd::new(&fd, PollFlags::IN)];
        loop {
            match poll(&mut fds, None) {
                Ok(n) if n > 0 => break,
                Ok(_) | Err(rustix::io::Errno::INTR) => continue,
                Err(_) => return,
            }
        }
        let _ = tx.send(Event::Exited);
    });
}

/// Nothing to wait on for another process's exit here: the next sample sees it.
#[cfg(not(target_os = "linux"))]
pub fn watch_attached(_pid: u32, _tx: mpsc::Sender<Event>) {}

/// Starts `program` with `args`, to die with memsight: if memsight is killed outright
/// (SIGKILL), the kernel sends the command SIGKILL too instead of leaving it orphaned.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)] // pre_exec: code run between fork and exec
pub fn spawn(program: &OsString, args: &[OsString]) -> io::Result<Child> {
    use std::os::unix::process::CommandExt;
    let parent = rustix::process::getpid();
    let mut command = std::process::Command::new(program);
    command.args(args);
    // SAFETY: the closure runs in the forked child before exec; it makes two system calls
    // (prctl and getppid, both async-signal-safe) and allocates nothing.
    unsafe {
        command.pre_exec(move || {
            rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))?;
            // memsight died before the prctl: the signal would never come.
            if rustix::process::getppid() != Some(parent) {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
    command.spawn()
}

/// Starts `program` with `args` (not tied to memsight's life: see [`STOP_HELP`]).
#[cfg(not(target_os = "linux"))]
pub fn spawn(program: &OsString, args: &[OsString]) -> io::Result<Child> {
    std::process::Command::new(program).args(args).spawn()
}

/// Asks a command still running after a stop to end: SIGINT (it may be in memsight's process
/// group and have it already).
pub fn interrupt(child: &Child) {
    if let Some(pid) = rustix::process::Pid::from_raw(child.id() as i32) {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::INT);
    }
}

/// A child's exit status as ours: its code, or 128 + the signal that ended it (as shells do).
pub fn exit_code(status: ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => u8::try_from(code & 0xff).unwrap_or(1),
        (None, Some(sig)) => u8::try_from((128 + sig) & 0xff).unwrap_or(1),
        (None, None) => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes() {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(exit_code(ExitStatus::from_raw(3 << 8)), 3);
        assert_eq!(exit_code(ExitStatus::from_raw(9)), 137);
    }
}
