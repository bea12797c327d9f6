//! `memsight ps` on Windows: every process by unique memory (USS, from the working set) with its
//! working set (`rss`) and private bytes (`vms`), like psutil's procsmem.py there. Windows has no
//! PSS or swap per process, so those columns and keys are left out.

use std::io::Write;

use clap::ValueEnum;
use serde::Serialize;

use memsight::{Error, Process};

use super::Host;
use crate::output::{self, bytes2human, sanitize};

/// Options of `memsight ps` on Windows.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The column to sort by: sizes largest first, pid smallest first.
    #[arg(long, value_enum, default_value_t = SortKey::Uss)]
    sort: SortKey,
    /// Reverse the sort order.
    #[arg(short = 'r', long)]
    reverse: bool,
    /// Only processes owned by this user: `DOMAIN\user`, or the user name alone (any case).
    #[arg(long, value_name = "USER")]
    user: Option<String>,
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
    /// Print `{"processes": [...], "access_denied": [...], "totals": {...}}` (sizes in bytes;
    /// Windows has no `pss` or `swap`).
    #[arg(long)]
    json: bool,
}

/// What `--sort` orders by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SortKey {
    Uss,
    Rss,
    Vms,
    Pid,
}

/// One process's memory, in bytes: the Linux record's keys that Windows has.
#[derive(Debug, Clone, Serialize)]
struct ProcessMemory {
    /// The process id.
    pid: u32,
    /// The owner, `DOMAIN\user` (`Process::username`); empty when it cannot be read.
    username: String,
    /// The executable's base name (`Process::name`); empty when it cannot be read.
    name: String,
    /// The command line from the PEB; empty when it cannot be read.
    cmdline: Vec<String>,
    /// Private working-set pages × the page size (`memory_footprint().uss`).
    uss: u64,
    /// The working set (`memory_info().rss`).
    rss: u64,
    /// Private committed bytes (`memory_info().vms`).
    vms: u64,
}

/// The sums of the processes shown, in bytes (saturating).
#[derive(Debug, Default, Serialize)]
struct Totals {
    uss: u64,
    rss: u64,
    vms: u64,
}

impl Totals {
    fn of(procs: &[ProcessMemory]) -> Totals {
        procs.iter().fold(Totals::default(), |t, p| Totals {
            uss: t.uss.saturating_add(p.uss),
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

/// What reading one pid gave.
enum Read {
    /// Its memory and names.
    Shown(ProcessMemory),
    /// Access to its memory was denied.
    Denied,
    /// Windows gives no working set for it (Wine: any process but the caller), so no USS.
    NoUss(String),
    /// It exited, holds no private memory, or is the kernel's (pids 0 and 4).
    Skipped,
}

/// Reads one process: opened once, so every figure is of the same process.
fn read(pid: u32) -> memsight::Result<Read> {
    if pid == 0 || pid == 4 {
        // The System Idle Process and System: kernel memory only, like Linux's kernel threads.
        return Ok(Read::Skipped);
    }
    let memory = Process::new(pid).and_then(|p| {
        let info = p.memory_info()?;
        let uss = p.memory_footprint()?.uss;
        Ok((p, info, uss))
    });
    let (p, info, uss) = match memory {
        Ok(m) => m,
        Err(Error::AccessDenied { .. }) => return Ok(Read::Denied),
        Err(Error::Unsupported(why)) => return Ok(Read::NoUss(why)),
        Err(Error::NoSuchProcess { .. }) => return Ok(Read::Skipped),
        Err(e) => return Err(e),
    };
    if uss == 0 {
        return Ok(Read::Skipped);
    }
    Ok(Read::Shown(ProcessMemory {
        pid,
        username: p.username().unwrap_or_default(),
        name: p.name().unwrap_or_default(),
        cmdline: p.cmdline().unwrap_or_default(),
        uss,
        rss: info.rss,
        vms: info.vms,
    }))
}

/// Whether `username` (`DOMAIN\user`) is `want`, given with or without the domain, in any case
/// (Windows account names are case-insensitive).
fn user_matches(username: &str, want: &str) -> bool {
    let bare = username.rsplit('\\').next().unwrap_or(username);
    username.eq_ignore_ascii_case(want) || bare.eq_ignore_ascii_case(want)
}

/// Runs `memsight ps`.
pub fn run(args: &Args, _host: &Host, out: &mut impl Write) -> anyhow::Result<()> {
    let pids = if args.pid.is_empty() {
        memsight::pids()?
    } else {
        let mut pids = args.pid.clone();
        pids.sort_unstable();
        pids.dedup();
        pids
    };
    let myself = std::process::id();
    let shows = |p: &ProcessMemory| {
        args.user
            .as_deref()
            .is_none_or(|u| user_matches(&p.username, u))
            && args
                .pattern
                .as_ref()
                .is_none_or(|re| p.pid != myself && re.is_match(&p.cmdline.join(" ")))
    };
    let (mut procs, mut denied, mut no_uss) = (Vec::new(), Vec::new(), Vec::new());
    for pid in pids {
        match read(pid) {
            Ok(Read::Shown(p)) if shows(&p) => procs.push(p),
            Ok(Read::Shown(_) | Read::Skipped) => {}
            // Its owner and command line are unreadable too, so a filter cannot place it.
            Ok(Read::Denied) if args.user.is_none() && args.pattern.is_none() => denied.push(pid),
            Ok(Read::Denied) => {}
            Ok(Read::NoUss(why)) => no_uss.push((pid, why)),
            Err(err) => eprintln!("memsight: warning: pid {pid}: {err}"),
        }
    }
    if let Some((_, why)) = no_uss.first() {
        let pids: Vec<String> = no_uss.iter().map(|(pid, _)| pid.to_string()).collect();
        eprintln!(
            "memsight: warning: no USS for pid {}: {why}",
            pids.join(", ")
        );
    }
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
    write_table(out, &procs, args.totals.then_some(&totals))?;
    out.flush()?;
    if !denied.is_empty() {
        let what = match denied.len() {
            1 => "1 process".to_owned(),
            n => format!("{n} processes"),
        };
        eprintln!(
            "memsight: warning: access denied to the memory of {what}; run as administrator to \
             see more"
        );
    }
    Ok(())
}

/// The table: PID, user (without the domain, 8 characters), USS, RSS, VMS, command line.
fn write_table(
    out: &mut dyn Write,
    procs: &[ProcessMemory],
    totals: Option<&Totals>,
) -> std::io::Result<()> {
    let sizes = |cells: [String; 3]| {
        cells
            .iter()
            .map(|c| format!("{c:>7}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    writeln!(
        out,
        "{:<7} {:<8} {} Cmdline",
        "PID",
        "User",
        sizes(["USS", "RSS", "VMS"].map(String::from))
    )?;
    writeln!(out, "{}", "=".repeat(70))?;
    for p in procs {
        let bare = p.username.rsplit('\\').next().unwrap_or_default();
        let user: String = sanitize(bare).chars().take(8).collect();
        writeln!(
            out,
            "{:<7} {:<8} {} {}",
            p.pid,
            user,
            sizes([p.uss, p.rss, p.vms].map(bytes2human)),
            command(p)
        )?;
    }
    if let Some(t) = totals {
        writeln!(out, "{}", "-".repeat(70))?;
        let count = match procs.len() {
            1 => "1 process".to_owned(),
            n => format!("{n} processes"),
        };
        writeln!(
            out,
            "{:<16} {} {count}",
            "Total",
            sizes([t.uss, t.rss, t.vms].map(bytes2human))
        )?;
    }
    Ok(())
}

/// The command column: the arguments joined by spaces, or `[name]` when there are none; control
/// characters shown as `?`.
fn command(p: &ProcessMemory) -> String {
    let text = if p.cmdline.iter().all(String::is_empty) {
        format!("[{}]", p.name)
    } else {
        p.cmdline.join(" ")
    };
    sanitize(text.trim_end()).into_owned()
}

fn sort(procs: &mut [ProcessMemory], key: SortKey, reverse: bool) {
    procs.sort_by(|a, b| {
        let size = |p: &ProcessMemory| match key {
            SortKey::Uss => p.uss,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_match_with_or_without_the_domain() {
        assert!(user_matches("WINE\\alice", "alice"));
        assert!(user_matches("WINE\\alice", "wine\\ALICE"));
        assert!(!user_matches("WINE\\alice", "bob"));
        assert!(!user_matches("", "alice"));
    }
}
