//! `memsight top`: the live view of memory, with leak suspects named.
//!
//! `sample` reads a refresh through the library (the scan `ps` uses), `model` keeps each
//! process's history and judges its growth (pure), `text` formats a frame, `batch` prints frames
//! for scripts, `tui` draws the full-screen view and `input` maps its keys.

mod batch;
mod input;
mod model;
mod sample;
mod text;
mod tui;

use std::collections::HashSet;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use memsight::linux::ProcFs;

use model::{History, Proc, Row, SortKey, View};
use sample::Header;

/// Options of `memsight top`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = COSTS)]
pub struct Args {
    /// Seconds between refreshes (fractions allowed).
    #[arg(short = 'd', long = "delay", value_name = "SECONDS", default_value_t = 1.0,
          value_parser = parse_delay)]
    delay: f64,
    /// Batch mode: print frames as plain text (or JSON with --json) instead of the full screen.
    #[arg(short = 'b', long)]
    batch: bool,
    /// With -b: stop after N frames (default: until interrupted).
    #[arg(short = 'n', long = "iterations", value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..))]
    iterations: Option<u64>,
    /// With -b: one JSON object per frame and line: `time`, `elapsed`, `mem`, `swap`, `cgroup`,
    /// `pressure`, `processes` (pid, ppid, username, name, cmdline, cgroup, uss, pss, swap_pss,
    /// epss, swap, rss, peak_rss in bytes; growth, growth_low, growth_high in bytes per minute;
    /// suspect), `access_denied` and `suspects` (pids). Always one entry per process, even with
    /// -c.
    #[arg(long, requires = "batch")]
    json: bool,
    /// The column to sort by at start (keys change it).
    #[arg(short = 's', long, value_enum, default_value_t = SortKey::Uss)]
    sort: SortKey,
    /// Reverse the sort order.
    #[arg(short = 'r', long)]
    reverse: bool,
    /// Only processes whose name or command line holds this text (case-insensitive; the viewer
    /// itself is then left out).
    #[arg(long, value_name = "TEXT")]
    filter: Option<String>,
    /// Only processes owned by this user (a name or a uid).
    #[arg(short = 'u', long, value_name = "USER")]
    user: Option<String>,
    /// Only these processes (comma-separated pids), like `top -p`: a refresh then reads only them.
    #[arg(short = 'p', long, value_name = "PID,...", value_delimiter = ',')]
    pid: Vec<u32>,
    /// Start in tree mode (children under their parents).
    #[arg(short = 't', long)]
    tree: bool,
    /// Start with one row per memory cgroup (container totals).
    #[arg(short = 'c', long)]
    cgroups: bool,
    /// Seconds of history the growth is judged over.
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0, value_parser = parse_window)]
    window: f64,
    /// The slowest growth that makes a leak suspect, in bytes per minute: the lower end of the
    /// slope's 95% interval must exceed it.
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20)]
    leak_floor: u64,
    /// Read the processes on N threads (default: as `memsight ps` chooses).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
}

/// What each column costs, for `--help`.
const COSTS: &str = "\
Columns and what they cost per process and refresh:
  PID, USER, COMMAND  cmdline and comm reads, an fstat of /proc/PID (cheap)
  RSS                 statm (cheap, readable for every process)
  USS, PSS, SWAP      smaps_rollup: the kernel walks the page tables, 10x or more the cost of
  EPSS                statm, and needs ptrace read access (rows denied it show RSS only and
                      a `d` flag). EPSS is PSS plus SwapPss, from the same read.
  PEAK                status (VmHWM), read for the rows on screen only (every row in batch
                      mode, tree mode and when sorting by it), with stat (parent) and cgroup.
  GROW/m              no read: the slope of USS (RSS when denied) over --window seconds.
Every process's smaps_rollup is read each refresh (on the scan's threads, as `memsight ps`),
since sorting by USS needs them all.

A process is a leak suspect (`L`) only when its growth is significant and sustained: the
lower end of the slope's 95% confidence interval is above --leak-floor, and it grew in at
least 7 of 8 equal slices of the window (the leak harness's slope and sign test), so one
large allocation held since, or memory going up and down, is never flagged. A verdict needs
10 seconds and 9 samples of history.

Keys: arrows/PgUp/PgDn move, Enter details, < > sort column, N U S E W R K G C sort by
PID, USS, PSS, EPSS, SWAP, RSS, PEAK, GROW/m, COMMAND, I reverse, / filter, u user, t tree,
c cgroups, p pause, ? help, q quit.";

fn parse_delay(arg: &str) -> Result<f64, String> {
    match arg.parse::<f64>() {
        Ok(s) if s.is_finite() && (0.1..=86_400.0).contains(&s) => Ok(s),
        _ => Err(format!(
            "`{arg}` is not a number of seconds from 0.1 to 86400"
        )),
    }
}

fn parse_window(arg: &str) -> Result<f64, String> {
    match arg.parse::<f64>() {
        Ok(s) if s.is_finite() && (10.0..=86_400.0).contains(&s) => Ok(s),
        _ => Err(format!(
            "`{arg}` is not a number of seconds from 10 to 86400"
        )),
    }
}

/// One refresh: the header and every process, with when it was read.
pub struct Frame {
    /// Seconds since the Unix epoch.
    time: f64,
    /// Seconds since the viewer started.
    elapsed: f64,
    header: Header,
    procs: Vec<Proc>,
    /// Pids whose extras (parent, peak, cgroup) were read in this frame.
    extras: HashSet<u32>,
}

/// The state both modes share: where to read, the history, the view.
struct Top<'a> {
    procfs: &'a ProcFs,
    /// `-p`'s pids (empty: every process).
    pids: Vec<u32>,
    threads: usize,
    start: Instant,
    history: History,
    floor: f64,
    view: View,
}

impl Top<'_> {
    /// Reads a frame and adds it to the history.
    fn refresh(&mut self) -> anyhow::Result<Frame> {
        let header = sample::header(self.procfs)?;
        let procs = sample::processes(self.procfs, &self.pids, self.threads)?;
        let elapsed = self.start.elapsed().as_secs_f64();
        self.history.record(elapsed, &procs);
        Ok(Frame {
            time: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
            elapsed,
            header,
            procs,
            extras: HashSet::new(),
        })
    }

    /// The view's rows of `frame`, reading the extras of every process first when the view
    /// needs them all (tree, cgroups, sort by peak) or `all` asks.
    fn rows(&self, frame: &mut Frame, all: bool) -> Vec<Row> {
        let v = &self.view;
        if all || v.tree || v.cgroups || v.sort == SortKey::PeakRss {
            sample::fill_extras(
                self.procfs,
                &mut frame.procs,
                |p| v.shows(p),
                &mut frame.extras,
            );
        }
        let growth = |pid| self.history.growth(pid, self.floor);
        v.rows(&frame.procs, &growth)
    }

    /// Reads the extras of the rows `pids` names (those on screen) and rebuilds the rows.
    fn rows_with_extras(&self, frame: &mut Frame, rows: Vec<Row>, pids: &HashSet<u32>) -> Vec<Row> {
        if pids.iter().all(|pid| frame.extras.contains(pid)) {
            return rows;
        }
        sample::fill_extras(
            self.procfs,
            &mut frame.procs,
            |p| pids.contains(&p.pid),
            &mut frame.extras,
        );
        let growth = |pid| self.history.growth(pid, self.floor);
        self.view.rows(&frame.procs, &growth)
    }
}

/// Whether the viewer runs as root (the denied footer's hint).
fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Runs `memsight top`.
pub fn run(args: &Args, procfs: &ProcFs, out: &mut impl Write) -> anyhow::Result<()> {
    let mut pids = args.pid.clone();
    pids.sort_unstable();
    pids.dedup();
    let mut top = Top {
        procfs,
        pids,
        threads: args.threads.map_or(0, usize::from),
        start: Instant::now(),
        history: History::new(args.window),
        floor: args.leak_floor as f64,
        view: View {
            sort: args.sort,
            reverse: args.reverse,
            filter: args.filter.clone().unwrap_or_default(),
            user: args.user.clone(),
            tree: args.tree,
            cgroups: args.cgroups,
            myself: (procfs.proc_root() == std::path::Path::new("/proc")).then(std::process::id),
        },
    };
    // JSON lists processes, each with its cgroup: the sums are the reader's to make.
    top.view.cgroups &= !args.json;
    let delay = Duration::from_secs_f64(args.delay);
    if !args.batch {
        if !std::io::stdout().is_terminal() {
            anyhow::bail!(
                "the full-screen view needs a terminal on standard output; -b prints frames as text"
            );
        }
        return tui::run(&mut top, delay);
    }
    let mut shown = 0u64;
    loop {
        let mut frame = top.refresh()?;
        let rows = top.rows(&mut frame, true);
        if args.json {
            batch::write_json(out, &frame, &rows)?;
            out.flush()?;
        } else {
            batch::write_text(out, &frame, &rows, &top.view)?;
        }
        shown += 1;
        if args.iterations.is_some_and(|n| shown >= n) {
            return Ok(());
        }
        // On a fixed schedule: a slow refresh does not push the next one back.
        let next = delay.mul_f64(shown as f64);
        if let Some(wait) = next.checked_sub(top.start.elapsed()) {
            std::thread::sleep(wait);
        }
    }
}
