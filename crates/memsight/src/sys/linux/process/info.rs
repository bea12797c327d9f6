//! Everything about one process in one record: psutil's `as_dict()`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::process::{Gids, Uids};
use crate::sys::process::{
    Connection, ConnectionKind, CpuTimes, CtxSwitches, IoCounters, IoNice, MemType, MemoryFullInfo,
    MemoryInfo, MemoryMap, OpenFile, PageFaults, Process, ProcessStatus, Rlimit, Thread,
};

/// A child process in [`ProcessInfo::children`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Child {
    /// The child's pid.
    pub pid: u32,
    /// The child's name (`None` if it could not be read).
    pub name: Option<String>,
}

/// Every field psutil's `as_dict()` fills, plus `rlimit`, `children` and `page_faults`, read in
/// one [`Process::oneshot`] pass. A field that could not be read because access was denied (or
/// the process is a zombie, for the getters psutil refuses on zombies) is `None` and its name is
/// in `access_denied`. A field this kernel does not provide ([`Error::Unsupported`], psutil's
/// NotImplementedError: `io_counters` without task I/O accounting) is `None` and not listed; the
/// record is still returned. Serialized, the keys are psutil's.
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ProcessInfo {
    /// The process id.
    pub pid: u32,
    /// [`Process::ppid`].
    pub ppid: Option<u32>,
    /// [`Process::name`].
    pub name: Option<String>,
    /// [`Process::exe`].
    pub exe: Option<PathBuf>,
    /// [`Process::cwd`].
    pub cwd: Option<PathBuf>,
    /// [`Process::cmdline`].
    pub cmdline: Option<Vec<String>>,
    /// [`Process::create_time`], seconds since the epoch.
    pub create_time: Option<f64>,
    /// [`Process::status`].
    pub status: Option<ProcessStatus>,
    /// [`Process::nice`].
    pub nice: Option<i32>,
    /// [`Process::ionice`].
    pub ionice: Option<IoNice>,
    /// [`Process::num_threads`].
    pub num_threads: Option<u64>,
    /// [`Process::num_fds`].
    pub num_fds: Option<usize>,
    /// [`Process::username`].
    pub username: Option<String>,
    /// [`Process::uids`].
    pub uids: Option<Uids>,
    /// [`Process::gids`].
    pub gids: Option<Gids>,
    /// [`Process::terminal`]; `None` also when there is no terminal.
    pub terminal: Option<PathBuf>,
    /// [`Process::cpu_affinity`].
    pub cpu_affinity: Option<Vec<u32>>,
    /// [`Process::cpu_num`].
    pub cpu_num: Option<u32>,
    /// [`Process::cpu_times`].
    pub cpu_times: Option<CpuTimes>,
    /// [`Process::memory_info`].
    pub memory_info: Option<MemoryInfo>,
    /// [`Process::memory_full_info`] (USS, PSS, swap from smaps_rollup).
    pub memory_full_info: Option<MemoryFullInfo>,
    /// [`Process::memory_percent`] of RSS, as psutil's `as_dict`.
    pub memory_percent: Option<f64>,
    /// [`Process::memory_maps`], grouped by path as psutil's `as_dict`.
    pub memory_maps: Option<Vec<MemoryMap>>,
    /// [`Process::environ`]; never another user's (the kernel denies it).
    pub environ: Option<BTreeMap<String, String>>,
    /// [`Process::io_counters`]; `None` (and not in `access_denied`) on a kernel without task
    /// I/O accounting, which has no `/proc/PID/io`.
    pub io_counters: Option<IoCounters>,
    /// [`Process::num_ctx_switches`].
    pub num_ctx_switches: Option<CtxSwitches>,
    /// [`Process::open_files`].
    pub open_files: Option<Vec<OpenFile>>,
    /// [`Process::net_connections`] of kind `inet`, as psutil's `as_dict`.
    pub net_connections: Option<Vec<Connection>>,
    /// [`Process::threads`].
    pub threads: Option<Vec<Thread>>,
    /// [`Process::rlimits`], keyed by the lower-case name without `RLIMIT_`.
    pub rlimit: Option<BTreeMap<&'static str, Rlimit>>,
    /// [`Process::children`] (direct ones), pid and name.
    pub children: Option<Vec<Child>>,
    /// [`Process::page_faults`].
    pub page_faults: Option<PageFaults>,
    /// The fields above that could not be read (access denied, or refused for a zombie).
    pub access_denied: Vec<&'static str>,
}

/// Collects one field: denial and zombie refusal leave it `None` and named; an unsupported
/// field is left out silently (psutil drops NotImplementedError); a gone process ends the record.
struct Collector {
    denied: Vec<&'static str>,
}

impl Collector {
    fn take<T>(&mut self, name: &'static str, result: Result<T>) -> Result<Option<T>> {
        match result {
            Ok(v) => Ok(Some(v)),
            Err(Error::AccessDenied { .. } | Error::ZombieProcess { .. }) => {
                self.denied.push(name);
                Ok(None)
            }
            Err(Error::Unsupported(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl Process {
    /// Every field at once, inside one [`oneshot`](Process::oneshot): psutil's `as_dict()` with
    /// `rlimit`, `children` and `page_faults` added. Fails only with [`Error::NoSuchProcess`]
    /// (the process went away) or an unreadable kernel file; fields that may not be read are
    /// listed in [`ProcessInfo::access_denied`].
    ///
    /// ```
    /// let info = memsight::Process::current()?.info()?;
    /// assert_eq!(info.pid, std::process::id());
    /// assert!(info.access_denied.is_empty());
    /// # Ok::<(), memsight::Error>(())
    /// ```
    pub fn info(&self) -> Result<ProcessInfo> {
        self.oneshot(|p| {
            let mut c = Collector { denied: Vec::new() };
            Ok(ProcessInfo {
                pid: p.pid(),
                ppid: c.take("ppid", p.ppid())?,
                name: c.take("name", p.name())?,
                exe: c.take("exe", p.exe())?,
                cwd: c.take("cwd", p.cwd())?,
                cmdline: c.take("cmdline", p.cmdline())?,
                create_time: c.take("create_time", p.create_time())?,
                status: c.take("status", p.status())?,
                nice: c.take("nice", p.nice())?,
                ionice: c.take("ionice", p.ionice())?,
                num_threads: c.take("num_threads", p.num_threads())?,
                num_fds: c.take("num_fds", p.num_fds())?,
                username: c.take("username", p.username())?,
                uids: c.take("uids", p.uids())?,
                gids: c.take("gids", p.gids())?,
                terminal: c.take("terminal", p.terminal())?.flatten(),
                cpu_affinity: c.take("cpu_affinity", p.cpu_affinity())?,
                cpu_num: c.take("cpu_num", p.cpu_num())?,
                cpu_times: c.take("cpu_times", p.cpu_times())?,
                memory_info: c.take("memory_info", p.memory_info())?,
                memory_full_info: c.take("memory_full_info", p.memory_full_info())?,
                memory_percent: c.take("memory_percent", p.memory_percent(MemType::Rss))?,
                memory_maps: c.take("memory_maps", p.memory_maps(true))?,
                environ: c.take("environ", p.environ())?,
                io_counters: c.take("io_counters", p.io_counters())?,
                num_ctx_switches: c.take("num_ctx_switches", p.num_ctx_switches())?,
                open_files: c.take("open_files", p.open_files())?,
                net_connections: c
                    .take("net_connections", p.net_connections(ConnectionKind::Inet))?,
                threads: c.take("threads", p.threads())?,
                rlimit: c
                    .take("rlimit", p.rlimits())?
                    .map(|all| all.into_iter().map(|(r, l)| (r.name(), l)).collect()),
                children: c.take("children", p.children(false))?.map(|kids| {
                    kids.iter()
                        .map(|k| Child {
                            pid: k.pid(),
                            name: k.name().ok(),
                        })
                        .collect()
                }),
                page_faults: c.take("page_faults", p.page_faults())?,
                access_denied: std::mem::take(&mut c.denied),
            })
        })
    }
}
