//! Everything about one process in one record: psutil's `as_dict()`.

use std::collections::BTreeMap;
use std::ffi::OsString;
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
    /// The child's name (`None` if it could not be read). Lossy.
    pub name: Option<String>,
    /// The exact bytes of the name. Serialized as `name_bytes`, only when not UTF-8.
    #[cfg_attr(
        feature = "serde",
        serde(
            rename = "name_bytes",
            skip_serializing_if = "crate::sys::exact::utf8_or_none",
            serialize_with = "crate::sys::exact::ser::opt_bytes"
        )
    )]
    pub name_os: Option<OsString>,
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
    /// [`Process::name`]. Lossy.
    pub name: Option<String>,
    /// [`Process::name_os`]: the exact bytes. Serialized as `name_bytes`, only when not UTF-8.
    #[cfg_attr(
        feature = "serde",
        serde(
            rename = "name_bytes",
            skip_serializing_if = "crate::sys::exact::utf8_or_none",
            serialize_with = "crate::sys::exact::ser::opt_bytes"
        )
    )]
    pub name_os: Option<OsString>,
    /// [`Process::exe`]: the exact bytes. Serialized as `exe`, the path decoded as UTF-8 (U+FFFD
    /// for bytes that are not), and `exe_bytes` only when it is not UTF-8.
    #[cfg_attr(feature = "serde", serde(flatten, serialize_with = "exe_field"))]
    pub exe: Option<PathBuf>,
    /// [`Process::cwd`]: the exact bytes, serialized as `cwd` (and `cwd_bytes`) as `exe` is.
    #[cfg_attr(feature = "serde", serde(flatten, serialize_with = "cwd_field"))]
    pub cwd: Option<PathBuf>,
    /// [`Process::cmdline`]. Lossy.
    pub cmdline: Option<Vec<String>>,
    /// [`Process::cmdline_os`]: the exact bytes of each argument. Serialized as `cmdline_bytes`
    /// (an array of byte arrays), only when an argument is not UTF-8.
    #[cfg_attr(
        feature = "serde",
        serde(
            rename = "cmdline_bytes",
            skip_serializing_if = "crate::sys::exact::all_utf8_or_none",
            serialize_with = "crate::sys::exact::ser::list_bytes"
        )
    )]
    pub cmdline_os: Option<Vec<OsString>>,
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
    /// [`Process::terminal`]; `None` also when there is no terminal. Serialized as `exe` is.
    #[cfg_attr(feature = "serde", serde(flatten, serialize_with = "terminal_field"))]
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
    /// [`Process::environ`]; never another user's (the kernel denies it). Lossy.
    pub environ: Option<BTreeMap<String, String>>,
    /// [`Process::environ_os`]: the exact bytes. Serialized as `environ_bytes`, an array of
    /// `[key, value]` byte-array pairs, only when a key or value is not UTF-8.
    #[cfg_attr(
        feature = "serde",
        serde(
            rename = "environ_bytes",
            skip_serializing_if = "crate::sys::exact::map_utf8_or_none",
            serialize_with = "crate::sys::exact::ser::map_bytes"
        )
    )]
    pub environ_os: Option<BTreeMap<OsString, OsString>>,
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

#[cfg(feature = "serde")]
crate::sys::exact::ser::path_field!(exe_field, "exe");
#[cfg(feature = "serde")]
crate::sys::exact::ser::path_field!(cwd_field, "cwd");
#[cfg(feature = "serde")]
crate::sys::exact::ser::path_field!(terminal_field, "terminal");

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
            let ppid = c.take("ppid", p.ppid())?;
            let name_os = c.take("name", p.name_os())?;
            let exe = c.take("exe", p.exe())?;
            let cwd = c.take("cwd", p.cwd())?;
            let cmdline_os = c.take("cmdline", p.cmdline_os())?;
            Ok(ProcessInfo {
                pid: p.pid(),
                ppid,
                name: name_os.as_ref().map(crate::sys::exact::lossy),
                name_os,
                exe,
                cwd,
                cmdline: cmdline_os
                    .as_ref()
                    .map(|args| args.iter().map(crate::sys::exact::lossy).collect()),
                cmdline_os,
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
                environ: None,
                environ_os: c.take("environ", p.environ_os())?,
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
                        .map(|k| {
                            let name_os = k.name_os().ok();
                            Child {
                                pid: k.pid(),
                                name: name_os.as_ref().map(crate::sys::exact::lossy),
                                name_os,
                            }
                        })
                        .collect()
                }),
                page_faults: c.take("page_faults", p.page_faults())?,
                access_denied: std::mem::take(&mut c.denied),
            })
            .map(|mut info| {
                info.environ = info.environ_os.as_ref().map(|env| {
                    env.iter()
                        .map(|(k, v)| (crate::sys::exact::lossy(k), crate::sys::exact::lossy(v)))
                        .collect()
                });
                info
            })
        })
    }
}
