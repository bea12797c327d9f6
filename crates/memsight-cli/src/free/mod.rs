//! `memsight free`: system memory and swap in procps `free` 4.x's layout, with the same numbers,
//! plus a `Cgroup:` line when a cgroup memory limit applies.
//!
//! `report` gathers one report, `table` prints it as procps does, `scale` formats its numbers,
//! `repeat` runs `-s`/`-c`.

mod repeat;
mod report;
mod scale;
mod table;

use std::io::Write;

use clap::ArgAction;

use memsight::linux::ProcFs;

use crate::output;
use repeat::Repeat;
use report::{Commit, Report, Zone};
use scale::Units;
use table::Layout;

/// Options of `memsight free` (those of procps `free`, plus `--json`).
#[derive(Debug, clap::Args)]
#[command(disable_help_flag = true)]
pub struct Args {
    #[command(flatten)]
    units: Units,
    /// Wide output: buffers and cache in separate columns.
    #[arg(short = 'w', long)]
    wide: bool,
    /// Show a total line for RAM + swap.
    #[arg(short = 't', long)]
    total: bool,
    /// Show low and high memory (`Low:`/`High:`; all RAM is low on a kernel without highmem).
    #[arg(short = 'l', long)]
    lohi: bool,
    /// Show the commit limit, committed memory and their difference (`Comm:`).
    #[arg(short = 'v', long)]
    committed: bool,
    /// Show swap used, buff/cache, used and free on one line.
    #[arg(short = 'L', long, conflicts_with_all = ["wide", "total", "lohi", "committed", "json"])]
    line: bool,
    /// Repeat every SECONDS until interrupted (or COUNT times with -c).
    #[arg(short = 's', long, value_name = "SECONDS", value_parser = repeat::parse_seconds)]
    seconds: Option<f64>,
    /// Print COUNT reports, then exit (1 s apart unless -s says otherwise).
    #[arg(short = 'c', long, value_name = "COUNT", value_parser = clap::value_parser!(u64).range(1..))]
    count: Option<u64>,
    /// Show `available` as procps does: `MemFree` where the kernel prints no `MemAvailable`
    /// (before 3.14), instead of psutil's estimate from /proc/zoneinfo. `used` follows.
    #[arg(long)]
    procps_available: bool,
    /// Print `{"mem": {...}, "swap": {...}, "cgroup": {...} | null}` in bytes, with psutil's keys;
    /// `-l` adds `low` and `high`, `-v` adds `commit`. With -s/-c, one compact object per line.
    #[arg(long, conflicts_with = "unit")]
    json: bool,
    /// Print help.
    #[arg(long, action = ArgAction::Help)]
    help: Option<bool>,
}

/// Reads one report: the library's records, and the meminfo lines `-l`, `-v` and
/// `--procps-available` need (read only when asked).
fn read_report(args: &Args, procfs: &ProcFs) -> anyhow::Result<Report> {
    let mut mem = procfs.virtual_memory()?;
    let swap = procfs.swap_memory()?;
    // A process may legitimately have no readable cgroup (odd mounts); free still works.
    let cgroup = procfs.cgroup_memory().ok().flatten();
    let mut report = Report {
        mem: Default::default(),
        swap,
        cgroup,
        low: None,
        high: None,
        commit: None,
    };
    if args.lohi || args.committed || args.procps_available {
        let fields = procfs.meminfo()?;
        if args.procps_available {
            mem = mem.with_available(report::procps_available(&fields));
        }
        if args.lohi {
            let (low, high) = Zone::low_high(&fields);
            (report.low, report.high) = (Some(low), Some(high));
        }
        if args.committed {
            report.commit = Some(Commit::from_meminfo(&fields));
        }
    }
    report.mem = mem;
    Ok(report)
}

/// Runs `memsight free`: one report, or as many as `-s`/`-c` ask for, each flushed as it is
/// written (so `memsight free -s 1 | ...` streams).
pub fn run(args: &Args, procfs: &ProcFs, out: &mut impl Write) -> anyhow::Result<()> {
    let repeat = Repeat::new(args.seconds, args.count);
    let layout = Layout {
        scale: args.units.scale(),
        wide: args.wide,
        total: args.total,
    };
    let print = |out: &mut dyn Write| -> anyhow::Result<()> {
        let report = read_report(args, procfs)?;
        if args.json {
            // One report: pretty, as every command's --json; a series: one object per line.
            output::write_json(&mut &mut *out, &report, repeat.is_none())?;
        } else if args.line {
            table::write_line(out, layout.scale, &report)?;
        } else {
            table::write_table(out, layout, &report)?;
        }
        Ok(())
    };
    let Some(repeat) = repeat else {
        print(out)?;
        if args.line {
            writeln!(out)?;
        }
        return Ok(());
    };
    let between = !args.json;
    let out = std::cell::RefCell::new(out);
    repeat::run(
        repeat,
        || {
            let mut out = out.borrow_mut();
            print(&mut **out)?;
            out.flush()?;
            Ok(())
        },
        || {
            // procps ends a report with a newline before each wait: the blank line between
            // tables, the end of a -L line. JSON lines end themselves.
            let mut out = out.borrow_mut();
            if between {
                writeln!(out)?;
                out.flush()?;
            }
            Ok(())
        },
    )?;
    if args.line {
        // procps ends the last -L line of a counted run too.
        writeln!(out.borrow_mut())?;
    }
    Ok(())
}
