//! What a process has open and where it runs from: exe, cwd, num_fds, open_files, io_counters.
//! Every path is read through the process's `/proc/PID` directory descriptor.

use std::ffi::OsString;
use std::io;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;

use rustix::fs::{AtFlags, Dir, OFlags, StatxFlags};

use crate::error::{Error, Result};
use crate::sys::process::Process;
use crate::sys::procfs::{self, fdinfo, pid_io};

/// I/O done by a process (`/proc/PID/io`). psutil's `pio`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct IoCounters {
    /// Read system calls (`syscr`).
    pub read_count: u64,
    /// Write system calls (`syscw`).
    pub write_count: u64,
    /// Bytes fetched from storage (`read_bytes`).
    pub read_bytes: u64,
    /// Bytes sent to storage (`write_bytes`).
    pub write_bytes: u64,
    /// Bytes passed to read calls, page-cache hits and pipes included (`rchar`).
    pub read_chars: u64,
    /// Bytes passed to write calls (`wchar`).
    pub write_chars: u64,
}

/// A regular file a process has open. psutil's `popenfile`.
///
/// Serialized, `path` is the path decoded as UTF-8 (U+FFFD for bytes that are not) and, only
/// when it is not UTF-8, `path_bytes` follows with its exact bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct OpenFile {
    /// The absolute path (`readlink /proc/PID/fd/N`): the exact bytes.
    #[cfg_attr(feature = "serde", serde(flatten, serialize_with = "open_file_path"))]
    pub path: PathBuf,
    /// The descriptor number.
    pub fd: u32,
    /// The file offset in bytes (`pos` of `/proc/PID/fdinfo/N`).
    pub position: u64,
    /// `r`, `w`, `a`, `r+` or `a+`, from the access mode and `O_APPEND` in `flags`.
    pub mode: String,
    /// The `open(2)` flags (`flags` of `/proc/PID/fdinfo/N`).
    pub flags: u32,
}

#[cfg(feature = "serde")]
crate::sys::exact::ser::path_field!(open_file_path, "path");

/// The suffix the kernel adds to the path of a file that has been unlinked.
pub(crate) const DELETED: &[u8] = b" (deleted)";

/// `statx(2)` flags that answer from what the kernel already holds: `AT_STATX_DONT_SYNC` keeps a
/// network or FUSE filesystem from being asked (a FUSE server that stops answering would leave the
/// caller in D state), `AT_NO_AUTOMOUNT` keeps an automount point from being mounted.
fn no_wait() -> AtFlags {
    AtFlags::STATX_DONT_SYNC | AtFlags::NO_AUTOMOUNT
}

/// The type and link count of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Held {
    /// `st_mode`'s file type bits (`S_IFMT`).
    pub(crate) kind: u32,
    /// `st_nlink`: the names left for it (0 once deleted).
    pub(crate) nlink: u32,
}

/// The type and link count of the file behind a `/proc/PID` magic link (`fd/N`, `exe`, `cwd`,
/// `map_files/START-END`), from `statx(2)` on the link itself with [`no_wait`]. Following a magic
/// link jumps to the file the kernel holds open: no path is looked up, so no directory of another
/// filesystem is entered, and with `AT_STATX_DONT_SYNC` the file's own filesystem is not asked
/// either. This is why no path taken from the target is ever `stat`ed by name. Kernels before
/// 4.11 have no `statx`: there `fstatat(2)` of the magic link is used, which still enters no
/// directory but may ask a network or FUSE filesystem for fresh attributes.
pub(crate) fn held_file(dir: &std::os::fd::OwnedFd, link: &str) -> Option<Held> {
    match rustix::fs::statx(dir, link, no_wait(), StatxFlags::TYPE | StatxFlags::NLINK) {
        Ok(st) => Some(Held {
            kind: u32::from(st.stx_mode) & libc::S_IFMT,
            nlink: st.stx_nlink,
        }),
        Err(rustix::io::Errno::NOSYS) => {
            let st = rustix::fs::statat(dir, link, AtFlags::NO_AUTOMOUNT).ok()?;
            Some(Held {
                kind: st.st_mode & libc::S_IFMT,
                nlink: u32::try_from(st.st_nlink).unwrap_or(u32::MAX),
            })
        }
        Err(_) => None,
    }
}

/// Whether a path the kernel printed for the file held at `link` should lose its ` (deleted)`
/// suffix. psutil stats the literal path and strips the suffix when nothing has that name; that
/// lookup can hang (a dead FUSE mount anywhere on the way). Here the kernel's own word decides:
/// the held file has no link left (`nlink == 0`) means it was deleted, so the suffix is the
/// kernel's; a file with links is one whose name really ends so (kept). When the held file cannot
/// be examined (another user's mapping needs `CAP_SYS_ADMIN` for `map_files`), the suffix is taken
/// as the kernel's: it adds it to every unlinked file, while a real name ending so is rare. (One
/// case differs from psutil: a file deleted under one name but still linked under another keeps
/// the suffix here.)
/// `nlink` is the held file's link count, `None` when it could not be examined.
pub(crate) fn strip_deleted(path: &[u8], nlink: Option<u32>) -> &[u8] {
    match path.strip_suffix(DELETED) {
        Some(stripped) if nlink.is_none_or(|n| n == 0) => stripped,
        _ => path,
    }
}

/// Whether the held file is a regular file.
fn is_regular(held: &Held) -> bool {
    held.kind == libc::S_IFREG
}

impl Process {
    /// `readlink /proc/PID/<name>`, the raw bytes.
    pub(crate) fn readlink(&self, name: &str) -> io::Result<Vec<u8>> {
        Ok(rustix::fs::readlinkat(&self.dir, name, Vec::new())?.into_bytes())
    }

    /// The numeric entries of the directory `/proc/PID/<name>` (`fd`, `task`), sorted.
    pub(crate) fn list_numbers(&self, name: &str) -> io::Result<Vec<u32>> {
        let fd = self.open(name, OFlags::RDONLY | OFlags::DIRECTORY)?;
        let mut dir = Dir::new(fd)?;
        let mut numbers = Vec::new();
        while let Some(entry) = dir.read() {
            let entry = entry?;
            if let Some(n) = entry
                .file_name()
                .to_str()
                .ok()
                .and_then(|s| s.parse::<u32>().ok())
            {
                numbers.push(n);
            }
        }
        numbers.sort_unstable();
        Ok(numbers)
    }

    /// Backs [`crate::Process::exe`], where it is documented with every OS's source.
    pub fn exe(&self) -> Result<PathBuf> {
        match self.link_path("exe") {
            // A zombie's command line is gone, so psutil's guess raises ZombieProcess there: the
            // same answer another user's zombie gets from an unprivileged caller.
            Err(Error::AccessDenied { pid, path, call }) => self
                .exe_from_cmdline()?
                .ok_or(Error::AccessDenied { pid, path, call }),
            Ok(path) if path.as_os_str().is_empty() => {
                Ok(self.exe_from_cmdline().ok().flatten().unwrap_or_default())
            }
            other => other,
        }
    }

    /// psutil's guess: `cmdline[0]` (its exact bytes) when it is absolute, a regular file and
    /// executable by us. A zombie gives [`Error::ZombieProcess`], as its command line does; any
    /// other unreadable command line gives no guess.
    fn exe_from_cmdline(&self) -> Result<Option<PathBuf>> {
        let args = match self.cmdline_os() {
            Ok(args) => args,
            Err(e @ Error::ZombieProcess { .. }) => return Err(e),
            Err(_) => return Ok(None),
        };
        let Some(first) = args.into_iter().next() else {
            return Ok(None);
        };
        let path = PathBuf::from(first);
        let usable = path.is_absolute()
            && path.is_file()
            && rustix::fs::access(&path, rustix::fs::Access::EXEC_OK).is_ok();
        Ok(usable.then_some(path))
    }

    /// Backs [`crate::Process::cwd`], where it is documented with every OS's source.
    pub fn cwd(&self) -> Result<PathBuf> {
        self.link_path("cwd")
    }

    /// Reads a `/proc/PID` symlink the psutil way: cut at the first NUL; ` (deleted)` stripped
    /// when the file is gone (`strip_deleted`, which never looks the path up); ENOENT on a
    /// live, non-zombie process gives an empty path.
    fn link_path(&self, name: &str) -> Result<PathBuf> {
        match self.readlink(name) {
            Ok(mut bytes) => {
                if let Some(nul) = bytes.iter().position(|&b| b == 0) {
                    bytes.truncate(nul);
                }
                if bytes.ends_with(DELETED) {
                    let nlink = held_file(&self.dir, name).map(|h| h.nlink);
                    let keep = strip_deleted(&bytes, nlink).len();
                    bytes.truncate(keep);
                }
                Ok(PathBuf::from(OsString::from_vec(bytes)))
            }
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ESRCH)) => {
                match self.error_for(name, e) {
                    Error::NoSuchProcess { .. } if self.alive() => Ok(PathBuf::new()),
                    err => Err(err),
                }
            }
            Err(e) => Err(self.error_for(name, e)),
        }
    }

    /// Whether `/proc/PID/stat` can still be read through the handle (bypassing the cache).
    pub(crate) fn alive(&self) -> bool {
        procfs::with_buffer(|buf| self.read_into("stat", buf).is_ok())
    }

    /// Backs [`crate::Process::num_fds`], where it is documented with every OS's source.
    pub fn num_fds(&self) -> Result<usize> {
        self.list_numbers("fd")
            .map(|fds| fds.len())
            .map_err(|e| self.error_for("fd", e))
    }

    /// Backs [`crate::Process::io_counters`], where it is documented with every OS's source.
    pub fn io_counters(&self) -> Result<IoCounters> {
        let io = match self.read_file("io", pid_io::parse) {
            // The descriptor pins the process: a missing `io` beside a readable `stat` is the
            // kernel's lack, not the process's end.
            Err(Error::NoSuchProcess { .. })
                if procfs::with_buffer(|buf| self.read_into("stat", buf).is_ok()) =>
            {
                return Err(Error::Unsupported(format!(
                    "{} is missing: the kernel has no task I/O accounting",
                    self.path("io").display()
                )));
            }
            other => other?,
        };
        Ok(IoCounters {
            read_count: io.syscr,
            write_count: io.syscw,
            read_bytes: io.read_bytes,
            write_bytes: io.write_bytes,
            read_chars: io.rchar,
            write_chars: io.wchar,
        })
    }

    /// Backs [`crate::Process::open_files`], where it is documented with every OS's source.
    pub fn open_files(&self) -> Result<Vec<OpenFile>> {
        let fds = self
            .list_numbers("fd")
            .map_err(|e| self.error_for("fd", e))?;
        let mut files = Vec::new();
        let mut hit_enoent = false;
        for fd in fds {
            let link = format!("fd/{fd}");
            let path = match self.link_path(&link) {
                Ok(path) => path,
                Err(Error::NoSuchProcess { .. }) => {
                    hit_enoent = true;
                    continue;
                }
                Err(Error::Io { .. }) => continue,
                Err(e) => return Err(e),
            };
            if !path.is_absolute() || !held_file(&self.dir, &link).is_some_and(|st| is_regular(&st))
            {
                continue;
            }
            let info = format!("fdinfo/{fd}");
            let parsed = procfs::with_buffer(|buf| match self.read_into(&info, buf) {
                Ok(()) => Some(fdinfo::parse(buf).map_err(|e| e.at(self.path(&info)))),
                Err(_) => None,
            });
            match parsed {
                Some(Ok(info)) => files.push(OpenFile {
                    path,
                    fd,
                    position: info.pos,
                    mode: file_mode(info.flags).to_owned(),
                    flags: info.flags,
                }),
                Some(Err(e)) => return Err(e),
                None => hit_enoent = true,
            }
        }
        if hit_enoent && !self.alive() {
            return Err(self.error_for("fd", io::Error::from_raw_os_error(libc::ESRCH)));
        }
        Ok(files)
    }
}

/// psutil's `file_flags_to_mode`: `r`, `w`, `r+`, with `a` for `w` when `O_APPEND` is set.
pub(crate) fn file_mode(flags: u32) -> &'static str {
    let append = flags & libc::O_APPEND as u32 != 0;
    match (flags & libc::O_ACCMODE as u32) as i32 {
        libc::O_WRONLY if append => "a",
        libc::O_WRONLY => "w",
        libc::O_RDWR if append => "a+",
        libc::O_RDWR => "r+",
        _ => "r",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deleted_suffix_follows_the_held_file() {
        assert_eq!(strip_deleted(b"/tmp/x (deleted)", Some(0)), b"/tmp/x");
        assert_eq!(
            strip_deleted(b"/tmp/x (deleted)", Some(1)),
            b"/tmp/x (deleted)",
            "a file really named so keeps its name"
        );
        assert_eq!(strip_deleted(b"/tmp/x (deleted)", None), b"/tmp/x");
        assert_eq!(strip_deleted(b"/tmp/x", Some(0)), b"/tmp/x");
        assert_eq!(strip_deleted(b"/tmp/\xff (deleted)", None), b"/tmp/\xff");
    }

    #[test]
    fn modes_follow_psutil() {
        let append = libc::O_APPEND as u32;
        assert_eq!(file_mode(libc::O_RDONLY as u32), "r");
        assert_eq!(file_mode(libc::O_WRONLY as u32), "w");
        assert_eq!(file_mode(libc::O_WRONLY as u32 | append), "a");
        assert_eq!(file_mode(libc::O_RDWR as u32), "r+");
        assert_eq!(file_mode(libc::O_RDWR as u32 | append), "a+");
        assert_eq!(file_mode(0o102002), "a+");
        assert_eq!(file_mode(0o100002), "r+");
    }
}
