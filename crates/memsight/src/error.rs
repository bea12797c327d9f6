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
    /// The kernel refused to let this user read the file (EACCES or EPERM): for example another
    /// user's `smaps_rollup`, which needs `PTRACE_MODE_READ`.
    #[error("access denied: {}{}", .path.display(), pid_suffix(*.pid))]
    AccessDenied {
        /// The process whose file it is, if any.
        pid: Option<u32>,
        /// The file or directory that could not be read.
        path: PathBuf,
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
    /// Any other I/O error, with the path it happened on.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error from the operating system.
        source: io::Error,
    },
}

fn name_suffix(name: &Option<String>) -> String {
    name.as_ref().map(|n| format!(" ({n})")).unwrap_or_default()
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
        let path = path.into();
        match source.kind() {
            io::ErrorKind::PermissionDenied => Error::AccessDenied { pid, path },
            _ if source.raw_os_error() == Some(libc::EPERM) => Error::AccessDenied { pid, path },
            _ => Error::Io { path, source },
        }
    }
}
