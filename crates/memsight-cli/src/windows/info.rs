//! `memsight info [PID] [--json]` on Windows: everything the Windows backend knows about one
//! process, in procinfo's layout, or one JSON object with psutil's `as_dict()` keys. A field that
//! could not be read (access denied) is `null` and named in `access_denied`; a field Windows does
//! not have (uids, gids, terminal, nice, ionice, num_fds, rlimit, open files, connections, page
//! faults, context switches, CPU affinity) is not a key at all.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use serde::Serialize;

use memsight::process::{CpuTimes, IoCounters, ProcessStatus, Thread};
use memsight::{
    Error, MemType, MemoryFullInfo, MemoryInfo, MemoryInfoEx, MemoryMap, Process, Result,
};

use super::Host;
use crate::output::{self, bytes2human, format_time, sanitize};

/// Rows shown per table unless `--verbose` (procinfo's `NON_VERBOSE_ITERATIONS`).
const SHORT_TABLE: usize = 4;

/// Options of `memsight info`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The process id (default: memsight itself).
    pub pid: Option<u32>,
    /// Print one JSON object with psutil's `as_dict()` keys that Windows has, plus `children`,
    /// `num_handles`, `memory_info_ex` and `access_denied` (the fields that could not be read;
    /// they are null).
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

/// psutil's `as_dict()` on Windows, with the Linux record's key names and order.
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
    num_handles: Option<u64>,
    username: Option<String>,
    cpu_times: Option<CpuTimes>,
    memory_info: Option<MemoryInfo>,
    memory_info_ex: Option<MemoryInfoEx>,
    memory_full_info: Option<MemoryFullInfo>,
    memory_percent: Option<f64>,
    memory_maps: Option<Vec<MemoryMap>>,
    environ: Option<BTreeMap<String, String>>,
    io_counters: Option<IoCounters>,
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
        num_handles: c.take("num_handles", p.num_handles())?,
        username: c.take("username", p.username())?,
        cpu_times: c.take("cpu_times", p.cpu_times())?,
        memory_info: c.take("memory_info", p.memory_info())?,
        memory_info_ex: c.take("memory_info_ex", p.memory_info_ex())?,
        memory_full_info: c.take("memory_full_info", p.memory_full_info())?,
        memory_percent: c.take("memory_percent", p.memory_percent(MemType::Rss))?,
        memory_maps: c.take("memory_maps", p.memory_maps(true))?,
        environ: c.take("environ", p.environ())?,
        io_counters: c.take("io_counters", p.io_counters())?,
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
        self.line(
            "memory",
            opt(&info.memory_info, |m| {
                format!(
                    "rss={}, vms={}, peak_rss={}, peak_vms={}",
                    bytes2human(m.rss),
                    bytes2human(m.vms),
                    bytes2human(m.peak_rss),
                    bytes2human(m.peak_vms)
                )
            }),
        )?;
        self.line(
            "memory %",
            opt(&info.memory_percent, |m| {
                format!("{}", (m * 100.0).round() / 100.0)
            }),
        )?;
        if let Some(f) = &info.memory_full_info {
            self.line("memory-full", format!("uss={}", bytes2human(f.uss)))?;
        }
        if let Some(m) = &info.memory_info_ex {
            self.line(
                "memory-ex",
                format!(
                    "virtual={}, peak_virtual={}, paged_pool={}, nonpaged_pool={}",
                    bytes2human(m.r#virtual),
                    bytes2human(m.peak_virtual),
                    bytes2human(m.paged_pool),
                    bytes2human(m.nonpaged_pool)
                ),
            )?;
        }
        self.line("user", opt(&info.username, Clone::clone))?;
        self.line("status", opt(&info.status, |s| s.as_str().to_string()))?;
        self.line("num-threads", opt(&info.num_threads, u64::to_string))?;
        self.line("num-handles", opt(&info.num_handles, u64::to_string))?;
        self.line(
            "I/O",
            opt(&info.io_counters, |c| {
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
            }),
        )?;
        if let Some(children) = info.children.as_ref().filter(|c| !c.is_empty()) {
            self.line("children", format!("{:<6} {}", "PID", "NAME"))?;
            for child in children {
                let name = child.name.clone().unwrap_or_default();
                self.line("", format!("{:<6} {name}", child.pid))?;
            }
        }
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
