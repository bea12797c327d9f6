//! One scan: everything the exporter exports, read from the `memsight` library.
//!
//! A scan never fails as a whole: each source that cannot be read is left out of the snapshot
//! and counted in [`Errors`], so one unreadable file costs some series, not the scrape.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use memsight::linux::{CgroupMemory, MeminfoField, ProcFs};
use memsight::{SwapMemory, VirtualMemory};

use super::{Args, GroupBy, Top};

/// What a scan collects and how it is shaped, from the command line.
#[derive(Debug, Clone)]
pub struct Options {
    /// How processes are grouped.
    pub group_by: GroupBy,
    /// Which processes get their own series.
    pub top: Top,
    /// Whether per-process series carry the command line.
    pub cmdline: bool,
    /// Where /proc and /sys are read.
    pub procfs: ProcFs,
    /// How long a finished scan is served again.
    pub max_age: Duration,
    /// Which cgroups get series.
    pub cgroups: super::cgroups::CgroupArgs,
}

impl From<&Args> for Options {
    fn from(args: &Args) -> Self {
        Options {
            group_by: args.group_by,
            top: args.top,
            cmdline: args.cmdline,
            max_age: args.max_age,
            cgroups: args.cgroups.clone(),
            procfs: ProcFs::new(
                args.procfs
                    .clone()
                    .unwrap_or_else(|| PathBuf::from("/proc")),
            )
            .with_sys_root(args.sysfs.clone().unwrap_or_else(|| PathBuf::from("/sys"))),
        }
    }
}

/// The memory of one process, in bytes. `None` where the figure could not be read (USS, PSS and
/// swap need `smaps_rollup`, which only the owner and root may read).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProcessSample {
    /// Process id.
    pub pid: u32,
    /// Process name (`/proc/PID/stat` comm, as psutil's `name()`).
    pub name: String,
    /// Owner's user name, or the numeric uid when it has no name.
    pub user: String,
    /// Command line joined by spaces, collected only with `--cmdline`.
    pub cmdline: Option<String>,
    /// Unique set size.
    pub uss: Option<u64>,
    /// Proportional set size.
    pub pss: Option<u64>,
    /// Swapped-out memory.
    pub swap: Option<u64>,
    /// Resident set size.
    pub rss: u64,
    /// Virtual memory size.
    pub vms: u64,
}

/// Why something was left out of a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ErrorKind {
    /// The process exited between being listed and being read.
    Vanished,
    /// Reading the process was not permitted.
    Denied,
    /// Any other failure on a process's files (I/O or parse error).
    ProcessOther,
    /// A system-wide source (meminfo, swap, cgroup, the pid list) failed.
    System,
}

impl ErrorKind {
    /// Every kind, in exposition order.
    pub const ALL: [ErrorKind; 4] = [
        ErrorKind::Vanished,
        ErrorKind::Denied,
        ErrorKind::ProcessOther,
        ErrorKind::System,
    ];

    /// The `reason` label value.
    pub fn label(self) -> &'static str {
        match self {
            ErrorKind::Vanished => "vanished",
            ErrorKind::Denied => "denied",
            ErrorKind::ProcessOther => "process_other",
            ErrorKind::System => "system",
        }
    }

    /// Classifies a library error met while reading a process.
    pub fn of_process_error(err: &memsight::Error) -> ErrorKind {
        match err {
            memsight::Error::NoSuchProcess { .. } | memsight::Error::ZombieProcess { .. } => {
                ErrorKind::Vanished
            }
            memsight::Error::AccessDenied { .. } => ErrorKind::Denied,
            _ => ErrorKind::ProcessOther,
        }
    }
}

/// How many things of each [`ErrorKind`] a scan left out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Errors([u64; ErrorKind::ALL.len()]);

impl Errors {
    /// Counts one error of `kind`.
    pub fn add(&mut self, kind: ErrorKind) {
        self.0[kind as usize] += 1;
    }

    /// The count for `kind`.
    pub fn get(&self, kind: ErrorKind) -> u64 {
        self.0[kind as usize]
    }

    /// Adds every count of `other` to this one.
    pub fn absorb(&mut self, other: &Errors) {
        for (mine, theirs) in self.0.iter_mut().zip(other.0) {
            *mine = mine.saturating_add(theirs);
        }
    }
}

/// The exporter's own process, for the standard `process_*` metrics (those the Prometheus
/// client libraries export). Each figure is `None` when it could not be read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OwnProcess {
    /// Resident set size in bytes (statm).
    pub rss: u64,
    /// Virtual memory size in bytes (statm).
    pub vms: u64,
    /// User plus system CPU time in seconds (`/proc/self/stat`).
    pub cpu_seconds: Option<f64>,
    /// Open file descriptors (entries of `/proc/self/fd`).
    pub open_fds: Option<u64>,
    /// The soft `RLIMIT_NOFILE` (`/proc/self/limits`); `None` also when unlimited.
    pub max_fds: Option<u64>,
    /// Start time in seconds since the Unix epoch.
    pub start_time: Option<f64>,
    /// Number of threads.
    pub threads: Option<u64>,
}

/// Everything one scan read.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Every line of `/proc/meminfo` (empty if it could not be read).
    pub meminfo: Vec<MeminfoField>,
    /// System memory as procps `free` computes it.
    pub virtual_memory: Option<VirtualMemory>,
    /// Swap, with the swap-in/out counters of `/proc/vmstat`.
    pub swap: Option<SwapMemory>,
    /// The exporter's memory cgroup, when one with a limit applies.
    pub cgroup: Option<CgroupMemory>,
    /// Every memory cgroup to export, and the system-wide pressure.
    pub cgroups: super::cgroups::Walked,
    /// Processes whose memory could be read (kernel threads excluded: they have none).
    pub processes: Vec<ProcessSample>,
    /// The exporter itself, when it could be read.
    pub own: Option<OwnProcess>,
    /// What was left out, by reason.
    pub errors: Errors,
    /// Wall time the scan took.
    pub duration: Duration,
}

/// Runs one scan. Blocking: call it off the async runtime.
pub fn scan(options: &Options) -> Snapshot {
    let started = Instant::now();
    let mut snap = Snapshot::default();
    let procfs = &options.procfs;
    let errors = &mut snap.errors;
    snap.meminfo = system(errors, procfs.meminfo()).unwrap_or_default();
    snap.virtual_memory = system(errors, procfs.virtual_memory());
    snap.swap = system(errors, procfs.swap_memory());
    snap.cgroup = system(errors, procfs.cgroup_memory())
        .flatten()
        .filter(|cg| cg.limit.is_some());
    snap.cgroups = super::cgroups::scan(&options.cgroups, procfs, errors);
    snap.processes = processes(options, &mut snap.errors);
    snap.own = own_process(&mut snap.errors);
    snap.duration = started.elapsed();
    snap
}

/// The value of a system-wide read, counting its failure.
fn system<T>(errors: &mut Errors, read: memsight::Result<T>) -> Option<T> {
    read.map_err(|_| errors.add(ErrorKind::System)).ok()
}

fn own_process(errors: &mut Errors) -> Option<OwnProcess> {
    let read = || -> memsight::Result<OwnProcess> {
        let me = memsight::Process::current()?;
        me.oneshot(|me| {
            let mem = me.memory_info()?;
            Ok(OwnProcess {
                rss: mem.rss,
                vms: mem.vms,
                cpu_seconds: me.cpu_times().ok().map(|t| t.user + t.system),
                open_fds: me.num_fds().ok().map(|n| n as u64),
                max_fds: me
                    .rlimit(memsight::process::Resource::Nofile)
                    .ok()
                    .and_then(|l| l.soft),
                start_time: me.create_time().ok(),
                threads: me.num_threads().ok(),
            })
        })
    };
    match read() {
        Ok(own) => Some(own),
        Err(_) => {
            errors.add(ErrorKind::System);
            None
        }
    }
}

/// Reads every process's memory through the library's parallel scan. Processes whose
/// `smaps_rollup` this user may not read still get RSS and VMS (statm is world-readable) and are
/// counted as denied; pids the scan skipped are counted as vanished when they no longer exist
/// (the others it skips on purpose: kernel threads, zombies, processes with no private memory).
fn processes(options: &Options, errors: &mut Errors) -> Vec<ProcessSample> {
    let procfs = &options.procfs;
    let Some(pids) = system(errors, procfs.pids()) else {
        return Vec::new();
    };
    let scan = procfs.memory_scan(&pids);
    let cmdline = |args: &[String]| {
        options
            .cmdline
            .then(|| truncated(args.join(" "), MAX_CMDLINE))
    };
    let mut out: Vec<ProcessSample> = scan
        .processes
        .iter()
        .map(|p| ProcessSample {
            pid: p.pid,
            name: p.name.clone(),
            user: p.username.clone(),
            cmdline: cmdline(&p.cmdline),
            uss: Some(p.uss),
            pss: Some(p.pss),
            swap: Some(p.swap),
            rss: p.rss,
            vms: p.vms,
        })
        .collect();
    for (_, err) in &scan.errors {
        errors.add(ErrorKind::of_process_error(err));
    }
    for &pid in &scan.access_denied {
        errors.add(ErrorKind::Denied);
        let read = procfs.process(pid).and_then(|p| {
            p.oneshot(|p| -> memsight::Result<ProcessSample> {
                let mem = p.memory_info()?;
                Ok(ProcessSample {
                    pid,
                    name: p.name()?,
                    user: p.username()?,
                    cmdline: if options.cmdline {
                        cmdline(&p.cmdline()?)
                    } else {
                        None
                    },
                    uss: None,
                    pss: None,
                    swap: None,
                    rss: mem.rss,
                    vms: mem.vms,
                })
            })
        });
        // An error here is not counted again: the pid is already counted as denied.
        if let Ok(sample) = read {
            out.push(sample);
        }
    }
    let reported: std::collections::HashSet<u32> = scan
        .processes
        .iter()
        .map(|p| p.pid)
        .chain(scan.access_denied.iter().copied())
        .chain(scan.errors.iter().map(|(pid, _)| *pid))
        .collect();
    for &pid in pids.iter().filter(|pid| !reported.contains(pid)) {
        if let Err(memsight::Error::NoSuchProcess { .. }) = procfs.process(pid) {
            errors.add(ErrorKind::Vanished);
        }
    }
    out.sort_by_key(|p| p.pid);
    out
}

/// Longest command line exported with `--cmdline`, in bytes.
const MAX_CMDLINE: usize = 256;

/// `s` cut to at most `max` bytes on a character boundary.
fn truncated(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}
