//! `memsight info [PID] [--json]` outside Linux: everything the library's backend knows about one
//! process, in procinfo's layout, or one JSON object with psutil's `as_dict()` keys. A field that
//! could not be read (access denied) is `null` and named in `access_denied`; a field the OS does
//! not have is not a key at all. None here has terminal, nice, ionice, rlimit, connections, page
//! faults, context switches or CPU affinity; Windows alone has `num_handles`; macOS and FreeBSD
//! alone have `uids`, `gids` and `num_fds`; `io_counters` is on Windows and FreeBSD (counts only),
//! `threads` on Windows only.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use serde::Serialize;

#[cfg(any(windows, target_os = "freebsd"))]
use memsight::process::IoCounters;
#[cfg(windows)]
use memsight::process::Thread;
use memsight::process::{CpuTimes, ProcessStatus};
use memsight::{
    Error, MemType, MemoryFullInfo, MemoryInfo, MemoryInfoEx, MemoryMap, Process, Result,
};
#[cfg(any(target_os = "macos", target_os = "freebsd"))]
use memsight::{Gids, Uids};

use crate::Host;
use crate::output::{self, bytes2human, format_time, sanitize};

/// Rows shown per table unless `--verbose` (procinfo's `NON_VERBOSE_ITERATIONS`).
const SHORT_TABLE: usize = 4;

/// Options of `memsight info`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The process id (default: memsight itself).
    pub pid: Option<u32>,
    /// Print one JSON object with psutil's `as_dict()` keys that this OS has, plus `children`,
    /// `memory_info_ex` and `access_denied` (the fields that could not be read; they are null).
    #[arg(long)]
    pub json: bool,
    /// Show every row of the threads, environ and mem-maps tables, not the first 4.
    #[arg(short, long)]
    pub verbose: bool,
}

/// A child process in [`Info::children`].
#[derive(Debug, Serialize)]
struct Child {
    pid: u32,
    name: Option<String>,
}

/// psutil's `as_dict()` for this OS, with the Linux record's key names and order.
#[derive(Debug, Serialize)]
struct Info {
    pid: u32,
    ppid: Option<u32>,
    name: Option<String>,
    exe: Option<PathBuf>,
    cwd: Option<PathBuf>,
    cmdline: Option<Vec<String>>,
    create_time: Option<f64>,
    status: Option<ProcessStatus>,
    num_threads: Option<u64>,
    #[cfg(windows)]
    num_handles: Option<u64>,
    #[cfg(any(target_os = "macos", target_os = "freebsd"))]
    num_fds: Option<usize>,
    username: Option<String>,
    #[cfg(any(target_os = "macos", target_os = "freebsd"))]
    uids: Option<Uids>,
    #[cfg(any(target_os = "macos", target_os = "freebsd"))]
    gids: Option<Gids>,
    cpu_times: Option<CpuTimes>,
    memory_info: Option<MemoryInfo>,
    memory_info_ex: Option<MemoryInfoEx>,
    memory_full_info: Option<MemoryFullInfo>,
    memory_percent: Option<f64>,
    memory_maps: Option<Vec<MemoryMap>>,
    environ: Option<BTreeMap<String, String>>,
    #[cfg(any(windows, target_os = "freebsd"))]
    io_counters: Option<IoCounters>,
    #[cfg(windows)]
    threads: Option<Vec<Thread>>,
    children: Option<Vec<Child>>,
    access_denied: Vec<&'static str>,
}

/// Collects one field: a denied one is `None` and named, an unsupported one `None` alone; a gone
/// process (or any other error) ends the record, as in the library's Linux `Process::info`.
#[derive(Default)]
struct Collector {
    denied: Vec<&'static str>,
}

impl Collector {
    fn take<T>(&mut self, name: &'static str, result: Result<T>) -> Result<Option<T>> {
        match result {
            Ok(v) => Ok(Some(v)),
            Err(Error::AccessDenied { .. }) => {
                self.denied.push(name);
                Ok(None)
            }
            Err(Error::Unsupported(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

fn info(p: &Process) -> Result<Info> {
    let mut c = Collector::default();
    Ok(Info {
        pid: p.pid(),
        ppid: c.take("ppid", p.ppid())?,
        name: c.take("name", p.name())?,
        exe: c.take("exe", p.exe())?,
        cwd: c.take("cwd", p.cwd())?,
        cmdline: c.take("cmdline", p.cmdline())?,
        create_time: c.take("create_time", p.create_time())?,
        status: c.take("status", p.status())?,
        num_threads: c.take("num_threads", p.num_threads())?,
        #[cfg(windows)]
        num_handles: c.take("num_handles", p.num_handles())?,
        #[cfg(any(target_os = "macos", target_os = "freebsd"))]
        num_fds: c.take("num_fds", p.num_fds())?,
        username: c.take("username", p.username())?,
        #[cfg(any(target_os = "macos", target_os = "freebsd"))]
        uids: c.take("uids", p.uids())?,
        #[cfg(any(target_os = "macos", target_os = "freebsd"))]
        gids: c.take("gids", p.gids())?,
        cpu_times: c.take("cpu_times", p.cpu_times())?,
        memory_info: c.take("memory_info", p.memory_info())?,
        memory_info_ex: c.take("memory_info_ex", p.memory_info_ex())?,
        memory_full_info: c.take("memory_full_info", p.memory_full_info())?,
        memory_percent: c.take("memory_percent", p.memory_percent(MemType::Rss))?,
        memory_maps: c.take("memory_maps", p.memory_maps(true))?,
        environ: c.take("environ", p.environ())?,
        #[cfg(any(windows, target_os = "freebsd"))]
        io_counters: c.take("io_counters", p.io_counters())?,
        #[cfg(windows)]
        threads: c.take("threads", p.threads())?,
        children: c.take("children", p.children(false))?.map(|kids| {
            kids.iter()
                .map(|k| Child {
                    pid: k.pid(),
                    name: k.name().ok(),
                })
                .collect()
        }),
        access_denied: c.denied,
    })
}

/// Runs `memsight info`.
pub fn run(args: &Args, _host: &Host, out: &mut impl Write) -> anyhow::Result<()> {
    let pid = args.pid.unwrap_or_else(std::process::id);
    let process = Process::new(pid)?;
    let info = info(&process)?;
    if args.json {
        output::write_json(out, &info, true)?;
        return Ok(());
    }
    let parent = process.parent().ok().flatten().and_then(|p| p.name().ok());
    Printer {
        out,
        verbose: args.verbose,
    }
    .print(&info, parent.as_deref())?;
    Ok(())
}

struct Printer<'a, W: Write> {
    out: &'a mut W,
    verbose: bool,
}

impl<W: Write> Printer<'_, W> {
    /// procinfo's `print_`: `{:<11} {}`, the value sanitised (it comes from the process).
    fn line(&mut self, label: &str, value: impl std::fmt::Display) -> std::io::Result<()> {
        let value = value.to_string();
        writeln!(self.out, "{label:<11} {}", sanitize(&value))
    }

    /// Rows under a header, cut to 4 with `[...]` unless verbose.
    fn table(&mut self, label: &str, header: String, rows: Vec<String>) -> std::io::Result<()> {
        self.line(label, header)?;
        for (i, row) in rows.into_iter().enumerate() {
            if !self.verbose && i >= SHORT_TABLE {
                return self.line("", "[...]");
            }
            self.line("", row)?;
        }
        Ok(())
    }

    fn print(&mut self, info: &Info, parent: Option<&str>) -> std::io::Result<()> {
        fn opt<T>(v: &Option<T>, f: impl FnOnce(&T) -> String) -> String {
            v.as_ref().map(f).unwrap_or_default()
        }
        self.line("pid", info.pid)?;
        self.line("name", opt(&info.name, Clone::clone))?;
        let parent = parent.map(|n| format!(" ({n})")).unwrap_or_default();
        self.line(
            "parent",
            format!("{}{parent}", opt(&info.ppid, u32::to_string)),
        )?;
        self.line("exe", opt(&info.exe, |p| p.display().to_string()))?;
        self.line("cwd", opt(&info.cwd, |p| p.display().to_string()))?;
        self.line("cmdline", opt(&info.cmdline, |c| c.join(" ")))?;
        self.line("started", opt(&info.create_time, |&t| format_time(t)))?;
        self.line(
            "cpu-times",
            opt(&info.cpu_times, |t| {
                format!("user={:?}, system={:?}", t.user, t.system)
            }),
        )?;
        self.line("memory", opt(&info.memory_info, memory_line))?;
        self.line(
            "memory %",
            opt(&info.memory_percent, |m| {
                format!("{}", (m * 100.0).round() / 100.0)
            }),
        )?;
        // FreeBSD's full and extended records are `memory_info` itself: nothing more to show.
        #[cfg(not(target_os = "freebsd"))]
        if let Some(f) = &info.memory_full_info {
            self.line("memory-full", format!("uss={}", bytes2human(f.uss)))?;
        }
        #[cfg(not(target_os = "freebsd"))]
        if let Some(m) = &info.memory_info_ex {
            self.line("memory-ex", memory_ex_line(m))?;
        }
        self.line("user", opt(&info.username, Clone::clone))?;
        #[cfg(any(target_os = "macos", target_os = "freebsd"))]
        {
            let ids = |real: u32, effective: u32, saved: u32| {
                format!("real={real}, effective={effective}, saved={saved}")
            };
            self.line(
                "uids",
                opt(&info.uids, |u| ids(u.real, u.effective, u.saved)),
            )?;
            self.line(
                "gids",
                opt(&info.gids, |g| ids(g.real, g.effective, g.saved)),
            )?;
        }
        self.line("status", opt(&info.status, |s| s.as_str().to_string()))?;
        self.line("num-threads", opt(&info.num_threads, u64::to_string))?;
        #[cfg(windows)]
        self.line("num-handles", opt(&info.num_handles, u64::to_string))?;
        #[cfg(any(target_os = "macos", target_os = "freebsd"))]
        self.line("num-fds", opt(&info.num_fds, usize::to_string))?;
        #[cfg(any(windows, target_os = "freebsd"))]
        self.line("I/O", opt(&info.io_counters, io_line))?;
        if let Some(children) = info.children.as_ref().filter(|c| !c.is_empty()) {
            self.line("children", format!("{:<6} {}", "PID", "NAME"))?;
            for child in children {
                let name = child.name.clone().unwrap_or_default();
                self.line("", format!("{:<6} {name}", child.pid))?;
            }
        }
        #[cfg(windows)]
        if let Some(threads) = info.threads.as_ref().filter(|t| t.len() > 1) {
            let rows = threads
                .iter()
                .map(|t| {
                    format!(
                        "{:<5} {:>12} {:>12}",
                        t.id,
                        format!("{:?}", t.user_time),
                        format!("{:?}", t.system_time)
                    )
                })
                .collect();
            let header = format!("{:<5} {:>12} {:>12}", "TID", "USER", "SYSTEM");
            self.table("threads", header, rows)?;
            self.line("", format!("total={}", threads.len()))?;
        }
        if let Some(env) = info.environ.as_ref().filter(|e| !e.is_empty()) {
            self.line("environ", "")?;
            for (i, (k, v)) in env.iter().enumerate() {
                if !self.verbose && i >= SHORT_TABLE {
                    self.line("", "[...]")?;
                    break;
                }
                self.line("", format!("{k:<25} {v}"))?;
            }
        }
        if let Some(maps) = info.memory_maps.as_ref().filter(|m| !m.is_empty()) {
            let mut maps: Vec<_> = maps.iter().collect();
            maps.sort_by_key(|m| std::cmp::Reverse(m.rss));
            let rows = maps
                .iter()
                .map(|m| format!("{:<8} {}", bytes2human(m.rss), m.path))
                .collect();
            self.table("mem-maps", format!("{:<8} {}", "RSS", "PATH"), rows)?;
        }
        if !info.access_denied.is_empty() {
            self.line("denied", info.access_denied.join(", "))?;
        }
        Ok(())
    }
}

/// The `memory` line: psutil's `memory_info()` fields for this OS.
#[cfg(windows)]
fn memory_line(m: &MemoryInfo) -> String {
    format!(
        "rss={}, vms={}, peak_rss={}, peak_vms={}",
        bytes2human(m.rss),
        bytes2human(m.vms),
        bytes2human(m.peak_rss),
        bytes2human(m.peak_vms)
    )
}

/// The `memory` line: psutil's `memory_info()` fields for this OS.
#[cfg(target_os = "macos")]
fn memory_line(m: &MemoryInfo) -> String {
    format!("rss={}, vms={}", bytes2human(m.rss), bytes2human(m.vms))
}

/// The `memory` line: psutil's `memory_info()` fields for this OS.
#[cfg(target_os = "freebsd")]
fn memory_line(m: &MemoryInfo) -> String {
    format!(
        "rss={}, vms={}, text={}, data={}, stack={}, peak_rss={}",
        bytes2human(m.rss),
        bytes2human(m.vms),
        bytes2human(m.text),
        bytes2human(m.data),
        bytes2human(m.stack),
        bytes2human(m.peak_rss)
    )
}

/// The `memory-ex` line: `memory_info_ex()`'s own fields on Windows.
#[cfg(windows)]
fn memory_ex_line(m: &MemoryInfoEx) -> String {
    format!(
        "virtual={}, peak_virtual={}, paged_pool={}, nonpaged_pool={}",
        bytes2human(m.r#virtual),
        bytes2human(m.peak_virtual),
        bytes2human(m.paged_pool),
        bytes2human(m.nonpaged_pool)
    )
}

/// The `memory-ex` line: `memory_info_ex()`'s own fields on macOS.
#[cfg(target_os = "macos")]
fn memory_ex_line(m: &MemoryInfoEx) -> String {
    format!(
        "peak_rss={}, rss_anon={}, rss_file={}, wired={}, compressed={}, phys_footprint={}",
        bytes2human(m.peak_rss),
        bytes2human(m.rss_anon),
        bytes2human(m.rss_file),
        bytes2human(m.wired),
        bytes2human(m.compressed),
        bytes2human(m.phys_footprint)
    )
}

/// The `I/O` line: Windows's operation counts and bytes.
#[cfg(windows)]
fn io_line(c: &IoCounters) -> String {
    format!(
        "read_count={}, write_count={}, read_bytes={}, write_bytes={}, other_count={}, \
         other_bytes={}",
        c.read_count,
        c.write_count,
        bytes2human(c.read_bytes),
        bytes2human(c.write_bytes),
        c.other_count,
        bytes2human(c.other_bytes)
    )
}

/// The `I/O` line: FreeBSD's block operation counts (it counts no bytes).
#[cfg(target_os = "freebsd")]
fn io_line(c: &IoCounters) -> String {
    format!("read_count={}, write_count={}", c.read_count, c.write_count)
}
