//! The process's own resources on macOS, with the same readers as the Linux `/proc/self` ones:
//! open fds (`proc_pidinfo(PROC_PIDLISTFDS)`, the platform's descriptor list), threads
//! (`pti_threadnum` of `PROC_PIDTASKINFO`), children (`proc_listpids(PROC_PPID_ONLY)`, zombies
//! included), USS (memsight's region walk) and mappings (memsight's `memory_maps`).
//!
//! The fd and child lists go into buffers allocated once (grown only if the table outgrows
//! them), and the counts read into the stack. The mappings are read through `memory_maps`, which
//! allocates its records and frees them before the call returns, so the Rust-heap figure (read
//! first in a sample) never sees them. No descriptor is held, so there is none the tested
//! function could close under the harness.
#![allow(unsafe_code)]

/// `proc_pidinfo` flavor: the thread handles (`<sys/proc_info.h>`).
const PROC_PIDLISTTHREADS: libc::c_int = 6;
/// `proc_listpids` type: the children of a pid (`<libproc.h>`).
const PROC_PPID_ONLY: u32 = 6;

/// Figures of the process's VM regions in one pass.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Maps {
    /// Number of regions.
    pub count: i64,
    /// Bytes in regions with no file behind them (`[anon]`): malloc zones and raw `mmap()`s.
    pub anon_bytes: i64,
}

/// The harness's own descriptor was closed or replaced by the tested function (never on macOS:
/// the harness holds none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FdLost {
    /// The descriptor number.
    pub(crate) fd: i32,
    /// What became of it.
    pub(crate) now: String,
}

pub(crate) struct ProcSelf {
    pid: libc::c_int,
    me: memsight::Process,
    fds: Vec<libc::proc_fdinfo>,
    pids: Vec<libc::c_int>,
}

fn other(e: memsight::Error) -> std::io::Error {
    std::io::Error::other(e)
}

impl ProcSelf {
    pub(crate) fn new() -> std::io::Result<ProcSelf> {
        let zero = libc::proc_fdinfo {
            proc_fd: 0,
            proc_fdtype: 0,
        };
        Ok(ProcSelf {
            pid: std::process::id() as libc::c_int,
            me: memsight::Process::current().map_err(other)?,
            fds: vec![zero; 4096],
            pids: vec![0; 1024],
        })
    }

    /// Nothing to verify: no descriptor is held.
    pub(crate) fn verify(&mut self) -> Result<(), FdLost> {
        Ok(())
    }

    /// The descriptor table into the held buffer, grown while it comes back full.
    fn read_fds(&mut self) -> std::io::Result<usize> {
        let entry = std::mem::size_of::<libc::proc_fdinfo>();
        loop {
            let bytes = (self.fds.len() * entry) as libc::c_int;
            // SAFETY: `fds` has `bytes` writable bytes of proc_fdinfo.
            let ret = unsafe {
                libc::proc_pidinfo(
                    self.pid,
                    libc::PROC_PIDLISTFDS,
                    0,
                    self.fds.as_mut_ptr().cast(),
                    bytes,
                )
            };
            if ret <= 0 {
                return Err(std::io::Error::last_os_error());
            }
            let n = ret as usize / entry;
            if n < self.fds.len() {
                return Ok(n);
            }
            let more = self.fds.len() * 2;
            self.fds.resize(more, self.fds[0]);
        }
    }

    /// Open file descriptors (`PROC_PIDLISTFDS`).
    pub(crate) fn fds(&mut self) -> std::io::Result<i64> {
        Ok(self.read_fds()? as i64)
    }

    /// Threads of this process (`pti_threadnum`).
    pub(crate) fn threads(&mut self) -> std::io::Result<i64> {
        Ok(self.task_info()?.pti_threadnum as i64)
    }

    fn task_info(&self) -> std::io::Result<libc::proc_taskinfo> {
        // SAFETY: proc_taskinfo is plain data; the call writes at most its size.
        unsafe {
            let mut t: libc::proc_taskinfo = std::mem::zeroed();
            let size = std::mem::size_of::<libc::proc_taskinfo>() as libc::c_int;
            let ret = libc::proc_pidinfo(
                self.pid,
                libc::PROC_PIDTASKINFO,
                0,
                (&raw mut t).cast(),
                size,
            );
            if ret < size {
                return Err(std::io::Error::last_os_error());
            }
            Ok(t)
        }
    }

    /// The children's pids into the held buffer (`proc_listpids(PROC_PPID_ONLY)`).
    fn read_children(&mut self) -> std::io::Result<usize> {
        let entry = std::mem::size_of::<libc::c_int>();
        loop {
            let bytes = (self.pids.len() * entry) as libc::c_int;
            // SAFETY: `pids` has `bytes` writable bytes.
            let ret = unsafe {
                libc::proc_listpids(
                    PROC_PPID_ONLY,
                    self.pid as u32,
                    self.pids.as_mut_ptr().cast(),
                    bytes,
                )
            };
            if ret < 0 {
                return Err(std::io::Error::last_os_error());
            }
            let n = ret as usize / entry;
            if n < self.pids.len() {
                return Ok(n);
            }
            let more = self.pids.len() * 2;
            self.pids.resize(more, 0);
        }
    }

    /// Child processes not yet waited for, zombies included.
    pub(crate) fn children(&mut self) -> std::io::Result<i64> {
        Ok(self.read_children()? as i64)
    }

    /// The children's pids, for failure reports.
    pub(crate) fn child_pids(&mut self) -> Vec<i32> {
        match self.read_children() {
            Ok(n) => self.pids[..n].iter().copied().filter(|&p| p > 0).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// USS: memsight's `memory_footprint` (private resident pages, the dyld shared region left
    /// out). Unlike Linux's dirty-only figure it counts clean private pages too.
    pub(crate) fn uss(&mut self) -> std::io::Result<i64> {
        Ok(self.me.memory_footprint().map_err(other)?.uss as i64)
    }

    /// Region count and anonymous bytes (memsight's `memory_maps`).
    pub(crate) fn maps(&mut self) -> std::io::Result<Maps> {
        let maps = self.me.memory_maps(false).map_err(other)?;
        let anon: u64 = maps
            .iter()
            .filter(|m| m.path == "[anon]")
            .map(|m| m.size)
            .sum();
        Ok(Maps {
            count: maps.len() as i64,
            anon_bytes: anon as i64,
        })
    }

    /// `(fd, what it is)` for every open descriptor: the path of a regular file, else its kind.
    /// Allocates; only for failure reports.
    pub(crate) fn fd_targets(&mut self) -> Vec<(i32, String)> {
        let Ok(n) = self.read_fds() else {
            return Vec::new();
        };
        let files = self.me.open_files().unwrap_or_default();
        self.fds[..n]
            .iter()
            .map(|fd| {
                let what = match files.iter().find(|f| f.fd as i32 == fd.proc_fd) {
                    Some(f) => f.path.display().to_string(),
                    None => fd_kind(fd.proc_fdtype).to_string(),
                };
                (fd.proc_fd, what)
            })
            .collect()
    }

    /// `(thread id, name)` for every thread (`PROC_PIDLISTTHREADS`, then `PROC_PIDTHREADINFO`
    /// per thread; the id is the low half of the kernel's thread handle). Allocates; only for
    /// failure reports.
    pub(crate) fn thread_names(&mut self) -> Vec<(u32, String)> {
        let Ok(t) = self.task_info() else {
            return Vec::new();
        };
        let mut handles = vec![0u64; t.pti_threadnum.max(0) as usize + 32];
        let bytes = (handles.len() * 8) as libc::c_int;
        // SAFETY: `handles` has `bytes` writable bytes.
        let ret = unsafe {
            libc::proc_pidinfo(
                self.pid,
                PROC_PIDLISTTHREADS,
                0,
                handles.as_mut_ptr().cast(),
                bytes,
            )
        };
        if ret <= 0 {
            return Vec::new();
        }
        handles.truncate(ret as usize / 8);
        handles
            .into_iter()
            .filter_map(|h| {
                // SAFETY: proc_threadinfo is plain data; the call writes at most its size.
                let info = unsafe {
                    let mut info: libc::proc_threadinfo = std::mem::zeroed();
                    let size = std::mem::size_of::<libc::proc_threadinfo>() as libc::c_int;
                    let ret = libc::proc_pidinfo(
                        self.pid,
                        libc::PROC_PIDTHREADINFO,
                        h,
                        (&raw mut info).cast(),
                        size,
                    );
                    (ret >= size).then_some(info)
                }?;
                let name: Vec<u8> = info
                    .pth_name
                    .iter()
                    .take_while(|&&c| c != 0)
                    .map(|&c| c as u8)
                    .collect();
                Some((h as u32, String::from_utf8_lossy(&name).into_owned()))
            })
            .collect()
    }
}

/// A `PROX_FDTYPE_*` as a word.
fn fd_kind(kind: u32) -> &'static str {
    match kind as libc::c_int {
        libc::PROX_FDTYPE_VNODE => "vnode",
        libc::PROX_FDTYPE_SOCKET => "socket",
        libc::PROX_FDTYPE_PSHM => "posix shared memory",
        libc::PROX_FDTYPE_PSEM => "posix semaphore",
        libc::PROX_FDTYPE_KQUEUE => "kqueue",
        libc::PROX_FDTYPE_PIPE => "pipe",
        libc::PROX_FDTYPE_FSEVENTS => "fsevents",
        _ => "other",
    }
}
