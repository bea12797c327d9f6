//! A process, and everything memsight can tell about it.
//!
//! A [`Process`] is a pid plus the start time the kernel gave it. It holds one `O_PATH` descriptor
//! of its `/proc/PID` directory and opens every file relative to it, so once the process has
//! exited, every read fails with [`Error::NoSuchProcess`] even if the pid has been handed to a new
//! process: the handle never silently reads someone else.
//!
//! Opening a handle costs two system calls (`open` of `/proc/PID` and, at drop, `close`): the
//! start time and the directory's inode are read when first needed (equality, `create_time`,
//! the parent/children checks), through that same descriptor, so they are always the original
//! process's.

use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use rustix::fs::{Mode, OFlags};

use crate::error::{Error, ParseError, Result};
use crate::sys::procfs::{self, ProcFs, pid_stat};
use crate::sys::unix::user;

/// The files read inside a [`Process::oneshot`](crate::Process::oneshot) scope, by name.
type FileCache = Vec<(&'static str, Arc<[u8]>)>;

/// A handle on one running process.
///
/// Equality is identity: two handles are equal when they have the same pid, `/proc/PID`
/// directory inode and start time.
/// The handle owns one `O_PATH` file descriptor; no other descriptor outlives a call.
#[derive(Debug)]
pub struct Process {
    pid: u32,
    procfs: ProcFs,
    /// The `/proc/PID` directory, opened `O_PATH`. It pins the process: once that process has been
    /// reaped, every file opened through it fails with ENOENT or ESRCH, even if the pid now
    /// belongs to another process.
    dir: OwnedFd,
    /// The start time after boot (`/proc/PID/stat` field 22, clock ticks), read through `dir`
    /// the first time it is needed (see [`Process::start_ticks`](crate::Process::start_ticks)).
    start_ticks: OnceLock<u64>,
    /// The inode of the `/proc/PID` directory, from `fstat` of `dir` the first time it is needed:
    /// the descriptor holds that inode, so it is the one of the open whenever it is read. A new
    /// process under a reused pid gets a new one, even if it started in the same clock tick
    /// (handles alive together share the cached one).
    dir_ino: OnceLock<u64>,
    cache: Mutex<Option<FileCache>>,
}

impl PartialEq for Process {
    fn eq(&self, other: &Self) -> bool {
        if self.pid != other.pid || self.procfs != other.procfs || self.dir_ino() != other.dir_ino()
        {
            return false;
        }
        // The same directory inode is the same process (the inode pins it), so both start times
        // read or neither does; once it has exited the inode alone decides.
        match (self.start_ticks(), other.start_ticks()) {
            (Ok(a), Ok(b)) => a == b,
            _ => true,
        }
    }
}

impl Eq for Process {}

impl ProcFs {
    /// Opens process `pid` under this procfs root ([`Process::new`](crate::Process::new) reads `/proc`). Fails with
    /// [`Error::NoSuchProcess`] if there is none.
    ///
    /// ```
    /// let host = memsight::linux::ProcFs::new("/proc");
    /// let me = host.process(std::process::id())?;
    /// assert!(me.memory_info()?.rss > 0);
    /// # Ok::<(), memsight::Error>(())
    /// ```
    pub fn process(&self, pid: u32) -> Result<crate::Process> {
        Process::open_in(self, pid).map(crate::Process::from_inner)
    }
}

impl Process {
    /// Backs [`crate::Process::new`], where it is documented with every OS's source.
    pub fn new(pid: u32) -> Result<Process> {
        Process::open_in(&ProcFs::default(), pid)
    }

    /// Opens process `pid` under `procfs` (see [`ProcFs::process`]): the `/proc/PID` directory
    /// only, nothing read yet.
    pub(crate) fn open_in(procfs: &ProcFs, pid: u32) -> Result<Process> {
        let path = procfs.proc_path(pid.to_string());
        let dir = rustix::fs::open(
            &path,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| match e {
            rustix::io::Errno::NOENT | rustix::io::Errno::SRCH | rustix::io::Errno::NOTDIR => {
                Error::NoSuchProcess { pid, name: None }
            }
            e => Error::from_io(Some(pid), &path, e.into()),
        })?;
        Ok(Process {
            pid,
            procfs: procfs.clone(),
            dir,
            start_ticks: OnceLock::new(),
            dir_ino: OnceLock::new(),
            cache: Mutex::new(None),
        })
    }

    /// The start time after boot in clock ticks (`/proc/PID/stat` field 22), read through the
    /// handle's descriptor the first time and kept: an exited process gives
    /// [`Error::NoSuchProcess`] rather than the start time of a process that reused its pid.
    pub(crate) fn start_ticks(&self) -> Result<u64> {
        match self.start_ticks.get() {
            Some(&ticks) => Ok(ticks),
            None => Ok(self.stat()?.starttime),
        }
    }

    /// Keeps the start time of a `stat` read (every read of it gives the same one).
    pub(crate) fn note_start_ticks(&self, ticks: u64) {
        // An error only means another thread set the same value first.
        let _ = self.start_ticks.set(ticks);
    }

    /// The `/proc/PID` directory's inode (0 if `fstat` fails, which it does not on a held
    /// descriptor).
    fn dir_ino(&self) -> u64 {
        *self
            .dir_ino
            .get_or_init(|| rustix::fs::fstat(&self.dir).map_or(0, |st| st.st_ino))
    }

    /// `fstat` of the `/proc/PID` descriptor (which also settles the inode for equality).
    pub(crate) fn dir_stat(&self) -> Result<rustix::fs::Stat> {
        let st = rustix::fs::fstat(&self.dir).map_err(|e| self.error_for("", e.into()))?;
        // Only fails if already set, to the same inode.
        let _ = self.dir_ino.set(st.st_ino);
        Ok(st)
    }

    /// Backs [`crate::Process::pid`], where it is documented with every OS's source.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Backs [`crate::Process::procfs`], where it is documented with every OS's source.
    pub fn procfs(&self) -> &ProcFs {
        &self.procfs
    }

    /// Backs [`crate::Process::is_running`], where it is documented with every OS's source.
    pub fn is_running(&self) -> bool {
        // The descriptor pins the original process: once it has been reaped, reads through it
        // fail with ESRCH even if the pid now belongs to a process started in the same clock tick.
        let alive = procfs::with_buffer(|buf| {
            let read = self.read_into("stat", buf).is_ok();
            if let (true, Ok(stat)) = (read, pid_stat::parse(buf)) {
                self.note_start_ticks(stat.starttime);
            }
            read
        });
        alive && Process::open_in(&self.procfs, self.pid).is_ok_and(|now| now == *self)
    }

    /// Backs [`crate::Process::oneshot`], where it is documented with every OS's source.
    pub fn oneshot<T>(&self, f: impl FnOnce(&Process) -> T) -> T {
        let outer = {
            let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            let outer = cache.is_some();
            if !outer {
                *cache = Some(Vec::new());
            }
            outer
        };
        let out = f(self);
        if !outer {
            *self.cache.lock().unwrap_or_else(PoisonError::into_inner) = None;
        }
        out
    }

    /// Reads `/proc/PID/<name>` once (or takes it from the [`oneshot`](Self::oneshot) cache) and
    /// hands the bytes to `parse`. Errors are mapped as in [`Process::error_for`](crate::Process::error_for).
    pub(crate) fn read_file<T>(
        &self,
        name: &'static str,
        parse: impl FnOnce(&[u8]) -> Result<T, ParseError>,
    ) -> Result<T> {
        let cached = self
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|files| {
                files
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, b)| b.clone())
            });
        match cached {
            Some(Some(bytes)) => parse(&bytes).map_err(|e| e.at(self.path(name))),
            Some(None) => {
                let bytes: Arc<[u8]> = self.read_raw(name)?.into();
                if let Some(files) = self
                    .cache
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .as_mut()
                {
                    files.push((name, bytes.clone()));
                }
                parse(&bytes).map_err(|e| e.at(self.path(name)))
            }
            None => procfs::with_buffer(|buf| {
                self.read_into(name, buf)
                    .map_err(|e| self.error_for(name, e))?;
                parse(buf).map_err(|e| e.at(self.path(name)))
            }),
        }
    }

    /// Reads `/proc/PID/<name>` into a new buffer, bypassing the cache, with errors mapped.
    pub(crate) fn read_raw(&self, name: &str) -> Result<Vec<u8>> {
        let mut buf = Vec::new();
        self.read_into(name, &mut buf)
            .map_err(|e| self.error_for(name, e))?;
        Ok(buf)
    }

    /// Reads `/proc/PID/<name>` into `buf`, returning the raw OS error so that callers can treat
    /// ESRCH specially (kernel threads answer it for `smaps_rollup` and `environ`).
    pub(crate) fn read_into(&self, name: &str, buf: &mut Vec<u8>) -> io::Result<()> {
        let mut file = File::from(self.open(name, OFlags::RDONLY)?);
        match name {
            // One seq_file `show` each (`ONE()`/`single_open` in fs/proc/base.c): see
            // `read_single_show` for why a short first read is then the whole file.
            "stat" | "statm" | "status" | "comm" | "smaps_rollup" => {
                procfs::read_single_show(&mut file, buf)
            }
            _ => procfs::read_to_buffer(&mut file, buf),
        }
    }

    /// Opens `/proc/PID/<name>` relative to the process directory, close-on-exec.
    pub(crate) fn open(&self, name: &str, flags: OFlags) -> io::Result<OwnedFd> {
        Ok(rustix::fs::openat(
            &self.dir,
            name,
            flags | OFlags::CLOEXEC,
            Mode::empty(),
        )?)
    }

    /// `/proc/PID/<name>`, for error messages.
    pub(crate) fn path(&self, name: &str) -> std::path::PathBuf {
        self.procfs.proc_path(format!("{}/{name}", self.pid))
    }

    /// Maps an OS error on `/proc/PID/<name>` the way psutil does: permission errors become
    /// [`Error::AccessDenied`]; ENOENT and ESRCH become [`Error::ZombieProcess`] when the process is
    /// a zombie and [`Error::NoSuchProcess`] otherwise (including when the pid was reused).
    pub(crate) fn error_for(&self, name: &str, err: io::Error) -> Error {
        match err.raw_os_error() {
            Some(libc::ENOENT) | Some(libc::ESRCH) => {
                if self.is_zombie() {
                    Error::ZombieProcess {
                        pid: self.pid,
                        name: None,
                    }
                } else {
                    Error::NoSuchProcess {
                        pid: self.pid,
                        name: None,
                    }
                }
            }
            _ => Error::from_io(Some(self.pid), self.path(name), err),
        }
    }

    /// Whether the process behind this handle is a zombie right now (`/proc/PID/stat` state `Z`).
    fn is_zombie(&self) -> bool {
        procfs::with_buffer(|buf| {
            self.read_into("stat", buf).is_ok()
                && pid_stat::parse(buf).is_ok_and(|stat| stat.state == b'Z')
        })
    }
}

mod environ;
mod identity;
mod iter;
mod maps;
mod memory;
mod scan;

pub use iter::{pids, process_iter};
pub use maps::{MapSizes, MemoryMap};
pub use memory::{MemoryFullInfo, MemoryInfo, MemoryInfoEx};

mod ctx_switches;
mod family;
mod files;
mod net_connections;
mod rlimit;
mod sched;
mod stat;
mod threads;

pub(crate) use crate::neutral::MemType;
pub use ctx_switches::CtxSwitches;
pub use files::{IoCounters, OpenFile};
pub use net_connections::{
    Address, AddressFamily, Connection, ConnectionKind, ConnectionStatus, SocketType,
};
pub use rlimit::{Resource, Rlimit};
pub use sched::{IoClass, IoNice};
pub use stat::{CpuTimes, PageFaults};
pub use threads::Thread;
