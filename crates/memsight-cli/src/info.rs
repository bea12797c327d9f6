//! `memsight info [PID] [--json]`: everything known about one process, in the layout of psutil's
//! `scripts/procinfo.py` (a label column, then the values), or one JSON object keyed by psutil's
//! `as_dict()` names.

use std::io::{IsTerminal, Write};

use memsight::linux::ProcFs;
use memsight::process::{Address, ProcessInfo, SocketType};

use crate::output::{self, bytes2human, format_time, sanitize};

/// Rows shown per table unless `--verbose` (procinfo's `NON_VERBOSE_ITERATIONS`).
const SHORT_TABLE: usize = 4;

/// Options of `memsight info`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The process id (default: memsight itself).
    pub pid: Option<u32>,
    /// Print one JSON object with psutil's `as_dict()` keys plus `rlimit`, `children`,
    /// `page_faults` and `access_denied` (the fields that could not be read; they are null).
    #[arg(long)]
    pub json: bool,
    /// Show every row of the open-files, threads, environ and mem-maps tables, not the first 4.
    #[arg(short, long)]
    pub verbose: bool,
}

/// Runs `memsight info`.
pub fn run(args: &Args, procfs: &ProcFs, out: &mut impl Write) -> anyhow::Result<()> {
    let pid = args.pid.unwrap_or_else(std::process::id);
    let process = procfs.process(pid)?;
    let info = process.info()?;
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
    .print(&info, parent.as_deref())
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
        for (i, row) in rows.into_iter().enumerate() {
            if !self.verbose && i >= SHORT_TABLE {
                self.line("", "[...]")?;
                break;
            }
            self.line("", row)?;
        }
        Ok(())
    }

    /// Rows with no header line of their own (procinfo's environ table), cut to 4 unless verbose.
    fn table_rows(&mut self, rows: Vec<String>) -> std::io::Result<()> {
        for (i, row) in rows.into_iter().enumerate() {
            if !self.verbose && i >= SHORT_TABLE {
                self.line("", "[...]")?;
                break;
            }
            self.line("", row)?;
        }
        Ok(())
    }

    fn print(&mut self, info: &ProcessInfo, parent: Option<&str>) -> anyhow::Result<()> {
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
        if let Some(t) = info.cpu_times {
            let total = t.user + t.system + t.children_user + t.children_system + t.iowait;
            let centis = (total * 100.0).round() as u64;
            self.line(
                "cpu-tspent",
                format!(
                    "{}:{:02}.{:02}",
                    centis / 6000 % 60,
                    centis / 100 % 60,
                    centis % 100
                ),
            )?;
            self.line(
                "cpu-times",
                format!(
                    "user={:?}, system={:?}, children_user={:?}, children_system={:?}, iowait={:?}",
                    t.user, t.system, t.children_user, t.children_system, t.iowait
                ),
            )?;
        } else {
            self.line("cpu-tspent", "")?;
            self.line("cpu-times", "")?;
        }
        self.line(
            "cpu-affinity",
            opt(info.cpu_affinity.as_ref().map(|c| format!("{c:?}"))),
        )?;
        self.line("cpu-num", opt(info.cpu_num.map(|n| n.to_string())))?;
        self.line(
            "memory",
            opt(info.memory_info.map(|m| {
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
            })),
        )?;
        self.line(
            "memory %",
            opt(info
                .memory_percent
                .map(|m| format!("{}", (m * 100.0).round() / 100.0))),
        )?;
        if let Some(f) = info.memory_full_info {
            self.line(
                "memory-full",
                format!(
                    "uss={}, pss={}, swap={}",
                    bytes2human(f.uss),
                    bytes2human(f.pss),
                    bytes2human(f.swap)
                ),
            )?;
        }
        self.line("user", opt(info.username.clone()))?;
        self.line(
            "uids",
            opt(info.uids.map(|u| {
                format!(
                    "real={}, effective={}, saved={}",
                    u.real, u.effective, u.saved
                )
            })),
        )?;
        self.line(
            "gids",
            opt(info.gids.map(|g| {
                format!(
                    "real={}, effective={}, saved={}",
                    g.real, g.effective, g.saved
                )
            })),
        )?;
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
        self.line("status", opt(info.status.map(|s| s.to_string())))?;
        self.line("nice", opt(info.nice.map(|n| n.to_string())))?;
        if let Some(io) = info.ionice {
            self.line(
                "ionice",
                format!("class={}, value={}", io.ioclass.name(), io.value),
            )?;
        }
        self.line("num-threads", opt(info.num_threads.map(|n| n.to_string())))?;
        self.line("num-fds", opt(info.num_fds.map(|n| n.to_string())))?;
        self.line(
            "I/O",
            opt(info.io_counters.map(|c| {
                format!(
                    "read_count={}, write_count={}, read_bytes={}, write_bytes={}, read_chars={}, write_chars={}",
                    c.read_count,
                    c.write_count,
                    bytes2human(c.read_bytes),
                    bytes2human(c.write_bytes),
                    bytes2human(c.read_chars),
                    bytes2human(c.write_chars)
                )
            })),
        )?;
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

/// procinfo's names for the limits (`RLIMITS_MAP`); unmapped ones print as `RLIMIT_X`.
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
