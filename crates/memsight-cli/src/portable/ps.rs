//! `memsight ps` outside Linux: every process by unique memory (USS, `memory_footprint()`) with
//! its `memory_info()` `rss` and `vms`, like psutil's procsmem.py. Windows: USS from the working
//! set, `rss` the working set, `vms` the private bytes; macOS: USS from the VM regions, `rss` and
//! `vms` from the task. No OS here has PSS or swap per process, so those columns and keys are left
//! out; FreeBSD has no USS either (the kernel gives none), so there the table and JSON have `rss`
//! and `vms` only and the default sort is `rss`.

use std::io::Write;

use clap::ValueEnum;
use serde::Serialize;

use memsight::{Error, Process};

use super::Host;
use crate::output::{self, bytes2human, sanitize};

/// Options of `memsight ps` outside Linux.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The column to sort by: sizes largest first, pid smallest first.
    #[arg(long, value_enum, default_value_t = SortKey::DEFAULT)]
    sort: SortKey,
    /// Reverse the sort order.
    #[arg(short = 'r', long)]
    reverse: bool,
    /// Only processes owned by this user. Windows: `DOMAIN\user`, or the user name alone (any
    /// case); macOS and FreeBSD: the login name (or the uid of a user without one).
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
    /// no `pss` or `swap` outside Linux, no `uss` on FreeBSD).
    #[arg(long)]
    json: bool,
}

/// What `--sort` orders by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SortKey {
    #[cfg(not(target_os = "freebsd"))]
    Uss,
    Rss,
    Vms,
    Pid,
}

impl SortKey {
    /// USS where the OS has it, else RSS (FreeBSD).
    #[cfg(not(target_os = "freebsd"))]
    const DEFAULT: SortKey = SortKey::Uss;
    /// USS where the OS has it, else RSS (FreeBSD).
    #[cfg(target_os = "freebsd")]
    const DEFAULT: SortKey = SortKey::Rss;
}

/// One process's memory, in bytes: the Linux record's keys that this OS has.
#[derive(Debug, Clone, Serialize)]
struct ProcessMemory {
    /// The process id.
    pid: u32,
    /// The owner (`Process::username`: `DOMAIN\user` on Windows, the login name or uid on macOS
    /// and FreeBSD); empty when it cannot be read.
    username: String,
    /// The executable's base name (`Process::name`); empty when it cannot be read.
    name: String,
    /// The command line (`Process::cmdline`); empty when it cannot be read.
    cmdline: Vec<String>,
    /// Memory only this process holds (`memory_footprint().uss`). Not on FreeBSD.
    #[cfg(not(target_os = "freebsd"))]
    uss: u64,
    /// Resident memory (`memory_info().rss`; the working set on Windows).
    rss: u64,
    /// `memory_info().vms`: private committed bytes on Windows, the address space's size on macOS
    /// and FreeBSD.
    vms: u64,
}

impl ProcessMemory {
    /// The size columns, in the table's order.
    fn sizes(&self) -> Vec<u64> {
        vec![
            #[cfg(not(target_os = "freebsd"))]
            self.uss,
            self.rss,
            self.vms,
        ]
    }
}

/// The size columns' headers, in the table's order.
const SIZE_COLUMNS: &[&str] = &[
    #[cfg(not(target_os = "freebsd"))]
    "USS",
    "RSS",
    "VMS",
];

/// The sums of the processes shown, in bytes (saturating).
#[derive(Debug, Default, Serialize)]
struct Totals {
    #[cfg(not(target_os = "freebsd"))]
    uss: u64,
    rss: u64,
    vms: u64,
}

impl Totals {
    /// The size columns, in the table's order.
    fn sizes(&self) -> Vec<u64> {
        vec![
            #[cfg(not(target_os = "freebsd"))]
            self.uss,
            self.rss,
            self.vms,
        ]
    }

    fn of(procs: &[ProcessMemory]) -> Totals {
        procs.iter().fold(Totals::default(), |t, p| Totals {
            #[cfg(not(target_os = "freebsd"))]
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
    /// The OS gives no USS for it (Wine: any process but the caller).
    #[cfg(not(target_os = "freebsd"))]
    NoUss(String),
    /// It exited, holds no private (FreeBSD: resident) memory, or is the kernel's (Windows pids 0
    /// and 4).
    Skipped,
}

/// Reads one process: opened once, so every figure is of the same process.
fn read(pid: u32) -> memsight::Result<Read> {
    #[cfg(windows)]
    if pid == 0 || pid == 4 {
        // The System Idle Process and System: kernel memory only, like Linux's kernel threads.
        return Ok(Read::Skipped);
    }
    let memory = Process::new(pid).and_then(|p| {
        let info = p.memory_info()?;
        #[cfg(not(target_os = "freebsd"))]
        let uss = p.memory_footprint()?.uss;
        // Without a USS, the resident size says whether it holds memory of its own.
        #[cfg(target_os = "freebsd")]
        let uss = info.rss;
        Ok((p, info, uss))
    });
    let (p, info, uss) = match memory {
        Ok(m) => m,
        Err(Error::AccessDenied { .. }) => return Ok(Read::Denied),
        #[cfg(not(target_os = "freebsd"))]
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
        #[cfg(not(target_os = "freebsd"))]
        uss,
        rss: info.rss,
        vms: info.vms,
    }))
}

/// Whether `username` (`DOMAIN\user`) is `want`, given with or without the domain, in any case
/// (Windows account names are case-insensitive).
#[cfg(windows)]
fn user_matches(username: &str, want: &str) -> bool {
    username.eq_ignore_ascii_case(want) || bare_user(username).eq_ignore_ascii_case(want)
}

/// Whether `username` (a login name, or the uid when the user has none) is `want`, exactly (Unix
/// names are case-sensitive).
#[cfg(not(windows))]
fn user_matches(username: &str, want: &str) -> bool {
    username == want
}

/// The user name without a Windows domain (`DOMAIN\user` → `user`); a Unix name as it is.
fn bare_user(username: &str) -> &str {
    username.rsplit('\\').next().unwrap_or(username)
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
    let (mut procs, mut denied) = (Vec::new(), Vec::new());
    #[cfg(not(target_os = "freebsd"))]
    let mut no_uss = Vec::new();
    for pid in pids {
        match read(pid) {
            Ok(Read::Shown(p)) if shows(&p) => procs.push(p),
            Ok(Read::Shown(_) | Read::Skipped) => {}
            // Its owner and command line are unreadable too, so a filter cannot place it.
            Ok(Read::Denied) if args.user.is_none() && args.pattern.is_none() => denied.push(pid),
            Ok(Read::Denied) => {}
            #[cfg(not(target_os = "freebsd"))]
            Ok(Read::NoUss(why)) => no_uss.push((pid, why)),
            Err(err) => eprintln!("memsight: warning: pid {pid}: {err}"),
        }
    }
    #[cfg(not(target_os = "freebsd"))]
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
        eprintln!("memsight: warning: access denied to the memory of {what}; {MORE}");
    }
    Ok(())
}

/// How to see the processes whose memory was denied.
#[cfg(windows)]
const MORE: &str = "run as administrator to see more";
/// How to see the processes whose memory was denied.
#[cfg(not(windows))]
const MORE: &str = "run as root to see more";

/// The table: PID, user (without the domain, 8 characters), USS (not on FreeBSD), RSS, VMS,
/// command line.
fn write_table(
    out: &mut dyn Write,
    procs: &[ProcessMemory],
    totals: Option<&Totals>,
) -> std::io::Result<()> {
    let sizes = |cells: Vec<String>| {
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
        sizes(SIZE_COLUMNS.iter().map(|c| c.to_string()).collect())
    )?;
    writeln!(out, "{}", "=".repeat(70))?;
    for p in procs {
        let user: String = sanitize(bare_user(&p.username)).chars().take(8).collect();
        writeln!(
            out,
            "{:<7} {:<8} {} {}",
            p.pid,
            user,
            sizes(p.sizes().into_iter().map(bytes2human).collect()),
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
            sizes(t.sizes().into_iter().map(bytes2human).collect())
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
            #[cfg(not(target_os = "freebsd"))]
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

    #[cfg(windows)]
    #[test]
    fn users_match_with_or_without_the_domain() {
        assert!(user_matches("WINE\\alice", "alice"));
        assert!(user_matches("WINE\\alice", "wine\\ALICE"));
        assert!(!user_matches("WINE\\alice", "bob"));
        assert!(!user_matches("", "alice"));
    }

    #[cfg(not(windows))]
    #[test]
    fn unix_users_match_exactly() {
        assert!(user_matches("alice", "alice"));
        assert!(!user_matches("alice", "Alice"));
        assert!(user_matches("1001", "1001"));
        assert!(!user_matches("", "alice"));
        assert_eq!(bare_user("alice"), "alice");
    }
}
