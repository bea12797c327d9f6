//! `memsight ps`: every process by unique (USS) and proportional (PSS) memory, like smem and
//! psutil's procsmem.py, on every OS.
//!
//! One command: the options, filters, sort, table, terminal cut, footer and JSON are the same
//! everywhere. What differs per OS is the size columns ([`Key::COLUMNS`], psutil's figures for
//! the OS). The rows are the library's `memory_scan_pids` records ([`scan`]): Linux's parallel
//! `smaps_rollup` scan; elsewhere a loop over the processes with `memory_info()` and
//! `memory_footprint()`. Windows: USS from the working set, `rss` the working set, `vms` the
//! private bytes; macOS: USS from the VM regions, `rss` and `vms` from the task. No OS but Linux
//! has PSS or swap per process, so those columns and keys are left out there; FreeBSD has no
//! USS either (its kernel gives none), so there the table and JSON have `rss` and `vms` only and
//! the default sort is `rss`.

use std::io::{IsTerminal, Write};

use clap::ValueEnum;
use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::Host;
use crate::output::{self, bytes2human, sanitize};
use crate::user::User;

/// Options of `memsight ps`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The column to sort by: sizes largest first, pid smallest first. `vms` adds a VMS column
    /// where the table has none.
    #[arg(long, value_enum, default_value_t = Key::DEFAULT)]
    sort: Key,
    /// Reverse the sort order.
    #[arg(short = 'r', long)]
    reverse: bool,
    /// Only processes owned by this user; an unknown user is a usage error. Linux, macOS and
    /// FreeBSD: a login name or a uid, matched against the effective uid (as procps `ps -u`).
    /// Windows: `DOMAIN\user`, or the user name alone (any case).
    #[arg(long, value_name = "USER", value_parser = crate::user::parse_user)]
    user: Option<User>,
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
    /// Read the processes on N threads (Linux). By default memsight uses one per idle core (cores
    /// less the other runnable tasks), one per 128 processes, at most 8: a second thread only pays
    /// when a second core is free.
    #[cfg(target_os = "linux")]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
}

/// What `--sort` orders by, and the size columns: each is a key of the JSON records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Key {
    #[cfg(not(target_os = "freebsd"))]
    Uss,
    #[cfg(target_os = "linux")]
    Pss,
    #[cfg(target_os = "linux")]
    Swap,
    Rss,
    Vms,
    Pid,
}

impl Key {
    /// USS where the OS has it, else RSS (FreeBSD).
    #[cfg(not(target_os = "freebsd"))]
    const DEFAULT: Key = Key::Uss;
    /// USS where the OS has it, else RSS (FreeBSD).
    #[cfg(target_os = "freebsd")]
    const DEFAULT: Key = Key::Rss;

    /// The sizes this OS has per process, in the records' and the totals' order.
    const SIZES: &[Key] = &[
        #[cfg(not(target_os = "freebsd"))]
        Key::Uss,
        #[cfg(target_os = "linux")]
        Key::Pss,
        #[cfg(target_os = "linux")]
        Key::Swap,
        Key::Rss,
        Key::Vms,
    ];

    /// The table's size columns unless sorting by VMS: smem's on Linux (VMS only on demand, the
    /// line is long already).
    #[cfg(target_os = "linux")]
    const COLUMNS: &[Key] = &[Key::Uss, Key::Pss, Key::Swap, Key::Rss];
    /// The table's size columns: every size this OS has (there are only two or three).
    #[cfg(not(target_os = "linux"))]
    const COLUMNS: &[Key] = Key::SIZES;

    /// The JSON key (as `--sort` spells it).
    fn name(self) -> &'static str {
        match self {
            #[cfg(not(target_os = "freebsd"))]
            Key::Uss => "uss",
            #[cfg(target_os = "linux")]
            Key::Pss => "pss",
            #[cfg(target_os = "linux")]
            Key::Swap => "swap",
            Key::Rss => "rss",
            Key::Vms => "vms",
            Key::Pid => "pid",
        }
    }

    /// The column's header.
    fn title(self) -> &'static str {
        match self {
            #[cfg(not(target_os = "freebsd"))]
            Key::Uss => "USS",
            #[cfg(target_os = "linux")]
            Key::Pss => "PSS",
            #[cfg(target_os = "linux")]
            Key::Swap => "Swap",
            Key::Rss => "RSS",
            Key::Vms => "VMS",
            Key::Pid => "PID",
        }
    }

    /// The size in bytes (0 for `Pid`, which sorts by the tie-break alone).
    fn of(self, p: &Row) -> u64 {
        match self {
            #[cfg(not(target_os = "freebsd"))]
            Key::Uss => p.uss,
            #[cfg(target_os = "linux")]
            Key::Pss => p.pss,
            #[cfg(target_os = "linux")]
            Key::Swap => p.swap,
            Key::Rss => p.rss,
            Key::Vms => p.vms,
            Key::Pid => 0,
        }
    }

    /// Whether 0 is shown as a blank cell (smem leaves PSS and Swap empty when 0).
    fn blank_if_zero(self) -> bool {
        #[cfg(target_os = "linux")]
        if matches!(self, Key::Pss | Key::Swap) {
            return true;
        }
        false
    }
}

/// The sums of the processes shown, in bytes, one per size this OS has (saturating: hostile
/// figures cannot wrap them); serialised as a map in [`Key::SIZES`]'s order.
#[derive(Debug)]
struct Totals(Vec<(Key, u64)>);

impl Totals {
    fn of(procs: &[Row]) -> Totals {
        Totals(
            Key::SIZES
                .iter()
                .map(|&k| {
                    (
                        k,
                        procs.iter().map(|p| k.of(p)).fold(0, u64::saturating_add),
                    )
                })
                .collect(),
        )
    }

    fn get(&self, key: Key) -> u64 {
        self.0
            .iter()
            .find(|(k, _)| *k == key)
            .map_or(0, |&(_, v)| v)
    }
}

impl Serialize for Totals {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key.name(), value)?;
        }
        map.end()
    }
}

#[derive(serde::Serialize)]
struct Report<'a> {
    processes: &'a [Row],
    access_denied: &'a [u32],
    totals: &'a Totals,
}

/// What the row source gave: the processes read, those whose memory was denied, and warnings
/// about the others that exist but could not be listed (a process that failed for another reason;
/// Wine's missing USS), with their count.
struct Scan {
    processes: Vec<Row>,
    access_denied: Vec<u32>,
    warnings: Vec<String>,
    unlisted: usize,
}

/// One process's memory, in bytes: the library's record, with every key of `ps --json`.
type Row = memsight::ProcessMemory;

/// Reads `pids` with the library's scan (`memsight::memory_scan_pids`; on Linux on `--threads`
/// threads). The processes the OS gives no USS for (Wine: every one but the caller) are named in
/// one warning, not one each.
fn scan(host: &Host, pids: &[u32], args: &Args) -> Scan {
    #[cfg(target_os = "linux")]
    let scan = host.memory_scan_on(pids, args.threads.map_or(0, usize::from));
    #[cfg(not(target_os = "linux"))]
    let scan = {
        let _ = args;
        host.memory_scan(pids)
    };
    let mut warnings = Vec::new();
    let mut no_uss = Vec::new();
    for (pid, err) in &scan.errors {
        match err {
            memsight::Error::Unsupported(why) => no_uss.push((pid, why)),
            _ => warnings.push(format!("pid {pid}: {err}")),
        }
    }
    if let Some((_, why)) = no_uss.first() {
        let pids: Vec<String> = no_uss.iter().map(|(pid, _)| pid.to_string()).collect();
        warnings.push(format!("no USS for pid {}: {why}", pids.join(", ")));
    }
    Scan {
        processes: scan.processes,
        access_denied: scan.access_denied,
        unlisted: scan.errors.len(),
        warnings,
    }
}

/// Whether a row's owner is `want`: the uid the scan gives (Linux: the owner of `/proc/PID`;
/// macOS, FreeBSD: the effective uid), or the account (Windows).
fn row_owner_is(want: &User, p: &Row) -> bool {
    #[cfg(unix)]
    return p.uid == *want;
    #[cfg(windows)]
    return crate::user::name_is(&p.username, want);
}

/// Whether the owner of a process whose memory was denied is `want` (`None`: cannot tell).
fn process_owner_is(want: &User, p: &memsight::Process) -> Option<bool> {
    #[cfg(target_os = "linux")]
    return p.owner_uid().ok().map(|uid| uid == *want);
    #[cfg(all(unix, not(target_os = "linux")))]
    return p.uids().ok().map(|u| u.effective == *want);
    #[cfg(windows)]
    return p
        .username()
        .ok()
        .map(|name| crate::user::name_is(&name, want));
}

/// The filters of the command line, applied alike to processes read and to those denied.
struct Filter<'a> {
    user: Option<&'a User>,
    pattern: Option<&'a regex::Regex>,
    /// Our own pid, left out under `--match` (whose pattern our own command line always holds),
    /// when reading the live system.
    myself: Option<u32>,
}

impl Filter<'_> {
    fn shows_cmdline(&self, pid: u32, cmdline: &[String]) -> bool {
        self.pattern
            .is_none_or(|re| self.myself != Some(pid) && re.is_match(&cmdline.join(" ")))
    }

    fn shows(&self, p: &Row) -> bool {
        self.user.is_none_or(|u| row_owner_is(u, p)) && self.shows_cmdline(p.pid, &p.cmdline)
    }

    /// Whether a process whose memory could not be read would have been shown: its owner and
    /// command line are readable on Linux (and often elsewhere). One that exits meanwhile, or
    /// whose owner or command line is denied too, is not.
    fn shows_denied(&self, host: &Host, pid: u32) -> bool {
        if self.user.is_none() && self.pattern.is_none() {
            return true;
        }
        let Ok(p) = host.process(pid) else {
            return false;
        };
        let owner = self.user.map_or(Some(true), |u| process_owner_is(u, &p));
        let cmdline = match self.pattern {
            Some(_) => p.cmdline().ok(),
            None => Some(Vec::new()),
        };
        match (owner, cmdline) {
            (Some(owner), Some(cmdline)) => owner && self.shows_cmdline(pid, &cmdline),
            _ => false,
        }
    }
}

/// Runs `memsight ps`.
pub fn run(args: &Args, host: &Host, out: &mut impl Write) -> anyhow::Result<()> {
    let pids = if args.pid.is_empty() {
        host.pids()?
    } else {
        let mut pids = args.pid.clone();
        pids.sort_unstable();
        pids.dedup();
        pids
    };
    let scan = scan(host, &pids, args);
    for warning in &scan.warnings {
        eprintln!("memsight: warning: {warning}");
    }
    // As `info` and `maps` (and procps `ps -p`): pids given and none of them exists is an error,
    // not an empty table. One that exists but could not be listed has had its warning.
    if !args.pid.is_empty()
        && scan.processes.is_empty()
        && scan.access_denied.is_empty()
        && scan.unlisted == 0
    {
        let list: Vec<String> = pids.iter().map(u32::to_string).collect();
        anyhow::bail!("no such process: {}", list.join(", "));
    }
    let filter = Filter {
        user: args.user.as_ref(),
        pattern: args.pattern.as_ref(),
        myself: crate::host::is_live(host).then(std::process::id),
    };
    let mut procs: Vec<Row> = scan
        .processes
        .into_iter()
        .filter(|p| filter.shows(p))
        .collect();
    let denied: Vec<u32> = scan
        .access_denied
        .into_iter()
        .filter(|&pid| filter.shows_denied(host, pid))
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
    let mut columns = Key::COLUMNS.to_vec();
    if args.sort == Key::Vms && !columns.contains(&Key::Vms) {
        columns.push(Key::Vms);
    }
    Table {
        width: terminal_width(),
        columns,
    }
    .write(out, &procs, args.totals.then_some(&totals))?;
    // The table first: a reader that has gone away ends us quietly, footer and all.
    out.flush()?;
    if !denied.is_empty() {
        // On stderr, so `memsight ps | sort` and friends see only the table.
        eprintln!(
            "memsight: warning: {}",
            denied_note(denied.len(), is_privileged())
        );
    }
    Ok(())
}

/// The footer for `n` processes whose memory could not be read, with how to see them unless
/// memsight runs privileged already.
fn denied_note(n: usize, privileged: bool) -> String {
    let (what, them) = if n == 1 {
        ("1 process".to_owned(), "it")
    } else {
        (format!("{n} processes"), "them")
    };
    let hint = if privileged {
        String::new()
    } else {
        format!("; run as {PRIVILEGED} to see {them}")
    };
    format!("access denied to the memory of {what}{hint}")
}

/// Who may read every process's memory.
const PRIVILEGED: &str = if cfg!(windows) {
    "administrator"
} else {
    "root"
};

/// Whether memsight runs as root (Unix). On Windows an elevated token cannot be told from here
/// without a token query, so the hint is always given.
fn is_privileged() -> bool {
    #[cfg(unix)]
    return rustix::process::geteuid().is_root();
    #[cfg(windows)]
    return false;
}

/// The human table: PID, user, the size columns, the command line; lines cut to the terminal.
struct Table {
    width: Option<usize>,
    columns: Vec<Key>,
}

impl Table {
    fn line(&self, out: &mut dyn Write, text: &str) -> std::io::Result<()> {
        match self.width {
            Some(w) => writeln!(out, "{}", text.chars().take(w).collect::<String>()),
            None => writeln!(out, "{text}"),
        }
    }

    /// The size cells, 7 wide each.
    fn sizes(&self, cell: impl Fn(Key) -> String) -> String {
        self.columns
            .iter()
            .map(|&k| format!("{:>7}", cell(k)))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The rule under the header and above the totals: procsmem's 78 characters, 8 more for
    /// each column past four (Linux's VMS).
    fn rule(&self, c: &str) -> String {
        c.repeat(78 + 8 * self.columns.len().saturating_sub(4))
    }

    fn write(
        &self,
        out: &mut dyn Write,
        procs: &[Row],
        totals: Option<&Totals>,
    ) -> std::io::Result<()> {
        let header = self.sizes(|k| k.title().to_owned());
        self.line(out, &format!("{:<7} {:<8} {header} Cmdline", "PID", "User"))?;
        self.line(out, &self.rule("="))?;
        for p in procs {
            let sizes = self.sizes(|k| match k.of(p) {
                0 if k.blank_if_zero() => String::new(),
                n => bytes2human(n),
            });
            let user: String = sanitize(bare_user(&p.username)).chars().take(8).collect();
            self.line(
                out,
                &format!("{:<7} {:<8} {sizes} {}", p.pid, user, command(p)),
            )?;
        }
        if let Some(t) = totals {
            self.line(out, &self.rule("-"))?;
            let count = match procs.len() {
                1 => "1 process".to_owned(),
                n => format!("{n} processes"),
            };
            let sizes = self.sizes(|k| bytes2human(t.get(k)));
            self.line(out, &format!("{:<16} {sizes} {count}", "Total"))?;
        }
        Ok(())
    }
}

/// The user column's name: without the Windows domain (`DOMAIN\user` → `user`).
fn bare_user(username: &str) -> &str {
    if cfg!(windows) {
        username.rsplit('\\').next().unwrap_or(username)
    } else {
        username
    }
}

/// The command column: the arguments joined by spaces, trailing empty ones dropped, or
/// `[name]` when there are none; control characters shown as `?` (procps ps does the same).
fn command(p: &Row) -> String {
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

fn sort(procs: &mut [Row], key: Key, reverse: bool) {
    // Sizes: largest first; ties by pid. Pid: smallest first.
    procs.sort_by(|a, b| key.of(b).cmp(&key.of(a)).then(a.pid.cmp(&b.pid)));
    if reverse {
        procs.reverse();
    }
}

/// The terminal's width when stdout is a terminal (lines are cut to it), else `None`.
fn terminal_width() -> Option<usize> {
    let stdout = std::io::stdout();
    if !stdout.is_terminal() {
        return None;
    }
    terminal_size::terminal_size_of(&stdout)
        .map(|(w, _)| usize::from(w.0))
        .filter(|&w| w > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_footer_says_how_to_see_the_denied_unless_privileged() {
        assert_eq!(
            denied_note(1, false),
            format!("access denied to the memory of 1 process; run as {PRIVILEGED} to see it")
        );
        assert_eq!(
            denied_note(3, true),
            "access denied to the memory of 3 processes"
        );
    }

    #[test]
    fn the_rule_is_78_wide_for_up_to_four_columns() {
        let table = |columns: &[Key]| Table {
            width: None,
            columns: columns.to_vec(),
        };
        assert_eq!(table(Key::COLUMNS).rule("=").len(), 78);
        let mut with_vms = Key::SIZES.to_vec();
        with_vms.push(Key::Pid);
        assert_eq!(
            table(&with_vms).rule("-").len(),
            78 + 8 * (with_vms.len().saturating_sub(4))
        );
    }

    #[test]
    fn every_size_has_a_sort_key_of_its_name() {
        for &k in Key::SIZES {
            let parsed = Key::from_str(k.name(), false).unwrap();
            assert_eq!(parsed, k);
            assert_ne!(k.title(), "");
        }
        assert!(Key::COLUMNS.len() <= Key::SIZES.len());
    }
}
