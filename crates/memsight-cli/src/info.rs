//! `memsight info [PID] [--json]`: everything known about one process, in the layout of psutil's
//! `scripts/procinfo.py` (a label column, then the values), or one JSON object keyed by psutil's
//! `as_dict()` names, on every OS.
//!
//! A field that could not be read (access denied) is `null` and named in `access_denied`; a field
//! the OS does not have is not a key at all. Linux has them all (the library's `ProcessInfo`);
//! none of the others has terminal, nice, ionice, rlimit, connections, open files, page faults,
//! context switches or CPU affinity; Windows alone has `num_handles`; macOS and FreeBSD have
//! `uids`, `gids` and `num_fds`; `io_counters` is on Windows and FreeBSD (counts only), `threads`
//! on Windows. The printer is one; a line only some OSes have is a `cfg`'d line.

use std::io::{IsTerminal, Write};

#[cfg(not(target_os = "freebsd"))]
use memsight::MemoryFullInfo;
use memsight::MemoryInfo;
#[cfg(any(windows, target_os = "macos"))]
use memsight::MemoryInfoEx;
use memsight::Process;
use memsight::process::CpuTimes;
#[cfg(any(target_os = "linux", windows, target_os = "freebsd"))]
use memsight::process::IoCounters;
#[cfg(target_os = "linux")]
use memsight::process::{Address, SocketType};

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
    /// `access_denied` (the fields that could not be read; they are null), and on Linux `rlimit`
    /// and `page_faults`, elsewhere `memory_info_ex`.
    #[arg(long)]
    pub json: bool,
    /// Show every row of the open-files, threads, environ and mem-maps tables, not the first 4.
    #[arg(short, long)]
    pub verbose: bool,
}

/// Everything read about one process: the library's record (the fields this OS has, each
/// `None` when it could not be read, and the names of those denied).
type Info = memsight::process::ProcessInfo;

/// Reads every field (the library's `Process::info`, in one `oneshot`).
fn collect(p: &Process) -> memsight::Result<Info> {
    p.info()
}

/// Runs `memsight info`.
pub fn run(args: &Args, host: &Host, out: &mut impl Write) -> anyhow::Result<()> {
    let pid = args.pid.unwrap_or_else(std::process::id);
    let process = host.process(pid)?;
    let info = collect(&process)?;
    if args.json {
        output::write_json(out, &info, true)?;
        return Ok(());
    }
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let parent = process.parent().ok().flatten().and_then(|p| p.name().ok());
    Printer {
        out,
        color,
        verbose: args.verbose,
    }
    .print(&info, parent.as_deref())?;
    Ok(())
}

struct Printer<'a, W: Write> {
    out: &'a mut W,
    color: bool,
    verbose: bool,
}

impl<W: Write> Printer<'_, W> {
    /// procinfo's `print_`: `{:<11} {}`, the label in bold green on a terminal. The value is
    /// sanitised: names, paths, command lines and environment values come from the process, and
    /// a control character in them must not reach the terminal.
    fn line(&mut self, label: &str, value: impl std::fmt::Display) -> std::io::Result<()> {
        let value = value.to_string();
        let value = sanitize(&value);
        if self.color {
            writeln!(self.out, "\x1b[1;32m{label:<13}\x1b[0m {value}")
        } else {
            writeln!(self.out, "{label:<11} {value}")
        }
    }

    /// Prints rows under a header, cut to 4 with `[...]` unless verbose.
    fn table(
        &mut self,
        label: &str,
        header: String,
        rows: impl IntoIterator<Item = String>,
    ) -> std::io::Result<()> {
        self.line(label, header)?;
        self.table_rows(rows)
    }

    /// Rows with no header line of their own (procinfo's environ table), cut to 4 unless verbose.
    fn table_rows(&mut self, rows: impl IntoIterator<Item = String>) -> std::io::Result<()> {
        for (i, row) in rows.into_iter().enumerate() {
            if !self.verbose && i >= SHORT_TABLE {
                self.line("", "[...]")?;
                break;
            }
            self.line("", row)?;
        }
        Ok(())
    }

    fn print(&mut self, info: &Info, parent: Option<&str>) -> anyhow::Result<()> {
        let opt = |v: Option<String>| v.unwrap_or_default();
        self.line("pid", info.pid)?;
        self.line("name", opt(info.name.clone()))?;
        let parent = parent.map(|n| format!(" ({n})")).unwrap_or_default();
        self.line(
            "parent",
            format!("{}{parent}", opt(info.ppid.map(|p| p.to_string()))),
        )?;
        self.line(
            "exe",
            opt(info.exe.as_ref().map(|p| p.display().to_string())),
        )?;
        self.line(
            "cwd",
            opt(info.cwd.as_ref().map(|p| p.display().to_string())),
        )?;
        self.line("cmdline", opt(info.cmdline.as_ref().map(|c| c.join(" "))))?;
        self.line("started", opt(info.create_time.map(format_time)))?;
        match &info.cpu_times {
            Some(t) => {
                let centis = (cpu_total(t) * 100.0).round() as u64;
                self.line(
                    "cpu-tspent",
                    format!(
                        "{}:{:02}.{:02}",
                        centis / 6000 % 60,
                        centis / 100 % 60,
                        centis % 100
                    ),
                )?;
                self.line("cpu-times", cpu_times_line(t))?;
            }
            None => {
                self.line("cpu-tspent", "")?;
                self.line("cpu-times", "")?;
            }
        }
        #[cfg(target_os = "linux")]
        {
            self.line(
                "cpu-affinity",
                opt(info.cpu_affinity.as_ref().map(|c| format!("{c:?}"))),
            )?;
            self.line("cpu-num", opt(info.cpu_num.map(|n| n.to_string())))?;
        }
        self.line("memory", opt(info.memory_info.as_ref().map(memory_line)))?;
        self.line(
            "memory %",
            opt(info
                .memory_percent
                .map(|m| format!("{}", (m * 100.0).round() / 100.0))),
        )?;
        // FreeBSD's full and extended records are `memory_info` itself: nothing more to show.
        #[cfg(not(target_os = "freebsd"))]
        if let Some(f) = &info.memory_full_info {
            self.line("memory-full", memory_full_line(f))?;
        }
        #[cfg(any(windows, target_os = "macos"))]
        if let Some(m) = &info.memory_info_ex {
            self.line("memory-ex", memory_ex_line(m))?;
        }
        self.line("user", opt(info.username.clone()))?;
        #[cfg(unix)]
        {
            let ids = |real: u32, effective: u32, saved: u32| {
                format!("real={real}, effective={effective}, saved={saved}")
            };
            self.line(
                "uids",
                opt(info.uids.map(|u| ids(u.real, u.effective, u.saved))),
            )?;
            self.line(
                "gids",
                opt(info.gids.map(|g| ids(g.real, g.effective, g.saved))),
            )?;
        }
        #[cfg(target_os = "linux")]
        {
            self.line(
                "page-faults",
                opt(info
                    .page_faults
                    .map(|f| format!("minor={}, major={}", f.minor, f.major))),
            )?;
            self.line(
                "terminal",
                opt(info.terminal.as_ref().map(|t| t.display().to_string())),
            )?;
        }
        self.line("status", opt(info.status.map(|s| s.to_string())))?;
        #[cfg(target_os = "linux")]
        {
            self.line("nice", opt(info.nice.map(|n| n.to_string())))?;
            if let Some(io) = info.ionice {
                self.line(
                    "ionice",
                    format!("class={}, value={}", io.ioclass.name(), io.value),
                )?;
            }
        }
        self.line("num-threads", opt(info.num_threads.map(|n| n.to_string())))?;
        #[cfg(windows)]
        self.line("num-handles", opt(info.num_handles.map(|n| n.to_string())))?;
        #[cfg(unix)]
        self.line("num-fds", opt(info.num_fds.map(|n| n.to_string())))?;
        #[cfg(not(target_os = "macos"))]
        self.line("I/O", opt(info.io_counters.as_ref().map(io_line)))?;
        #[cfg(target_os = "linux")]
        self.line(
            "ctx-switches",
            opt(info
                .num_ctx_switches
                .map(|c| format!("voluntary={}, involuntary={}", c.voluntary, c.involuntary))),
        )?;
        if let Some(children) = info.children.as_ref().filter(|c| !c.is_empty()) {
            self.line("children", format!("{:<6} {}", "PID", "NAME"))?;
            for child in children {
                self.line("", format!("{:<6} {}", child.pid, opt(child.name.clone())))?;
            }
        }
        #[cfg(target_os = "linux")]
        {
            match info.open_files.as_ref().filter(|f| !f.is_empty()) {
                Some(files) => self.table(
                    "open-files",
                    "PATH".into(),
                    files.iter().map(|f| f.path.display().to_string()),
                )?,
                None => self.line("open-files", "")?,
            }
            match info.net_connections.as_ref().filter(|c| !c.is_empty()) {
                Some(conns) => {
                    let row = |proto: &str, l: &str, r: &str, s: &str| {
                        format!("{proto:<5} {l:<25} {r:<25} {s}")
                    };
                    self.line(
                        "connections",
                        row("PROTO", "LOCAL ADDR", "REMOTE ADDR", "STATUS"),
                    )?;
                    for c in conns {
                        let proto = match c.kind {
                            SocketType::Stream => "TCP",
                            SocketType::Dgram => "UDP",
                            _ => "UNIX",
                        };
                        let addr = |a: &Address| match a {
                            Address::Inet(a) => format!("{}:{}", a.ip(), a.port()),
                            Address::Unix(p) => p.clone(),
                            Address::None => "*:*".into(),
                        };
                        self.line(
                            "",
                            row(proto, &addr(&c.laddr), &addr(&c.raddr), c.status.as_str()),
                        )?;
                    }
                }
                None => self.line("connections", "")?,
            }
        }
        #[cfg(any(target_os = "linux", windows))]
        match info.threads.as_ref().filter(|t| t.len() > 1) {
            Some(threads) => {
                self.table(
                    "threads",
                    format!("{:<5} {:>12} {:>12}", "TID", "USER", "SYSTEM"),
                    threads.iter().map(|t| {
                        // Python's float repr: 0.0, 1.25.
                        format!(
                            "{:<5} {:>12} {:>12}",
                            t.id,
                            format!("{:?}", t.user_time),
                            format!("{:?}", t.system_time)
                        )
                    }),
                )?;
                self.line("", format!("total={}", threads.len()))?;
            }
            None => self.line("threads", "")?,
        }
        #[cfg(target_os = "linux")]
        if let Some(limits) = info.rlimit.as_ref().filter(|l| !l.is_empty()) {
            self.line("res-limits", "")?;
            let row = |n: &str, s: &str, h: &str| format!("{n:<12} {s:>15} {h:>15}");
            self.line("", row("RLIMIT", "SOFT", "HARD"))?;
            for (name, limit) in limits {
                let value = |v: Option<u64>| v.map_or("infinity".into(), |v| v.to_string());
                self.line(
                    "",
                    row(rlimit_label(name), &value(limit.soft), &value(limit.hard)),
                )?;
            }
        }
        if let Some(env) = info.environ.as_ref().filter(|e| !e.is_empty()) {
            self.line("environ", "")?;
            let rows: Vec<String> = env.iter().map(|(k, v)| format!("{k:<25} {v}")).collect();
            self.table_rows(rows)?;
        }
        if let Some(maps) = info.memory_maps.as_ref().filter(|m| !m.is_empty()) {
            let mut maps: Vec<_> = maps.iter().collect();
            maps.sort_by_key(|m| std::cmp::Reverse(m.rss));
            self.table(
                "mem-maps",
                format!("{:<8} {}", "RSS", "PATH"),
                maps.iter()
                    .map(|m| format!("{:<8} {}", bytes2human(m.rss), m.path)),
            )?;
        }
        if !info.access_denied.is_empty() {
            self.line("denied", info.access_denied.join(", "))?;
        }
        Ok(())
    }
}

/// The time spent on the CPU: user and system, the waited-for children's, and on Linux the
/// time blocked on I/O (procinfo's `cpu-tspent`).
fn cpu_total(t: &CpuTimes) -> f64 {
    let total = t.user + t.system + t.children_user + t.children_system;
    #[cfg(target_os = "linux")]
    let total = total + t.iowait;
    total
}

/// The `cpu-times` line: psutil's `cpu_times()` fields for this OS (Python's float repr).
fn cpu_times_line(t: &CpuTimes) -> String {
    let line = format!(
        "user={:?}, system={:?}, children_user={:?}, children_system={:?}",
        t.user, t.system, t.children_user, t.children_system
    );
    #[cfg(target_os = "linux")]
    let line = format!("{line}, iowait={:?}", t.iowait);
    line
}

/// The `memory` line: psutil's `memory_info()` fields for this OS.
#[cfg(target_os = "linux")]
fn memory_line(m: &MemoryInfo) -> String {
    format!(
        "rss={}, vms={}, shared={}, text={}, lib={}, data={}, dirty={}",
        bytes2human(m.rss),
        bytes2human(m.vms),
        bytes2human(m.shared),
        bytes2human(m.text),
        bytes2human(m.lib),
        bytes2human(m.data),
        bytes2human(m.dirty)
    )
}

/// The `memory-full` line: USS, and on Linux PSS and swap.
#[cfg(not(target_os = "freebsd"))]
fn memory_full_line(f: &MemoryFullInfo) -> String {
    #[cfg(target_os = "linux")]
    return format!(
        "uss={}, pss={}, swap={}",
        bytes2human(f.uss),
        bytes2human(f.pss),
        bytes2human(f.swap)
    );
    #[cfg(not(target_os = "linux"))]
    return format!("uss={}", bytes2human(f.uss));
}

/// The `I/O` line: Linux's counts, bytes and characters.
#[cfg(target_os = "linux")]
fn io_line(c: &IoCounters) -> String {
    format!(
        "read_count={}, write_count={}, read_bytes={}, write_bytes={}, read_chars={}, write_chars={}",
        c.read_count,
        c.write_count,
        bytes2human(c.read_bytes),
        bytes2human(c.write_bytes),
        bytes2human(c.read_chars),
        bytes2human(c.write_chars)
    )
}

/// procinfo's names for the limits (`RLIMITS_MAP`); unmapped ones print as `RLIMIT_X`.
#[cfg(target_os = "linux")]
fn rlimit_label(name: &str) -> &str {
    match name {
        "as" => "virtualmem",
        "core" => "coredumpsize",
        "cpu" => "cputime",
        "data" => "datasize",
        "fsize" => "filesize",
        "memlock" => "memlock",
        "msgqueue" => "msgqueue",
        "nice" => "nice",
        "nofile" => "openfiles",
        "nproc" => "maxprocesses",
        "rss" => "rss",
        "rtprio" => "realtimeprio",
        "rttime" => "rtimesched",
        "sigpending" => "sigspending",
        "stack" => "stack",
        "locks" => "RLIMIT_LOCKS",
        other => other,
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
