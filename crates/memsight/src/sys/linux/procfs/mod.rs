//! The Linux readers. Each submodule is named after the file it reads and holds a pure
//! `parse(&[u8])` function; the I/O lives here, in [`ProcFs`] and the buffer helpers.

pub(crate) mod cgroup;
pub(crate) mod cmdline;
pub(crate) mod diskstats;
pub(crate) mod environ;
pub(crate) mod fdinfo;
pub(crate) mod limits;
pub(crate) mod loadavg;
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
///
/// Linear in the file's size: `buf.len()` is how far the buffer has been zero-initialised in this
/// call, `filled` how much of that holds data, and the initialised part only grows (doubling) when
/// a read has filled it, so each byte is zeroed at most once per call and a big capacity kept from
/// an earlier huge file costs nothing (a 60,000-mapping `maps` once took 8 s here).
pub(crate) fn read_to_buffer(file: &mut impl Read, buf: &mut Vec<u8>) -> io::Result<()> {
    read_loop(file, buf, false)
}

/// [`read_to_buffer`] for a `/proc` file whose whole text comes from one seq_file `show` call
/// (`single_open`: `/proc/PID/stat`, `statm`, `status`, `comm`, `smaps_rollup`): a first read
/// that returns less than it was offered is the whole file, so the read at EOF is skipped.
///
/// Why that is safe: for such a file the kernel's `seq_read_iter` runs `show` once into its own
/// buffer, copies as much as the caller offered, and stops (`single_next` ends the sequence), so
/// only a caller's buffer smaller than the text gets a short piece, and then it is full, not short.
/// A regular file (a fixture tree) is short only at its end too.
pub(crate) fn read_single_show(file: &mut impl Read, buf: &mut Vec<u8>) -> io::Result<()> {
    read_loop(file, buf, true)
}

fn read_loop(file: &mut impl Read, buf: &mut Vec<u8>, single_show: bool) -> io::Result<()> {
    buf.clear();
    let mut filled = 0;
    let result = loop {
        if filled == buf.len() {
            buf.resize((2 * filled).max(INITIAL_READ), 0);
        }
        match file.read(&mut buf[filled..]) {
            Ok(0) => break Ok(()),
            Ok(n) if single_show && filled == 0 && n < buf.len() => {
                filled = n;
                break Ok(());
            }
            Ok(n) => filled = (filled + n).min(buf.len()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => break Err(e),
        }
    };
    buf.truncate(filled);
    result
}

/// The first read's size: every small /proc file (statm, stat, status, meminfo) fits in one.
const INITIAL_READ: usize = 4096;

/// The largest buffer a thread keeps between reads; a bigger one (a huge smaps or cmdline) is
/// freed, so one odd process does not pin memory for the thread's lifetime.
const MAX_KEPT_BUFFER: usize = 256 << 10;

thread_local! {
    static BUFFER: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// Runs `f` with this thread's reusable read buffer. Re-entrant: a nested call gets a fresh buffer.
pub(crate) fn with_buffer<T>(f: impl FnOnce(&mut Vec<u8>) -> T) -> T {
    let mut buf = BUFFER.with(Cell::take);
    let out = f(&mut buf);
    if buf.capacity() <= MAX_KEPT_BUFFER {
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

    /// A reader that hands out `data` at most 4096 bytes per read (as seq_file does), marks the
    /// rest of every buffer it is given with 0xFF, and counts the zero bytes it finds: bytes that
    /// `read_to_buffer` zeroed since the previous read.
    struct ZeroCounter {
        data: Vec<u8>,
        pos: usize,
        zeroed: usize,
    }

    impl Read for ZeroCounter {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.zeroed += buf.iter().filter(|&&b| b == 0).count();
            let n = buf.len().min(4096).min(self.data.len() - self.pos);
            buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
            buf[n..].fill(0xFF);
            self.pos += n;
            Ok(n)
        }
    }

    #[test]
    fn read_to_buffer_zeroes_each_byte_once_not_the_spare_capacity_per_read() {
        let data: Vec<u8> = (0..1 << 20).map(|i| (i % 251 + 1) as u8).collect();
        // A buffer kept from an earlier huge file: its capacity must not be zeroed per read.
        let mut buf = Vec::with_capacity(8 << 20);
        let mut reader = ZeroCounter {
            data: data.clone(),
            pos: 0,
            zeroed: 0,
        };
        read_to_buffer(&mut reader, &mut buf).unwrap();
        assert_eq!(buf, data);
        // Doubling growth zeroes at most twice the file (plus the first read); the old loop zeroed
        // the whole spare capacity on each of the 256 reads, gigabytes here.
        assert!(
            reader.zeroed <= 2 * data.len() + INITIAL_READ,
            "zeroed {} bytes to read {}",
            reader.zeroed,
            data.len()
        );
    }

    /// Hands out `data` in pieces of at most `piece` bytes and counts its reads.
    struct Pieces {
        data: Vec<u8>,
        piece: usize,
        reads: usize,
    }

    impl Read for Pieces {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.reads += 1;
            let n = buf.len().min(self.piece).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data.drain(..n);
            Ok(n)
        }
    }

    #[test]
    fn single_show_read_skips_the_eof_read_after_a_short_first_read() {
        let stat = b"4242 (x) S 1 4242 4242 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 100 0 0 0\n".to_vec();
        let mut file = Pieces {
            data: stat.clone(),
            piece: usize::MAX,
            reads: 0,
        };
        let mut buf = Vec::new();
        read_single_show(&mut file, &mut buf).unwrap();
        assert_eq!((buf, file.reads), (stat.clone(), 1));

        // Any other file keeps reading to EOF.
        let mut file = Pieces {
            data: stat.clone(),
            piece: usize::MAX,
            reads: 0,
        };
        let mut buf = Vec::new();
        read_to_buffer(&mut file, &mut buf).unwrap();
        assert_eq!((buf, file.reads), (stat, 2));
    }

    #[test]
    fn single_show_read_of_a_text_bigger_than_the_first_read_reads_on() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let mut file = Pieces {
            data: data.clone(),
            piece: usize::MAX,
            reads: 0,
        };
        let mut buf = Vec::new();
        read_single_show(&mut file, &mut buf).unwrap();
        assert_eq!(buf, data);
    }

    #[test]
    fn a_buffer_grown_past_the_bound_is_not_kept_for_the_next_read() {
        // One 1 MiB command line, then a small file: the second read must not start from a 1 MiB
        // buffer (its capacity would be kept for the thread's lifetime).
        let big = vec![b'x'; 1 << 20];
        with_buffer(|buf| read_to_buffer(&mut &big[..], buf).unwrap());
        let kept = with_buffer(|buf| buf.capacity());
        assert!(kept <= MAX_KEPT_BUFFER, "kept {kept} bytes");
        // A buffer within the bound is kept (the point of the per-thread buffer).
        let small = vec![b'y'; 10_000];
        with_buffer(|buf| read_to_buffer(&mut &small[..], buf).unwrap());
        assert!(with_buffer(|buf| buf.capacity()) >= small.len());
    }

    #[test]
    fn missing_file_names_the_path() {
        let err = parse_file(Path::new("/nonexistent/meminfo"), |_| Ok(())).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/meminfo"), "{err}");
    }
}
