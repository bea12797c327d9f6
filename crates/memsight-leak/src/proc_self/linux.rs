//! Small, allocation-free readers of `/proc/self`: open fds, threads, mappings, USS.
//!
//! Every buffer is allocated once when the [`ProcSelf`] is made; sampling only reads into them, so
//! the harness never shows up in what it measures. Listing fd targets and thread names (for the
//! failure report) does allocate, and is only done outside measured windows.
#![allow(unsafe_code)] // the PROCMAP_QUERY ioctl

use std::ffi::CStr;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, IntoRawFd, OwnedFd};

use rustix::fs::{Mode, OFlags, RawDir};

/// Figures read from `/proc/self/maps` in one pass.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Maps {
    /// Number of mappings (lines).
    pub count: i64,
    /// Bytes in anonymous mappings (inode 0, no path, or `[anon:...]`), excluding `[heap]`,
    /// `[stack]` and the vdso: where a raw `mmap()` leak shows, which `mallinfo2` cannot see.
    pub anon_bytes: i64,
}

/// The harness's own `/proc/self` descriptor was closed or replaced by the tested function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FdLost {
    /// The descriptor number.
    pub(crate) fd: i32,
    /// What became of it: closed, or what it points at now.
    pub(crate) now: String,
}

pub(crate) struct ProcSelf {
    /// `/proc/self`, opened once. `None` once the tested function closed or replaced it: it
    /// is then never used nor closed again (closing a number someone else now owns would close
    /// their file; std aborts on an already-closed `OwnedFd`).
    dir: Option<OwnedFd>,
    /// The number and identity (device, inode) of `dir` when it was opened.
    dir_id: (i32, u64, u64),
    dirbuf: Box<[MaybeUninit<u8>]>,
    filebuf: Box<[u8]>,
    /// Whether [`maps`](Self::maps) asks the kernel with `PROCMAP_QUERY`: `None` until the first
    /// read finds out, then fixed, so every sample of a check counts the same way.
    query: Option<bool>,
}

impl ProcSelf {
    pub(crate) fn new() -> std::io::Result<ProcSelf> {
        let dir = rustix::fs::open(
            c"/proc/self",
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        let st = rustix::fs::fstat(&dir)?;
        Ok(ProcSelf {
            dir_id: (dir.as_raw_fd(), st.st_dev, st.st_ino),
            dir: Some(dir),
            dirbuf: vec![MaybeUninit::new(0u8); 16 * 1024].into_boxed_slice(),
            filebuf: vec![0u8; 16 * 1024].into_boxed_slice(),
            query: None,
        })
    }

    fn open(&self, name: &CStr, dir: bool) -> std::io::Result<OwnedFd> {
        let flags = if dir {
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC
        } else {
            OFlags::RDONLY | OFlags::CLOEXEC
        };
        let Some(dir) = &self.dir else {
            return Err(std::io::Error::other(
                "the harness's /proc/self descriptor was closed by the tested function",
            ));
        };
        Ok(rustix::fs::openat(dir, name, flags, Mode::empty())?)
    }

    /// Checks that the harness's own descriptor is still the `/proc/self` directory it opened
    /// (a tested function may run `close_range(3, ~0)`, or close descriptors and open others
    /// that get the same numbers). On the first failure the descriptor is given up without
    /// closing it, and every later read fails.
    pub(crate) fn verify(&mut self) -> Result<(), FdLost> {
        let (fd, dev, ino) = self.dir_id;
        let Some(dir) = &self.dir else {
            return Err(FdLost {
                fd,
                now: "closed".to_owned(),
            });
        };
        let now = match rustix::fs::fstat(dir) {
            Ok(st) if (st.st_dev, st.st_ino) == (dev, ino) => return Ok(()),
            Ok(_) => {
                let target = rustix::fs::readlink(format!("/proc/self/fd/{fd}"), Vec::new())
                    .map(|t| t.to_string_lossy().into_owned())
                    .unwrap_or_else(|_| "?".to_owned());
                format!("replaced: it now refers to {target}")
            }
            Err(e) => format!("closed ({e})"),
        };
        if let Some(dir) = self.dir.take() {
            // Not ours any more: forget the number without closing it.
            let _ = dir.into_raw_fd();
        }
        Err(FdLost { fd, now })
    }

    /// Entries of a `/proc/self` subdirectory, not counting `.` and `..`.
    fn count_dir(&mut self, name: &CStr) -> std::io::Result<i64> {
        let fd = self.open(name, true)?;
        let mut n = 0;
        let mut it = RawDir::new(fd.as_fd(), &mut self.dirbuf);
        while let Some(entry) = it.next() {
            let entry = entry?;
            let name = entry.file_name().to_bytes();
            if name != b"." && name != b".." {
                n += 1;
            }
        }
        Ok(n)
    }

    /// Open file descriptors (`/proc/self/fd` entries), minus the one this count itself opens.
    pub(crate) fn fds(&mut self) -> std::io::Result<i64> {
        Ok(self.count_dir(c"fd")? - 1)
    }

    /// Threads of this process (`/proc/self/task` entries).
    pub(crate) fn threads(&mut self) -> std::io::Result<i64> {
        self.count_dir(c"task")
    }

    /// Child processes of every thread, zombies included: the pids listed in
    /// `/proc/self/task/TID/children` (Linux 3.5+, `CONFIG_PROC_CHILDREN`). Allocation-free.
    pub(crate) fn children(&mut self) -> std::io::Result<i64> {
        self.each_child(|_| {})
    }

    /// The child pids, for failure reports. Allocates.
    pub(crate) fn child_pids(&mut self) -> Vec<i32> {
        let mut out = Vec::new();
        let _ = self.each_child(|pid| out.push(pid));
        out
    }

    fn each_child(&mut self, mut each: impl FnMut(i32)) -> std::io::Result<i64> {
        let task = self.open(c"task", true)?;
        let mut n = 0;
        let mut it = RawDir::new(task.as_fd(), &mut self.dirbuf);
        while let Some(entry) = it.next() {
            let entry = entry?;
            let tid = entry.file_name().to_bytes();
            if tid.is_empty() || !tid.iter().all(u8::is_ascii_digit) || tid.len() > 20 {
                continue;
            }
            // "TID/children\0" in a stack buffer: no allocation.
            let mut path = [0u8; 40];
            let tail = b"/children\0";
            path[..tid.len()].copy_from_slice(tid);
            path[tid.len()..tid.len() + tail.len()].copy_from_slice(tail);
            let Ok(name) = CStr::from_bytes_until_nul(&path) else {
                continue;
            };
            // A thread that exited meanwhile has no file any more: it has no children either.
            let Ok(fd) =
                rustix::fs::openat(&task, name, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
            else {
                continue;
            };
            let len = read_full(&fd, &mut self.filebuf)?;
            for pid in self.filebuf[..len].split(|&b| b == b' ' || b == b'\n') {
                if let Some(p) = parse_num(Some(pid)) {
                    n += 1;
                    each(i32::try_from(p).unwrap_or(0));
                }
            }
        }
        Ok(n)
    }

    /// The dirty part of USS: `Private_Dirty + Private_Hugetlb` of `/proc/self/smaps_rollup`,
    /// bytes. `Private_Clean` is left out on purpose: clean file pages (the program's own code)
    /// turn private or shared whenever another process mapping the same file exits or starts,
    /// as parallel test processes of one test binary do, which moves USS by megabytes without
    /// this process doing anything. Leaked memory is written memory, so it is dirty.
    pub(crate) fn uss(&mut self) -> std::io::Result<i64> {
        let fd = self.open(c"smaps_rollup", false)?;
        let len = read_full(&fd, &mut self.filebuf)?;
        let mut kb = 0i64;
        for line in self.filebuf[..len].split(|&b| b == b'\n') {
            for key in [&b"Private_Dirty:"[..], b"Private_Hugetlb:"] {
                if let Some(rest) = line.strip_prefix(key) {
                    kb += parse_num(rest.trim_ascii().split(|&b| b == b' ').next()).unwrap_or(0);
                }
            }
        }
        Ok(kb * 1024)
    }

    /// Mapping count and anonymous bytes of this process. Asked one mapping at a time with the
    /// `PROCMAP_QUERY` ioctl (Linux 6.11+), which skips what makes the text slow: the kernel
    /// writing out every mapped file's path (a read of `/proc/self/maps` took 84 µs in a bare
    /// Python, a fifth of the CPU of psleak's suite). Older kernels: the text, streamed through
    /// the fixed buffer. The query does not list the `[vsyscall]` page, so the two count one
    /// apart where it exists; a check only ever compares counts taken the same way.
    pub(crate) fn maps(&mut self) -> std::io::Result<Maps> {
        let fd = self.open(c"maps", false)?;
        match self.query {
            Some(true) => self.maps_by_query(&fd),
            Some(false) => self.maps_from_text(&fd),
            None => match self.maps_by_query(&fd) {
                Ok(m) => {
                    self.query = Some(true);
                    Ok(m)
                }
                Err(_) => {
                    self.query = Some(false);
                    self.maps_from_text(&fd)
                }
            },
        }
    }

    /// [`maps`](Self::maps) through `PROCMAP_QUERY`: each mapping at or after the end of the one
    /// before; the name is asked only for mappings without an inode, to tell anonymous memory
    /// from `[heap]`, `[stack]` and the vdso.
    fn maps_by_query(&mut self, fd: &OwnedFd) -> std::io::Result<Maps> {
        let mut out = Maps::default();
        let mut addr = 0u64;
        while let Some(vma) = procmap_query(fd, addr, true, &mut [])? {
            out.count += 1;
            if vma.inode == 0 {
                let name = procmap_query(fd, vma.vma_start, false, &mut self.filebuf)?
                    .map_or(0, |v| v.vma_name_size as usize);
                // The size counts the name's NUL.
                let name = &self.filebuf[..name.saturating_sub(1)];
                if name.is_empty() || name.starts_with(b"[anon") {
                    out.anon_bytes +=
                        i64::try_from(vma.vma_end.saturating_sub(vma.vma_start)).unwrap_or(0);
                }
            }
            // The next mapping starts at or after this one's end: the walk always moves on.
            addr = vma.vma_end;
        }
        Ok(out)
    }

    /// [`maps`](Self::maps) from the text of `/proc/self/maps`.
    fn maps_from_text(&mut self, fd: &OwnedFd) -> std::io::Result<Maps> {
        let mut out = Maps::default();
        // The start of the current line, up to LINE bytes: enough to hold every field before the
        // path and the path's first characters.
        const LINE: usize = 192;
        let mut line = [0u8; LINE];
        let mut line_len = 0usize;
        loop {
            let n = match rustix::io::read(fd, &mut self.filebuf[..]) {
                Ok(0) => break,
                Ok(n) => n,
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            };
            for &b in &self.filebuf[..n] {
                if b == b'\n' {
                    out.count += 1;
                    out.anon_bytes += anon_size(&line[..line_len]);
                    line_len = 0;
                } else if line_len < LINE {
                    line[line_len] = b;
                    line_len += 1;
                }
            }
        }
        if line_len > 0 {
            out.count += 1;
            out.anon_bytes += anon_size(&line[..line_len]);
        }
        Ok(out)
    }

    /// `(fd, link target)` for every open descriptor, for failure reports. Allocates.
    pub(crate) fn fd_targets(&mut self) -> Vec<(i32, String)> {
        let mut out = Vec::new();
        let Ok(fd) = self.open(c"fd", true) else {
            return out;
        };
        let mut names = Vec::new();
        let mut it = RawDir::new(fd.as_fd(), &mut self.dirbuf);
        while let Some(Ok(entry)) = it.next() {
            if let Ok(n) = entry.file_name().to_str().unwrap_or("").parse::<i32>() {
                names.push(n);
            }
        }
        for n in names {
            if n == std::os::fd::AsRawFd::as_raw_fd(&fd) {
                continue;
            }
            let target = rustix::fs::readlinkat(&fd, n.to_string(), Vec::new())
                .map(|t| t.to_string_lossy().into_owned())
                .unwrap_or_else(|_| "?".to_owned());
            out.push((n, target));
        }
        out
    }

    /// `(tid, name from /proc/self/task/TID/comm)` for every thread, for failure reports.
    pub(crate) fn thread_names(&mut self) -> Vec<(u32, String)> {
        let mut out = Vec::new();
        let Ok(fd) = self.open(c"task", true) else {
            return out;
        };
        let mut tids = Vec::new();
        let mut it = RawDir::new(fd.as_fd(), &mut self.dirbuf);
        while let Some(Ok(entry)) = it.next() {
            if let Ok(n) = entry.file_name().to_str().unwrap_or("").parse::<u32>() {
                tids.push(n);
            }
        }
        for tid in tids {
            let name = std::fs::read(format!("/proc/self/task/{tid}/comm"))
                .map(|b| String::from_utf8_lossy(&b).trim_end().to_owned())
                .unwrap_or_else(|_| "?".to_owned());
            out.push((tid, name));
        }
        out
    }
}

impl Drop for ProcSelf {
    fn drop(&mut self) {
        // Close `/proc/self` only if it is still ours (verify gives it up otherwise).
        let _ = self.verify();
    }
}

/// Reads the whole (small) file into `buf`, returning the length (truncated at the buffer size).
fn read_full(fd: &OwnedFd, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut len = 0;
    while len < buf.len() {
        match rustix::io::read(fd, &mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(len)
}

fn parse_num(s: Option<&[u8]>) -> Option<i64> {
    let s = s?;
    if s.is_empty() {
        return None;
    }
    let mut n: i64 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
    }
    Some(n)
}

fn parse_hex(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 16 {
        return None;
    }
    let mut n = 0u64;
    for &b in s {
        let d = (b as char).to_digit(16)?;
        n = (n << 4) | u64::from(d);
    }
    Some(n)
}

/// One `PROCMAP_QUERY` ioctl on an open `/proc/PID/maps`: the mapping covering `addr`, or with
/// `next` the first one after it too; `None` when there is none. With a non-empty `name`
/// buffer the kernel writes the mapping's name there (NUL-terminated) and its size into
/// `vma_name_size` (0: no name).
fn procmap_query(
    fd: &OwnedFd,
    addr: u64,
    next: bool,
    name: &mut [u8],
) -> std::io::Result<Option<linux_raw_sys::general::procmap_query>> {
    use linux_raw_sys::general::{procmap_query, procmap_query_flags};
    // include/uapi/linux/fs.h: _IOWR(PROCFS_IOCTL_MAGIC 'f', 17, struct procmap_query).
    const OPCODE: rustix::ioctl::Opcode =
        rustix::ioctl::opcode::read_write::<procmap_query>(b'f', 17);
    // SAFETY: procmap_query is plain integers; all-zero is its "nothing asked" value.
    let mut q: procmap_query = unsafe { std::mem::zeroed() };
    q.size = std::mem::size_of::<procmap_query>() as u64;
    q.query_addr = addr;
    if next {
        q.query_flags = procmap_query_flags::PROCMAP_QUERY_COVERING_OR_NEXT_VMA as u64;
    }
    if !name.is_empty() {
        q.vma_name_addr = name.as_mut_ptr() as u64;
        q.vma_name_size = u32::try_from(name.len()).unwrap_or(u32::MAX);
    }
    loop {
        // SAFETY: OPCODE is PROCMAP_QUERY, whose argument is a procmap_query the kernel reads
        // and updates; `q` lives across the call and names only `name`, which is writable for
        // the `vma_name_size` bytes it says and outlives the call (no build-id buffer is given).
        let done = unsafe {
            rustix::ioctl::ioctl(
                fd,
                rustix::ioctl::Updater::<OPCODE, procmap_query>::new(&mut q),
            )
        };
        return match done {
            Ok(()) => Ok(Some(q)),
            Err(rustix::io::Errno::NOENT) => Ok(None),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => Err(e.into()),
        };
    }
}

/// The size of one maps line's range if the mapping is anonymous, else 0.
/// Line: `start-end perms offset dev inode   [path]`.
fn anon_size(line: &[u8]) -> i64 {
    let mut fields = line.split(|&b| b == b' ').filter(|f| !f.is_empty());
    let (Some(range), Some(_perms), Some(_off), Some(_dev), Some(inode)) = (
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
    ) else {
        return 0;
    };
    if inode != b"0" {
        return 0;
    }
    match fields.next() {
        None => {}
        Some(path) if path.starts_with(b"[anon") => {}
        Some(_) => return 0,
    }
    let mut ends = range.splitn(2, |&b| b == b'-');
    match (
        ends.next().and_then(parse_hex),
        ends.next().and_then(parse_hex),
    ) {
        (Some(start), Some(end)) if end >= start => i64::try_from(end - start).unwrap_or(0),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anon_lines() {
        assert_eq!(
            anon_size(b"7f0000000000-7f0000001000 rw-p 00000000 00:00 0 "),
            4096
        );
        assert_eq!(
            anon_size(b"7f0000000000-7f0000002000 rw-p 00000000 00:00 0          [anon:foo]"),
            8192
        );
        assert_eq!(
            anon_size(b"5555d000-5556e000 rw-p 00000000 00:00 0          [heap]"),
            0
        );
        assert_eq!(
            anon_size(b"7f00-7f10 r--p 00000000 fe:01 1234     /usr/lib/libc.so.6"),
            0
        );
        assert_eq!(anon_size(b"garbage"), 0);
        assert_eq!(anon_size(b"zz-1000 rw-p 0 00:00 0"), 0);
    }

    /// The query and the text agree on this process: the same anonymous bytes, and one mapping
    /// apart for `[vsyscall]`, which only the text lists. Other threads of the test binary may
    /// map memory meanwhile, so the two are read again until a pair agrees (the reads are
    /// microseconds apart).
    #[test]
    fn maps_by_query_agrees_with_the_text() {
        let mut p = ProcSelf::new().unwrap();
        let fd = p.open(c"maps", false).unwrap();
        if let Err(e) = p.maps_by_query(&fd) {
            let why = format!("PROCMAP_QUERY unsupported here ({e}): Linux 6.11 or later");
            assert!(std::env::var_os("CI").is_none(), "{why}");
            eprintln!("skipped: {why}");
            return;
        }
        let mut last = None;
        for _ in 0..50 {
            let fd = p.open(c"maps", false).unwrap();
            let text = p.maps_from_text(&fd).unwrap();
            let query = p.maps_by_query(&fd).unwrap();
            let vsyscall = std::fs::read_to_string("/proc/self/maps")
                .unwrap()
                .lines()
                .filter(|l| l.ends_with("[vsyscall]"))
                .count() as i64;
            if query.count + vsyscall == text.count && query.anon_bytes == text.anon_bytes {
                assert!(query.count > 5 && query.anon_bytes > 0, "{query:?}");
                // And maps() itself chose the query.
                assert!(p.maps().is_ok());
                assert_eq!(p.query, Some(true));
                return;
            }
            last = Some((text, query, vsyscall));
        }
        panic!("never agreed: (text, query, vsyscall lines) = {last:?}");
    }

    #[test]
    fn live_readers_agree_with_proc() {
        let mut p = ProcSelf::new().unwrap();
        let fds = p.fds().unwrap();
        assert_eq!(
            fds as usize,
            std::fs::read_dir("/proc/self/fd").unwrap().count() - 1
        );
        let threads = p.threads().unwrap();
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let want: i64 = status
            .lines()
            .find_map(|l| l.strip_prefix("Threads:"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(threads, want);
        let fd = p.open(c"maps", false).unwrap();
        let maps = p.maps_from_text(&fd).unwrap();
        let text = std::fs::read_to_string("/proc/self/maps").unwrap();
        assert_eq!(maps.count as usize, text.lines().count());
        assert!(p.uss().unwrap() > 0);
        assert!(!p.fd_targets().is_empty());
        assert_eq!(p.thread_names().len() as i64, threads);
        let before = p.children().unwrap();
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        assert_eq!(p.children().unwrap(), before + 1);
        assert!(p.child_pids().contains(&(child.id() as i32)));
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(p.children().unwrap(), before);
    }
}
