//! Everything about one process in one record: psutil's `as_dict()`, on every OS, through one
//! [`Collector`] (so one rule decides what counts as denied).

use std::collections::BTreeMap;
#[cfg(target_os = "linux")]
use std::ffi::OsString;
use std::path::PathBuf;

use crate::error::{Error, Result};
#[cfg(target_os = "linux")]
use crate::linux::IoNice;
#[cfg(any(target_os = "linux", windows, target_os = "freebsd"))]
use crate::process::IoCounters;
#[cfg(not(target_os = "linux"))]
use crate::process::MemoryInfoEx;
#[cfg(any(target_os = "linux", target_os = "macos", target_os = "freebsd"))]
use crate::process::OpenFile;
#[cfg(any(target_os = "linux", windows))]
use crate::process::Thread;
#[cfg(target_os = "linux")]
use crate::process::{Connection, ConnectionKind, CtxSwitches, PageFaults, Rlimit};
use crate::process::{
    CpuTimes, MemType, MemoryFullInfo, MemoryInfo, MemoryMap, Process, ProcessStatus,
};
#[cfg(unix)]
use crate::process::{Gids, Uids};

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
    #[cfg(target_os = "linux")]
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
    #[cfg(target_os = "linux")]
    pub name_os: Option<OsString>,
    /// [`Process::exe`]: the exact bytes. Serialized as `exe`, the path decoded as UTF-8 (U+FFFD
    /// for bytes that are not), and `exe_bytes` only when it is not UTF-8.
    #[cfg_attr(
        all(feature = "serde", target_os = "linux"),
        serde(flatten, serialize_with = "exe_field")
    )]
    pub exe: Option<PathBuf>,
    /// [`Process::cwd`]: the exact bytes, serialized as `cwd` (and `cwd_bytes`) as `exe` is.
    #[cfg_attr(
        all(feature = "serde", target_os = "linux"),
        serde(flatten, serialize_with = "cwd_field")
    )]
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
    #[cfg(target_os = "linux")]
    pub cmdline_os: Option<Vec<OsString>>,
    /// [`Process::create_time`], seconds since the epoch.
    pub create_time: Option<f64>,
    /// [`Process::status`].
    pub status: Option<ProcessStatus>,
    /// [`Process::nice`].
    #[cfg(target_os = "linux")]
    pub nice: Option<i32>,
    /// [`Process::ionice`].
    #[cfg(target_os = "linux")]
    pub ionice: Option<IoNice>,
    /// [`Process::num_threads`].
    pub num_threads: Option<u64>,
    /// [`Process::num_handles`]. Windows only.
    #[cfg(windows)]
    pub num_handles: Option<u64>,
    /// [`Process::num_fds`].
    #[cfg(unix)]
    pub num_fds: Option<usize>,
    /// [`Process::username`].
    pub username: Option<String>,
    /// [`Process::uids`].
    #[cfg(unix)]
    pub uids: Option<Uids>,
    /// [`Process::gids`].
    #[cfg(unix)]
    pub gids: Option<Gids>,
    /// [`Process::terminal`]; `None` also when there is no terminal. Serialized as `exe` is.
    #[cfg_attr(feature = "serde", serde(flatten, serialize_with = "terminal_field"))]
    #[cfg(target_os = "linux")]
    pub terminal: Option<PathBuf>,
    /// [`Process::cpu_affinity`].
    #[cfg(target_os = "linux")]
    pub cpu_affinity: Option<Vec<u32>>,
    /// [`Process::cpu_num`].
    #[cfg(target_os = "linux")]
    pub cpu_num: Option<u32>,
    /// [`Process::cpu_times`].
    pub cpu_times: Option<CpuTimes>,
    /// [`Process::memory_info`].
    pub memory_info: Option<MemoryInfo>,
    /// [`Process::memory_info_ex`]. Not on Linux, whose record has kept psutil's `as_dict()` keys
    /// (its `memory_info_ex` figures are the `status` lines).
    #[cfg(not(target_os = "linux"))]
    pub memory_info_ex: Option<MemoryInfoEx>,
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
    #[cfg(target_os = "linux")]
    pub environ_os: Option<BTreeMap<OsString, OsString>>,
    /// [`Process::io_counters`]; `None` (and not in `access_denied`) on a kernel without task
    /// I/O accounting, which has no `/proc/PID/io`.
    #[cfg(any(target_os = "linux", windows, target_os = "freebsd"))]
    pub io_counters: Option<IoCounters>,
    /// [`Process::num_ctx_switches`].
    #[cfg(target_os = "linux")]
    pub num_ctx_switches: Option<CtxSwitches>,
    /// [`Process::open_files`].
    #[cfg(any(target_os = "linux", target_os = "macos", target_os = "freebsd"))]
    pub open_files: Option<Vec<OpenFile>>,
    /// [`Process::net_connections`] of kind `inet`, as psutil's `as_dict`.
    #[cfg(target_os = "linux")]
    pub net_connections: Option<Vec<Connection>>,
    /// [`Process::threads`].
    #[cfg(any(target_os = "linux", windows))]
    pub threads: Option<Vec<Thread>>,
    /// [`Process::rlimits`], keyed by the lower-case name without `RLIMIT_`.
    #[cfg(target_os = "linux")]
    pub rlimit: Option<BTreeMap<&'static str, Rlimit>>,
    /// [`Process::children`] (direct ones), pid and name.
    pub children: Option<Vec<Child>>,
    /// [`Process::page_faults`].
    #[cfg(target_os = "linux")]
    pub page_faults: Option<PageFaults>,
    /// The fields above that could not be read (access denied, or refused for a zombie).
    pub access_denied: Vec<&'static str>,
}

#[cfg(all(feature = "serde", target_os = "linux"))]
crate::sys::exact::ser::path_field!(exe_field, "exe");
#[cfg(all(feature = "serde", target_os = "linux"))]
crate::sys::exact::ser::path_field!(cwd_field, "cwd");
#[cfg(all(feature = "serde", target_os = "linux"))]
crate::sys::exact::ser::path_field!(terminal_field, "terminal");

/// Collects one field, the same way on every OS: a field refused for access (or for a zombie:
/// [`Error::ZombieProcess`], or [`Error::NoSuchProcess`] from a process that is in fact a zombie,
/// as some systems answer for a zombie's files) is `None` and named in `access_denied`; an
/// unsupported one is left out silently (psutil drops NotImplementedError); a gone process ends
/// the record.
struct Collector<'a> {
    process: &'a Process,
    denied: Vec<&'static str>,
}

impl Collector<'_> {
    fn take<T>(&mut self, name: &'static str, result: Result<T>) -> Result<Option<T>> {
        match result {
            Ok(v) => Ok(Some(v)),
            Err(Error::AccessDenied { .. } | Error::ZombieProcess { .. }) => {
                self.denied.push(name);
                Ok(None)
            }
            Err(Error::NoSuchProcess { .. })
                if self.process.status().ok() == Some(ProcessStatus::Zombie) =>
            {
                self.denied.push(name);
                Ok(None)
            }
            Err(Error::Unsupported(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// The lossy text of exact bytes (Linux keeps both).
#[cfg(target_os = "linux")]
fn lossy(s: &OsString) -> String {
    crate::sys::exact::lossy(s)
}

impl Process {
    /// Every field at once, inside one [`oneshot`](Process::oneshot): psutil's `as_dict()` with
    /// `children` added (and on Linux `rlimit` and `page_faults`). Fails only with
    /// [`Error::NoSuchProcess`] (the process went away) or an unreadable kernel source; fields
    /// that may not be read are listed in [`ProcessInfo::access_denied`]. Each field is the
    /// getter of the same name, so its per-OS source is the getter's; a field the OS does not
    /// have is not in the record.
    ///
    /// ```
    /// let info = memsight::Process::current()?.info()?;
    /// assert_eq!(info.pid, std::process::id());
    /// assert!(info.access_denied.is_empty());
    /// # Ok::<(), memsight::Error>(())
    /// ```
    pub fn info(&self) -> Result<ProcessInfo> {
        self.oneshot(|p| {
            let mut c = Collector {
                process: p,
                denied: Vec::new(),
            };
            let ppid = c.take("ppid", p.ppid())?;
            #[cfg(target_os = "linux")]
            let name_os = c.take("name", p.name_os())?;
            #[cfg(target_os = "linux")]
            let name = name_os.as_ref().map(lossy);
            #[cfg(not(target_os = "linux"))]
            let name = c.take("name", p.name())?;
            let exe = c.take("exe", p.exe())?;
            let cwd = c.take("cwd", p.cwd())?;
            #[cfg(target_os = "linux")]
            let cmdline_os = c.take("cmdline", p.cmdline_os())?;
            #[cfg(target_os = "linux")]
            let cmdline = cmdline_os
                .as_ref()
                .map(|args| args.iter().map(lossy).collect());
            #[cfg(not(target_os = "linux"))]
            let cmdline = c.take("cmdline", p.cmdline())?;
            let info = ProcessInfo {
                pid: p.pid(),
                ppid,
                name,
                #[cfg(target_os = "linux")]
                name_os,
                exe,
                cwd,
                cmdline,
                #[cfg(target_os = "linux")]
                cmdline_os,
                create_time: c.take("create_time", p.create_time())?,
                status: c.take("status", p.status())?,
                #[cfg(target_os = "linux")]
                nice: c.take("nice", p.nice())?,
                #[cfg(target_os = "linux")]
                ionice: c.take("ionice", p.ionice())?,
                num_threads: c.take("num_threads", p.num_threads())?,
                #[cfg(windows)]
                num_handles: c.take("num_handles", p.num_handles())?,
                #[cfg(unix)]
                num_fds: c.take("num_fds", p.num_fds())?,
                username: c.take("username", p.username())?,
                #[cfg(unix)]
                uids: c.take("uids", p.uids())?,
                #[cfg(unix)]
                gids: c.take("gids", p.gids())?,
                #[cfg(target_os = "linux")]
                terminal: c.take("terminal", p.terminal())?.flatten(),
                #[cfg(target_os = "linux")]
                cpu_affinity: c.take("cpu_affinity", p.cpu_affinity())?,
                #[cfg(target_os = "linux")]
                cpu_num: c.take("cpu_num", p.cpu_num())?,
                cpu_times: c.take("cpu_times", p.cpu_times())?,
                memory_info: c.take("memory_info", p.memory_info())?,
                #[cfg(not(target_os = "linux"))]
                memory_info_ex: c.take("memory_info_ex", p.memory_info_ex())?,
                memory_full_info: c.take("memory_full_info", p.memory_full_info())?,
                memory_percent: c.take("memory_percent", p.memory_percent(MemType::Rss))?,
                memory_maps: c.take("memory_maps", p.memory_maps(true))?,
                #[cfg(target_os = "linux")]
                environ: None,
                #[cfg(not(target_os = "linux"))]
                environ: c.take("environ", p.environ())?,
                #[cfg(target_os = "linux")]
                environ_os: c.take("environ", p.environ_os())?,
                #[cfg(any(target_os = "linux", windows, target_os = "freebsd"))]
                io_counters: c.take("io_counters", p.io_counters())?,
                #[cfg(target_os = "linux")]
                num_ctx_switches: c.take("num_ctx_switches", p.num_ctx_switches())?,
                #[cfg(any(target_os = "linux", target_os = "macos", target_os = "freebsd"))]
                open_files: c.take("open_files", p.open_files())?,
                #[cfg(target_os = "linux")]
                net_connections: c
                    .take("net_connections", p.net_connections(ConnectionKind::Inet))?,
                #[cfg(any(target_os = "linux", windows))]
                threads: c.take("threads", p.threads())?,
                #[cfg(target_os = "linux")]
                rlimit: c
                    .take("rlimit", p.rlimits())?
                    .map(|all| all.into_iter().map(|(r, l)| (r.name(), l)).collect()),
                children: c
                    .take("children", p.children(false))?
                    .map(|kids| kids.iter().map(Child::of).collect()),
                #[cfg(target_os = "linux")]
                page_faults: c.take("page_faults", p.page_faults())?,
                access_denied: std::mem::take(&mut c.denied),
            };
            #[cfg(target_os = "linux")]
            let info = ProcessInfo {
                environ: info
                    .environ_os
                    .as_ref()
                    .map(|env| env.iter().map(|(k, v)| (lossy(k), lossy(v))).collect()),
                ..info
            };
            Ok(info)
        })
    }
}

impl Child {
    /// A child's pid and name (`None` if the name could not be read).
    fn of(k: &Process) -> Child {
        #[cfg(target_os = "linux")]
        {
            let name_os = k.name_os().ok();
            Child {
                pid: k.pid(),
                name: name_os.as_ref().map(lossy),
                name_os,
            }
        }
        #[cfg(not(target_os = "linux"))]
        Child {
            pid: k.pid(),
            name: k.name().ok(),
        }
    }
}
