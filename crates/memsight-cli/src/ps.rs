//! `memsight ps`: every process by unique (USS) and proportional (PSS) memory, like smem and
//! psutil's procsmem.py.

use std::io::{IsTerminal, Write};
use std::path::Path;

use clap::ValueEnum;
use serde::Serialize;

use memsight::ProcessMemory;
use memsight::linux::ProcFs;

use crate::output::{self, bytes2human, sanitize};

/// Options of `memsight ps`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The column to sort by: sizes largest first, pid smallest first. `vms` adds a VMS column.
    #[arg(long, value_enum, default_value_t = SortKey::Uss)]
    sort: SortKey,
    /// Reverse the sort order.
    #[arg(short = 'r', long)]
    reverse: bool,
    /// Only processes owned by this user (a name or a uid); an unknown user is a usage error.
    #[arg(long, value_name = "USER", value_parser = crate::user::parse_user)]
    user: Option<u32>,
    /// Only these processes (comma-separated pids).
    #[arg(long, value_name = "PID,...", value_delimiter = ',')]
    pid: Vec<u32>,
    /// Only processes whose command line (arguments joined by spaces) matches this regex
    /// (memsight itself is never listed).
    #[arg(long = "match", value_name = "REGEX")]
    pattern: Option<regex::Regex>,
    /// Show only the first N processes under the sort.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Add a line with the totals of the processes shown.
    #[arg(long)]
    totals: bool,
    /// Print `{"processes": [...], "access_denied": [...], "totals": {...}}` (sizes in bytes).
    #[arg(long)]
    json: bool,
    /// Read the processes on N threads. By default memsight uses one per idle core (cores less
    /// the other runnable tasks), one per 128 processes, at most 8: a second thread only pays
    /// when a second core is free.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
}

/// What `--sort` orders by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SortKey {
    Uss,
    Pss,
    Swap,
    Rss,
    Vms,
    Pid,
}

/// The sums of the processes shown, in bytes (saturating: hostile figures cannot wrap them).
#[derive(Debug, Default, Serialize)]
struct Totals {
    uss: u64,
    pss: u64,
    swap: u64,
    rss: u64,
    vms: u64,
}

impl Totals {
    fn of(procs: &[ProcessMemory]) -> Totals {
        procs.iter().fold(Totals::default(), |t, p| Totals {
            uss: t.uss.saturating_add(p.uss),
            pss: t.pss.saturating_add(p.pss),
            swap: t.swap.saturating_add(p.swap),
            rss: t.rss.saturating_add(p.rss),
            vms: t.vms.saturating_add(p.vms),
        })
    }
}

#[derive(Serialize)]
struct Report<'a> {
    processes: &'a [ProcessMemory],
    access_denied: &'a [u32],
    totals: &'a Totals,
}

/// The filters of the command line, applied alike to processes read and to those denied.
struct Filter<'a> {
    uid: Option<u32>,
    pattern: Option<&'a regex::Regex>,
    /// Our own pid, left out under `--match` (whose pattern our own command line always holds),
    /// when reading the live `/proc`.
    myself: Option<u32>,
}

impl Filter<'_> {
    fn shows(&self, pid: u32, uid: u32, cmdline: &[String]) -> bool {
        self.uid.is_none_or(|u| u == uid)
            && self
                .pattern
                .is_none_or(|re| self.myself != Some(pid) && re.is_match(&cmdline.join(" ")))
    }

    /// Whether a process whose memory could not be read would have been shown: its owner and
    /// command line are world-readable. One that exits meanwhile is not.
    fn shows_denied(&self, procfs: &ProcFs, pid: u32) -> bool {
        if self.uid.is_none() && self.pattern.is_none() {
            return true;
        }
        let Ok(p) = procfs.process(pid) else {
            return false;
        };
        let uid = match self.uid {
            Some(_) => p.owner_uid().ok(),
            None => Some(0),
        };
        let cmdline = match self.pattern {
            Some(_) => p.cmdline().ok(),
            None => Some(Vec::new()),
        };
        match (uid, cmdline) {
            (Some(uid), Some(cmdline)) => self.shows(pid, uid, &cmdline),
            _ => false,
        }
    }
}

/// Runs `memsight ps`.
pub fn run(args: &Args, procfs: &ProcFs, out: &mut impl Write) -> anyhow::Result<()> {
    let pids = if args.pid.is_empty() {
        procfs.pids()?
    } else {
        let mut pids = args.pid.clone();
        pids.sort_unstable();
        pids.dedup();
        pids
    };
    let scan = procfs.memory_scan_on(&pids, args.threads.map_or(0, usize::from));
    // As `info` and `maps` (and procps `ps -p`): pids given and none of them exists is an error,
    // not an empty table.
    if !args.pid.is_empty() && scan.processes.is_empty() && scan.access_denied.is_empty() {
        let list: Vec<String> = pids.iter().map(u32::to_string).collect();
        anyhow::bail!("no such process: {}", list.join(", "));
    }
    for (pid, err) in &scan.errors {
        eprintln!("memsight: warning: pid {pid}: {err}");
    }
    let filter = Filter {
        uid: args.user,
        pattern: args.pattern.as_ref(),
        myself: (procfs.proc_root() == Path::new("/proc")).then(std::process::id),
    };
    let mut procs: Vec<ProcessMemory> = scan
        .processes
        .into_iter()
        .filter(|p| filter.shows(p.pid, p.uid, &p.cmdline))
        .collect();
    let denied: Vec<u32> = scan
        .access_denied
        .into_iter()
        .filter(|&pid| filter.shows_denied(procfs, pid))
        .collect();
    sort(&mut procs, args.sort, args.reverse);
    if let Some(limit) = args.limit {
        procs.truncate(limit);
    }
    let totals = Totals::of(&procs);
    if args.json {
        let report = Report {
            processes: &procs,
            access_denied: &denied,
            totals: &totals,
        };
        output::write_json(out, &report, false)?;
        return Ok(());
    }
    Table {
        width: terminal_width(),
        vms: args.sort == SortKey::Vms,
    }
    .write(out, &procs, args.totals.then_some(&totals))?;
    // The table first: a reader that has gone away ends us quietly, footer and all.
    out.flush()?;
    if !denied.is_empty() {
        // On stderr, so `memsight ps | sort` and friends see only the table.
        eprintln!(
            "memsight: warning: {}",
            denied_note(denied.len(), is_root())
        );
    }
    Ok(())
}

/// The footer for `n` processes whose memory could not be read.
fn denied_note(n: usize, root: bool) -> String {
    let (what, them) = if n == 1 {
        ("1 process".to_owned(), "it")
    } else {
        (format!("{n} processes"), "them")
    };
    let hint = if root {
        String::new()
    } else {
        format!("; run as root to see {them}")
    };
    format!("access denied to the memory of {what}{hint}")
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// The human table: smem's columns, VMS too when sorting by it, lines cut to the terminal.
struct Table {
    width: Option<usize>,
    vms: bool,
}

impl Table {
    fn line(&self, out: &mut dyn Write, text: &str) -> std::io::Result<()> {
        match self.width {
            Some(w) => writeln!(out, "{}", text.chars().take(w).collect::<String>()),
            None => writeln!(out, "{text}"),
        }
    }

    /// The size columns: USS, PSS, Swap, RSS and, when sorting by it, VMS.
    fn sizes(&self, cells: [String; 5]) -> String {
        let shown = if self.vms { 5 } else { 4 };
        cells[..shown]
            .iter()
            .map(|c| format!("{c:>7}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn write(
        &self,
        out: &mut dyn Write,
        procs: &[ProcessMemory],
        totals: Option<&Totals>,
    ) -> std::io::Result<()> {
        let titles = ["USS", "PSS", "Swap", "RSS", "VMS"].map(String::from);
        let rule = if self.vms { 86 } else { 78 };
        self.line(
            out,
            &format!("{:<7} {:<8} {} Cmdline", "PID", "User", self.sizes(titles)),
        )?;
        self.line(out, &"=".repeat(rule))?;
        for p in procs {
            let sizes = [
                bytes2human(p.uss),
                blank_if_zero(p.pss),
                blank_if_zero(p.swap),
                bytes2human(p.rss),
                bytes2human(p.vms),
            ];
            let user: String = sanitize(&p.username).chars().take(8).collect();
            self.line(
                out,
                &format!(
                    "{:<7} {:<8} {} {}",
                    p.pid,
                    user,
                    self.sizes(sizes),
                    command(p)
                ),
            )?;
        }
        if let Some(t) = totals {
            self.line(out, &"-".repeat(rule))?;
            let count = match procs.len() {
                1 => "1 process".to_owned(),
                n => format!("{n} processes"),
            };
            let sizes = [t.uss, t.pss, t.swap, t.rss, t.vms].map(bytes2human);
            self.line(
                out,
                &format!("{:<16} {} {count}", "Total", self.sizes(sizes)),
            )?;
        }
        Ok(())
    }
}

/// The command column: the arguments joined by spaces, trailing empty ones dropped, or
/// `[name]` when there are none; control characters shown as `?` (procps ps does the same).
fn command(p: &ProcessMemory) -> String {
    let args = match p.cmdline.iter().rposition(|a| !a.is_empty()) {
        Some(last) => &p.cmdline[..=last],
        None => &[],
    };
    let text = if args.is_empty() {
        format!("[{}]", p.name)
    } else {
        args.join(" ")
    };
    sanitize(&text).into_owned()
}

fn sort(procs: &mut [ProcessMemory], key: SortKey, reverse: bool) {
    // Sizes: largest first; ties by pid. Pid: smallest first.
    procs.sort_by(|a, b| {
        let size = |p: &ProcessMemory| match key {
            SortKey::Uss => p.uss,
            SortKey::Pss => p.pss,
            SortKey::Swap => p.swap,
            SortKey::Rss => p.rss,
            SortKey::Vms => p.vms,
            SortKey::Pid => 0,
        };
        size(b).cmp(&size(a)).then(a.pid.cmp(&b.pid))
    });
    if reverse {
        procs.reverse();
    }
}

fn blank_if_zero(n: u64) -> String {
    if n == 0 {
        String::new()
    } else {
        bytes2human(n)
    }
}

/// The terminal's width when stdout is a terminal (lines are cut to it), else `None`.
fn terminal_width() -> Option<usize> {
    let stdout = std::io::stdout();
    if !stdout.is_terminal() {
        return None;
    }
    rustix::termios::tcgetwinsize(&stdout)
        .ok()
        .map(|w| usize::from(w.ws_col))
        .filter(|&w| w > 0)
}
