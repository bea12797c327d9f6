//! psutil's error model on macOS: which errno of a failed per-process call means which error
//! (`psutil_raise_for_pid`, `_psosx.py:wrap_exceptions`, the `KERN_PROCARGS2` special cases).

use std::io;

use crate::error::Error;

/// What is known about a pid after a call on it failed (from `kill(pid, 0)` and `kinfo_proc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PidState {
    /// No process has the pid (or it is a new process under a reused pid).
    Gone,
    /// The process has exited and waits to be reaped.
    Zombie,
    /// The process is alive.
    Alive,
}

fn no_such(pid: u32) -> Error {
    Error::NoSuchProcess { pid, name: None }
}

fn zombie(pid: u32) -> Error {
    Error::ZombieProcess { pid, name: None }
}

fn denied(pid: u32, api: &str) -> Error {
    Error::call_denied(Some(pid), api)
}

/// A failed call `api` on `pid` that set `errno`: `ESRCH` is NoSuchProcess, or ZombieProcess
/// when the process is a zombie; `EPERM`/`EACCES` AccessDenied; no errno at all is decided by the
/// pid's state (an alive process gives an I/O error naming the call); any other errno is an I/O
/// error with it.
pub(crate) fn process_error(pid: u32, api: &str, errno: i32, state: PidState) -> Error {
    match (errno, state) {
        (libc::ESRCH | 0, PidState::Zombie) => zombie(pid),
        (libc::ESRCH, _) | (0, PidState::Gone) => no_such(pid),
        (libc::EPERM | libc::EACCES, _) => denied(pid, api),
        (0, PidState::Alive) => {
            Error::call_failed(api, io::Error::other("failed without an errno"))
        }
        (errno, _) => Error::call_failed(api, io::Error::from_raw_os_error(errno)),
    }
}

/// A failed `KERN_PROCARGS2` read: a gone pid is NoSuchProcess, a zombie ZombieProcess; `EINVAL`,
/// `EIO` or no errno mean the kernel refused (another user's process, #2708/#2854): AccessDenied.
pub(crate) fn procargs_error(pid: u32, errno: i32, state: PidState) -> Error {
    match (state, errno) {
        (PidState::Gone, _) => no_such(pid),
        (PidState::Zombie, _) => zombie(pid),
        (PidState::Alive, libc::EINVAL | libc::EIO | 0) => denied(pid, "sysctl KERN_PROCARGS2"),
        (PidState::Alive, errno) => process_error(pid, "sysctl KERN_PROCARGS2", errno, state),
    }
}

/// A failed `task_for_pid`: its errno means nothing (#1181, #1209, #1291), so a gone pid is
/// NoSuchProcess, a zombie ZombieProcess and anything else AccessDenied.
pub(crate) fn task_port_error(pid: u32, state: PidState) -> Error {
    match state {
        PidState::Gone => no_such(pid),
        PidState::Zombie => zombie(pid),
        PidState::Alive => denied(pid, "task_for_pid"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(e: &Error) -> &'static str {
        match e {
            Error::NoSuchProcess { .. } => "nsp",
            Error::ZombieProcess { .. } => "zombie",
            Error::AccessDenied { .. } => "ad",
            Error::Io { .. } => "io",
            _ => "other",
        }
    }

    #[test]
    fn errno_table() {
        use PidState::*;
        let k = |errno, state| kind(&process_error(7, "proc_pidinfo", errno, state));
        assert_eq!(k(libc::ESRCH, Alive), "nsp");
        assert_eq!(k(libc::ESRCH, Gone), "nsp");
        assert_eq!(k(libc::ESRCH, Zombie), "zombie");
        assert_eq!(k(libc::EPERM, Alive), "ad");
        assert_eq!(k(libc::EACCES, Alive), "ad");
        assert_eq!(k(0, Gone), "nsp");
        assert_eq!(k(0, Zombie), "zombie");
        assert_eq!(k(0, Alive), "io");
        assert_eq!(k(libc::ENOMEM, Alive), "io");
        match process_error(7, "proc_pidinfo", libc::ENOMEM, Alive) {
            Error::Io { source, .. } => assert_eq!(source.raw_os_error(), Some(libc::ENOMEM)),
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn procargs_and_task_port_tables() {
        use PidState::*;
        let k = |errno, state| kind(&procargs_error(7, errno, state));
        assert_eq!(k(libc::EINVAL, Alive), "ad");
        assert_eq!(k(libc::EIO, Alive), "ad");
        assert_eq!(k(0, Alive), "ad");
        assert_eq!(k(libc::EINVAL, Gone), "nsp");
        assert_eq!(k(libc::EINVAL, Zombie), "zombie");
        assert_eq!(k(libc::ENOMEM, Alive), "io");
        assert_eq!(kind(&task_port_error(7, Alive)), "ad");
        assert_eq!(kind(&task_port_error(7, Gone)), "nsp");
        assert_eq!(kind(&task_port_error(7, Zombie)), "zombie");
    }
}
