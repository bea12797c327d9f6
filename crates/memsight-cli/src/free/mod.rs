//! `memsight free`: system memory and swap in procps `free` 4.x's layout, on every OS. On Linux
//! with procps's numbers and options, plus a `Cgroup:` line when a cgroup memory limit applies;
//! elsewhere psutil 8's `virtual_memory()` and `swap_memory()` (Windows: `GetPerformanceInfo` and
//! the page-file counter; macOS: `host_statistics64` and `vm.swapusage`; FreeBSD: the
//! `vm.stats.vm` counts and `vm.swap_info`) with procps's units, `-t`, `-s` and `-c`.
//!
//! `report` gathers one report, `table` prints it as procps does, `scale` formats its numbers,
//! `repeat` runs `-s`/`-c`; `procps` derives `-l`'s, `-v`'s and `--procps-available`'s figures
//! from `/proc/meminfo` (Linux).

#[cfg(target_os = "linux")]
mod procps;
mod repeat;
mod report;
mod scale;
mod table;

use std::io::Write;

use clap::ArgAction;

use crate::Host;
use crate::output;
use repeat::Repeat;
use scale::Units;
use table::Layout;

/// Options of `memsight free` (those of procps `free`, plus `--json`; outside Linux the units,
/// `-t`, `-s`, `-c` and `--json`).
#[derive(Debug, clap::Args)]
#[command(disable_help_flag = true)]
pub struct Args {
    #[command(flatten)]
    units: Units,
    #[cfg(target_os = "linux")]
    /// Wide output: buffers and cache in separate columns.
    #[arg(short = 'w', long)]
    wide: bool,
    /// Show a total line for RAM + swap.
    #[arg(short = 't', long)]
    total: bool,
    #[cfg(target_os = "linux")]
    /// Show low and high memory (`Low:`/`High:`; all RAM is low on a kernel without highmem).
    #[arg(short = 'l', long)]
    lohi: bool,
    #[cfg(target_os = "linux")]
    /// Show the commit limit, committed memory and their difference (`Comm:`).
    #[arg(short = 'v', long)]
    committed: bool,
    #[cfg(target_os = "linux")]
    /// Show swap used, buff/cache, used and free on one line.
    #[arg(short = 'L', long, conflicts_with_all = ["wide", "total", "lohi", "committed", "json"])]
    line: bool,
    /// Repeat every SECONDS until interrupted (or COUNT times with -c).
    #[arg(short = 's', long, value_name = "SECONDS", value_parser = repeat::parse_seconds)]
    seconds: Option<f64>,
    /// Print COUNT reports, then exit (1 s apart unless -s says otherwise).
    #[arg(short = 'c', long, value_name = "COUNT", value_parser = clap::value_parser!(u64).range(1..))]
    count: Option<u64>,
    #[cfg(target_os = "linux")]
    /// Show `available` as procps does: `MemFree` where the kernel prints no `MemAvailable`
    /// (before 3.14), instead of psutil's estimate from /proc/zoneinfo. `used` follows.
    #[arg(long)]
    procps_available: bool,
    /// Print `{"mem": {...}, "swap": {...}, "cgroup": {...} | null}` in bytes, with psutil's keys
    /// for this OS (`cgroup` on Linux only); `-l` adds `low` and `high`, `-v` adds `commit`. With
    /// -s/-c, one compact object per line.
    #[arg(long, conflicts_with = "unit")]
    json: bool,
    /// Print help.
    #[arg(long, action = ArgAction::Help)]
    help: Option<bool>,
}

/// Runs `memsight free`: one report, or as many as `-s`/`-c` ask for, each flushed as it is
/// written (so `memsight free -s 1 | ...` streams).
pub fn run(args: &Args, host: &Host, out: &mut impl Write) -> anyhow::Result<()> {
    let repeat = Repeat::new(args.seconds, args.count);
    let layout = Layout {
        scale: args.units.scale(),
        #[cfg(target_os = "linux")]
        wide: args.wide,
        #[cfg(not(target_os = "linux"))]
        wide: false,
        total: args.total,
    };
    let print = |out: &mut dyn Write| -> anyhow::Result<()> {
        let report = report::read(args, host)?;
        if args.json {
            // One report: pretty, as every command's --json; a series: one object per line.
            output::write_json(&mut &mut *out, &report, repeat.is_none())?;
            return Ok(());
        }
        #[cfg(target_os = "linux")]
        if args.line {
            table::write_line(out, layout.scale, &report)?;
            return Ok(());
        }
        table::write_table(out, layout, &report)?;
        Ok(())
    };
    let Some(repeat) = repeat else {
        print(out)?;
        #[cfg(target_os = "linux")]
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
    #[cfg(target_os = "linux")]
    if args.line {
        // procps ends the last -L line of a counted run too.
        writeln!(out.borrow_mut())?;
    }
    Ok(())
}
