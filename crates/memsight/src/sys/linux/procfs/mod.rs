//! The Linux readers. Each submodule is named after the file it reads and holds a pure
//! `parse(&[u8])` function; the I/O lives here, in [`ProcFs`] and the buffer helpers.

pub(crate) mod cgroup;
pub(crate) mod cmdline;
pub(crate) mod diskstats;
pub(crate) mod environ;
pub(crate) mod fdinfo;
pub(crate) mod limits;
pub(crate) mod meminfo;
pub(crate) mod net_tcp;
pub(crate) mod net_unix;
pub(crate) mod pid_io;
pub(crate) mod pid_stat;
pub(crate) mod proc_stat;
pub(crate) mod smaps;
pub(crate) mod statm;
pub(crate) mod status;
pub(crate) mod text;
pub(crate) mod vmstat;
pub(crate) mod zoneinfo;

use std::cell::Cell;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use crate::error::{Error, ParseError, Result};

/// Where memsight finds the kernel's pseudo-filesystems: `/proc` and `/sys` by default.
///
/// This is psutil's `PROCFS_PATH`: point it at a bind-mounted host `/proc` from inside a container,
/// or at a canned tree of files in a test. Every reader in the crate goes through it.
///
/// Linux only. Every figure that has a `/proc` root is a method here: [`ProcFs::process`],
/// [`ProcFs::virtual_memory`], [`ProcFs::boot_time`], [`ProcFs::disk_io_counters`], ...
///
/// ```
/// let host = memsight::linux::ProcFs::new("/proc");
/// let me = host.process(std::process::id())?;
/// assert!(host.boot_time()? > 0.0 && me.memory_info()?.rss > 0);
/// # Ok::<(), memsight::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProcFs {
    proc_root: PathBuf,
    sys_root: PathBuf,
}

impl Default for ProcFs {
    /// `/proc` and `/sys`.
    fn default() -> Self {
        ProcFs::new("/proc")
    }
}

impl ProcFs {
    /// A view of the kernel rooted at `proc_root` (the usual one is `/proc`), with `/sys` as the
    /// sysfs root.
    pub fn new(proc_root: impl Into<PathBuf>) -> Self {
        ProcFs {
            proc_root: proc_root.into(),
            sys_root: PathBuf::from("/sys"),
        }
    }

    /// The same view with another sysfs root (for `/sys/fs/cgroup` and `/sys/block`).
    pub fn with_sys_root(mut self, sys_root: impl Into<PathBuf>) -> Self {
        self.sys_root = sys_root.into();
        self
    }

    /// The procfs root, `/proc` by default.
    pub fn proc_root(&self) -> &Path {
        &self.proc_root
    }

    /// The sysfs root, `/sys` by default.
    pub fn sys_root(&self) -> &Path {
        &self.sys_root
    }

    /// `<proc root>/<relative>`.
    pub(crate) fn proc_path(&self, relative: impl AsRef<Path>) -> PathBuf {
        self.proc_root.join(relative)
    }

    /// Reads `<proc root>/<relative>` once and hands the bytes to `parse`.
    pub(crate) fn parse_proc<T>(
        &self,
        relative: &str,
        parse: impl FnOnce(&[u8]) -> Result<T, ParseError>,
    ) -> Result<T> {
        parse_file(&self.proc_path(relative), parse)
    }
}

/// Reads `path` once into a reused per-thread buffer and hands the bytes to `parse`; I/O errors
/// and parse errors both name the path.
pub(crate) fn parse_file<T>(
    path: &Path,
    parse: impl FnOnce(&[u8]) -> Result<T, ParseError>,
) -> Result<T> {
    with_buffer(|buf| {
        File::open(path)
            .and_then(|mut file| read_to_buffer(&mut file, buf))
            .map_err(|e| Error::from_io(None, path, e))?;
        parse(buf).map_err(|e| e.at(path))
    })
}

/// Reads everything from `file` into `buf` (cleared first), with plain `read` calls only: no
/// `fstat` or `lseek` for a size hint, which pseudo-files do not have anyway.
pub(crate) fn read_to_buffer(file: &mut impl Read, buf: &mut Vec<u8>) -> io::Result<()> {
    buf.clear();
    loop {
        if buf.capacity() - buf.len() < 1024 {
            buf.reserve(buf.capacity().max(4096));
        }
        let len = buf.len();
        let spare = buf.capacity() - len;
        buf.resize(len + spare, 0);
        match file.read(&mut buf[len..]) {
            Ok(0) => {
                buf.truncate(len);
                return Ok(());
            }
            Ok(n) => buf.truncate(len + n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => buf.truncate(len),
            Err(e) => {
                buf.truncate(len);
                return Err(e);
            }
        }
    }
}

thread_local! {
    static BUFFER: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// Runs `f` with this thread's reusable read buffer. Re-entrant: a nested call gets a fresh buffer.
pub(crate) fn with_buffer<T>(f: impl FnOnce(&mut Vec<u8>) -> T) -> T {
    let mut buf = BUFFER.with(Cell::take);
    let out = f(&mut buf);
    // Keep big one-off buffers (a huge smaps) from pinning memory for the thread's lifetime.
    if buf.capacity() <= 1 << 20 {
        BUFFER.with(|cell| cell.set(buf));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_whole_file_across_many_reads() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let mut buf = Vec::new();
        read_to_buffer(&mut &data[..], &mut buf).unwrap();
        assert_eq!(buf, data);
    }

    #[test]
    fn missing_file_names_the_path() {
        let err = parse_file(Path::new("/nonexistent/meminfo"), |_| Ok(())).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/meminfo"), "{err}");
    }
}
