//! `memsight ps`: every process by unique (USS) and proportional (PSS) memory, like smem and
//! psutil's procsmem.py.

use std::io::{IsTerminal, Write};

use clap::ValueEnum;
use serde::Serialize;

use memsight::ProcessMemory;
use memsight::linux::ProcFs;

/// Options of `memsight ps`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The column to sort by: sizes largest first, pid smallest first.
    #[arg(long, value_enum, default_value_t = SortKey::Uss)]
    sort: SortKey,
    /// Reverse the sort order.
    #[arg(short = 'r', long)]
    reverse: bool,
    /// Only processes owned by this user (a name or a uid).
    #[arg(long, value_name = "USER")]
    user: Option<String>,
    /// Only these processes (comma-separated pids).
    #[arg(long, value_name = "PID,...", value_delimiter = ',')]
    pid: Vec<u32>,
    /// Only processes whose command line (arguments joined by spaces) matches this regex.
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

/// The sums of the processes shown, in bytes.
#[derive(Debug, Default, Serialize)]
struct Totals {
    uss: u64,
    pss: u64,
    swap: u64,
    rss: u64,
}

#[derive(Serialize)]
struct Report<'a> {
    processes: &'a [ProcessMemory],
    access_denied: &'a [u32],
    totals: &'a Totals,
}

/// Runs `memsight ps`.
pub fn run(args: &Args, out: &mut impl Write) -> anyhow::Result<()> {
    let procfs = ProcFs::default();
    let pids = if args.pid.is_empty() {
        procfs.pids()?
    } else {
        let mut pids = args.pid.clone();
        pids.sort_unstable();
        pids.dedup();
        pids
    };
    let scan = procfs.memory_scan(&pids);
    for (pid, err) in &scan.errors {
        eprintln!("memsight: warning: pid {pid}: {err}");
    }
    let mut procs: Vec<ProcessMemory> = scan
        .processes
        .into_iter()
        .filter(|p| {
            args.user
                .as_ref()
                .is_none_or(|u| *u == p.username || *u == p.uid.to_string())
        })
        .filter(|p| {
            args.pattern
                .as_ref()
                .is_none_or(|re| re.is_match(&p.cmdline.join(" ")))
        })
        .collect();
    sort(&mut procs, args.sort, args.reverse);
    if let Some(limit) = args.limit {
        procs.truncate(limit);
    }
    let totals = procs.iter().fold(Totals::default(), |t, p| Totals {
        uss: t.uss.saturating_add(p.uss),
        pss: t.pss.saturating_add(p.pss),
        swap: t.swap.saturating_add(p.swap),
        rss: t.rss.saturating_add(p.rss),
    });
    if args.json {
        let report = Report {
            processes: &procs,
            access_denied: &scan.access_denied,
            totals: &totals,
        };
        serde_json::to_writer(&mut *out, &report)?;
        writeln!(out)?;
        return Ok(());
    }
    let width = terminal_width();
    let line = |out: &mut dyn Write, text: String| -> std::io::Result<()> {
        match width {
            Some(w) => writeln!(out, "{}", text.chars().take(w).collect::<String>()),
            None => writeln!(out, "{text}"),
        }
    };
    line(
        out,
        format!(
            "{:<7} {:<8} {:>7} {:>7} {:>7} {:>7} Cmdline",
            "PID", "User", "USS", "PSS", "Swap", "RSS"
        ),
    )?;
    line(out, "=".repeat(78))?;
    for p in &procs {
        let cmd = if p.cmdline.iter().all(String::is_empty) {
            format!("[{}]", p.name)
        } else {
            // As ps(1) does: control characters (a newline in a `python -c` script) become `?`.
            p.cmdline
                .join(" ")
                .chars()
                .map(|c| if c.is_control() { '?' } else { c })
                .collect()
        };
        let user: String = p.username.chars().take(8).collect();
        line(
            out,
            format!(
                "{:<7} {:<8} {:>7} {:>7} {:>7} {:>7} {}",
                p.pid,
                user,
                human(p.uss),
                blank_if_zero(p.pss),
                blank_if_zero(p.swap),
                human(p.rss),
                cmd
            ),
        )?;
    }
    if args.totals {
        line(out, "-".repeat(78))?;
        line(
            out,
            format!(
                "{:<16} {:>7} {:>7} {:>7} {:>7} {} processes",
                "Total",
                human(totals.uss),
                human(totals.pss),
                human(totals.swap),
                human(totals.rss),
                procs.len()
            ),
        )?;
    }
    if !scan.access_denied.is_empty() {
        line(
            out,
            format!(
                "warning: access denied for {} pids",
                scan.access_denied.len()
            ),
        )?;
    }
    Ok(())
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

/// psutil's `bytes2human` / procsmem's `convert_bytes`: one decimal and K/M/G/T/P/E (powers of
/// 1024), or `NB` below 1 KiB.
pub fn human(n: u64) -> String {
    const SYMBOLS: [char; 6] = ['K', 'M', 'G', 'T', 'P', 'E'];
    for (i, symbol) in SYMBOLS.iter().enumerate().rev() {
        let unit = 1u64 << ((i + 1) * 10);
        if n >= unit {
            return format!("{:.1}{symbol}", n as f64 / unit as f64);
        }
    }
    format!("{n}B")
}

fn blank_if_zero(n: u64) -> String {
    if n == 0 { String::new() } else { human(n) }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes_like_procsmem() {
        assert_eq!(human(0), "0B");
        assert_eq!(human(1023), "1023B");
        assert_eq!(human(1024), "1.0K");
        assert_eq!(human(15 * 1024 * 1024 + 300 * 1024), "15.3M");
        assert_eq!(human(3 << 30), "3.0G");
    }
}
