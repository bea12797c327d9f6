//! The one error type of the crate.

use std::io;
use std::path::PathBuf;

/// A specialised `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong when memsight reads the kernel.
///
/// Process errors carry the pid (and the name when it is known); file errors carry the path; parse
/// errors name the file and the offending line. Nothing the kernel or a caller hands over panics.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The process does not exist, or it exited (or its pid was reused) since the handle was made.
    #[error("no such process: {pid}{}", name_suffix(.name))]
    NoSuchProcess {
        /// The process id that was asked for.
        pid: u32,
        /// The process name, when it was known before the process went away.
        name: Option<String>,
    },
    /// The process has exited but was not yet reaped by its parent, so the file asked for is empty
    /// or gone. psutil raises `ZombieProcess` for the same getters.
    #[error("process is a zombie: {pid}{}", name_suffix(.name))]
    ZombieProcess {
        /// The process id.
        pid: u32,
        /// The process name, when known.
        name: Option<String>,
    },
    /// The kernel refused this user (EACCES or EPERM, or the OS's equivalent): for example
    /// another user's `smaps_rollup` on Linux, which needs `PTRACE_MODE_READ`, or
    /// `proc_pidinfo` on another user's process on macOS. Exactly one of `path` and `call` says
    /// what was refused.
    #[error("access denied: {}{}", what(.path, .call), pid_suffix(*.pid))]
    AccessDenied {
        /// The process concerned, if any.
        pid: Option<u32>,
        /// The file or directory that could not be read, when a file read was refused (Linux's
        /// `/proc` and `/sys` files); `None` when a call was (see `call`).
        path: Option<PathBuf>,
        /// The system call, sysctl or API that refused (`OpenProcess`, `proc_pidinfo`,
        /// `kern.proc.env`), when it was not a file read; `None` otherwise.
        call: Option<String>,
    },
    /// The kernel, C library or allocator in use does not provide this figure.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// A file had a line that could not be understood.
    #[error("cannot parse {}: line {line}: {reason}", .path.display())]
    Parse {
        /// The file that was read.
        path: PathBuf,
        /// The 1-based line number of the offending line (0 when the problem is the file as a whole).
        line: usize,
        /// What was wrong with it.
        reason: String,
    },
    /// Any other I/O error, with the file or the call it happened on (exactly one of `path` and
    /// `call`).
    #[error("{}: {source}", what(.path, .call))]
    Io {
        /// The file or directory involved, when the error came from a file; `None` otherwise.
        path: Option<PathBuf>,
        /// The system call, sysctl or API that failed (`NtQuerySystemInformation`,
        /// `host_statistics64`, `sysctl vm.stats`), when it was not a file; `None` otherwise.
        call: Option<String>,
        /// The underlying error from the operating system.
        source: io::Error,
    },
}

fn name_suffix(name: &Option<String>) -> String {
    name.as_ref().map(|n| format!(" ({n})")).unwrap_or_default()
}

/// What was refused or failed: the path, else the call.
fn what(path: &Option<PathBuf>, call: &Option<String>) -> String {
    match (path, call) {
        (Some(path), _) => path.display().to_string(),
        (None, Some(call)) => call.clone(),
        (None, None) => "(unknown)".to_string(),
    }
}

impl Error {
    /// A call (not a file read) that the OS refused for this user.
    #[cfg_attr(target_os = "linux", allow(dead_code))]
    pub(crate) fn call_denied(pid: Option<u32>, call: impl Into<String>) -> Error {
        Error::AccessDenied {
            pid,
            path: None,
            call: Some(call.into()),
        }
    }

    /// A call (not a file read) that failed with `source`.
    pub(crate) fn call_failed(call: impl Into<String>, source: io::Error) -> Error {
        Error::Io {
            path: None,
            call: Some(call.into()),
            source,
        }
    }
}

fn pid_suffix(pid: Option<u32>) -> String {
    pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
}

/// A parse failure found by a pure parser, before the path of the file is known.
///
/// Readers turn it into [`Error::Parse`] with [`ParseError::at`].
#[cfg(target_os = "linux")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseError {
    /// The 1-based line number (0 for the file as a whole).
    pub line: usize,
    /// What was wrong.
    pub reason: String,
}

#[cfg(target_os = "linux")]
impl ParseError {
    /// A parse error on `line` (1-based; 0 for the whole file).
    pub(crate) fn new(line: usize, reason: impl Into<String>) -> Self {
        ParseError {
            line,
            reason: reason.into(),
        }
    }

    /// Attaches the path of the file that was being parsed.
    pub(crate) fn at(self, path: impl Into<PathBuf>) -> Error {
        Error::Parse {
            path: path.into(),
            line: self.line,
            reason: self.reason,
        }
    }
}

#[cfg(target_os = "linux")]
impl Error {
    /// Turns an I/O error on `path` into the matching variant: permission errors become
    /// [`Error::AccessDenied`], everything else [`Error::Io`].
    pub(crate) fn from_io(pid: Option<u32>, path: impl Into<PathBuf>, source: io::Error) -> Self {
        let path = Some(path.into());
        let call = None;
        match source.kind() {
            io::ErrorKind::PermissionDenied => Error::AccessDenied { pid, path, call },
            _ if source.raw_os_error() == Some(libc::EPERM) => {
                Error::AccessDenied { pid, path, call }
            }
            _ => Error::Io { path, call, source },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_call_is_named_apart_from_any_path() {
        let e = Error::call_denied(Some(7), "proc_pidinfo");
        assert!(
            matches!(&e, Error::AccessDenied { path: None, call: Some(c), .. } if c == "proc_pidinfo")
        );
        assert_eq!(e.to_string(), "access denied: proc_pidinfo (pid 7)");
        let e = Error::call_failed("host_statistics64", io::Error::other("kern_return_t 5"));
        assert!(matches!(&e, Error::Io { path: None, .. }));
        assert_eq!(e.to_string(), "host_statistics64: kern_return_t 5");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_refused_file_is_named_by_its_path() {
        let e = Error::from_io(
            Some(1),
            "/proc/1/smaps_rollup",
            io::Error::from_raw_os_error(libc::EACCES),
        );
        assert_eq!(e.to_string(), "access denied: /proc/1/smaps_rollup (pid 1)");
        assert!(matches!(e, Error::AccessDenied { call: None, .. }));
    }
}
