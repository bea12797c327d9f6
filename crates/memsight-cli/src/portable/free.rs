//! `memsight free` outside Linux: psutil 8's `virtual_memory()` and `swap_memory()` (Windows:
//! `GetPerformanceInfo` and the page-file counter; macOS: `host_statistics64` and `vm.swapusage`;
//! FreeBSD: the `vm.stats.vm` counts and `vm.swap_info`), in a table with procps `free`'s units and
//! options. There is no procps there to match, so the columns are psutil's fields for the OS.

use std::io::Write;

use clap::ArgAction;
use serde::Serialize;

use memsight::{SwapMemory, VirtualMemory};

use crate::Host;
use crate::output;

// The unit options, their scaling and the -s/-c loop are the same on every OS.
#[path = "../free/repeat.rs"]
mod repeat;
#[path = "../free/scale.rs"]
mod scale;

use repeat::Repeat;
use scale::{Scale, Units, scale_size};

/// Options of `memsight free` outside Linux: procps `free`'s units, `-t`, `-s`, `-c`, and `--json`.
#[derive(Debug, clap::Args)]
#[command(disable_help_flag = true)]
pub struct Args {
    #[command(flatten)]
    units: Units,
    /// Show a total line for RAM + swap.
    #[arg(short = 't', long)]
    total: bool,
    /// Repeat every SECONDS until interrupted (or COUNT times with -c).
    #[arg(short = 's', long, value_name = "SECONDS", value_parser = repeat::parse_seconds)]
    seconds: Option<f64>,
    /// Print COUNT reports, then exit (1 s apart unless -s says otherwise).
    #[arg(short = 'c', long, value_name = "COUNT", value_parser = clap::value_parser!(u64).range(1..))]
    count: Option<u64>,
    /// Print `{"mem": {...}, "swap": {...}}` in bytes with psutil's keys for this OS (no `cgroup`:
    /// only Linux has one). With -s/-c, one compact object per line.
    #[arg(long, conflicts_with = "unit")]
    json: bool,
    /// Print help.
    #[arg(long, action = ArgAction::Help)]
    help: Option<bool>,
}

/// One report; serialised as `memsight free --json`'s object.
#[derive(Debug, Serialize)]
struct Report {
    /// psutil's `virtual_memory()` for this OS.
    mem: VirtualMemory,
    /// psutil's `swap_memory()` for this OS.
    swap: SwapMemory,
}

/// The `Mem:` row: psutil's `virtual_memory()` fields for this OS (all but `percent`), named.
#[cfg(windows)]
fn mem_columns(m: &VirtualMemory) -> Vec<(&'static str, u64)> {
    vec![
        ("total", m.total),
        ("used", m.used),
        ("free", m.free),
        ("available", m.available),
        ("cached", m.cached),
        ("wired", m.wired),
    ]
}

/// The `Mem:` row: psutil's `virtual_memory()` fields for this OS (all but `percent`), named.
#[cfg(target_os = "macos")]
fn mem_columns(m: &VirtualMemory) -> Vec<(&'static str, u64)> {
    vec![
        ("total", m.total),
        ("used", m.used),
        ("free", m.free),
        ("available", m.available),
        ("active", m.active),
        ("inactive", m.inactive),
        ("wired", m.wired),
    ]
}

/// The `Mem:` row: psutil's `virtual_memory()` fields for this OS (all but `percent`), named.
#[cfg(target_os = "freebsd")]
fn mem_columns(m: &VirtualMemory) -> Vec<(&'static str, u64)> {
    vec![
        ("total", m.total),
        ("used", m.used),
        ("free", m.free),
        ("available", m.available),
        ("active", m.active),
        ("inactive", m.inactive),
        ("buffers", m.buffers),
        ("cached", m.cached),
        ("shared", m.shared),
        ("wired", m.wired),
    ]
}

/// Writes the table: `Mem:` with every column, `Swap:` (and `-t`'s `Total:`) with total, used
/// and free.
fn write_table(out: &mut dyn Write, scale: Scale, total: bool, r: &Report) -> std::io::Result<()> {
    let (mem, swap) = (&r.mem, &r.swap);
    let columns = mem_columns(mem);
    write_row(out, "", columns.iter().map(|(name, _)| name.to_string()))?;
    let row = |out: &mut dyn Write, label: &str, values: &[u64]| {
        write_row(
            out,
            label,
            values.iter().map(|&v| scale_size(i128::from(v), scale)),
        )
    };
    let values: Vec<u64> = columns.iter().map(|&(_, v)| v).collect();
    row(out, "Mem:", &values)?;
    row(out, "Swap:", &[swap.total, swap.used, swap.free])?;
    if total {
        let sums = [
            mem.total.saturating_add(swap.total),
            mem.used.saturating_add(swap.used),
            mem.free.saturating_add(swap.free),
        ];
        row(out, "Total:", &sums)?;
    }
    Ok(())
}

/// One line: the label in 9 columns, then each cell right-aligned in 11 (procps's widths).
fn write_row(
    out: &mut dyn Write,
    label: &str,
    cells: impl Iterator<Item = String>,
) -> std::io::Result<()> {
    write!(out, "{label:<9}")?;
    for (i, cell) in cells.enumerate() {
        let gap = if i == 0 { "" } else { " " };
        write!(out, "{gap}{cell:>11}")?;
    }
    writeln!(out)
}

/// Runs `memsight free`: one report, or as many as `-s`/`-c` ask for, each flushed as written.
pub fn run(args: &Args, _host: &Host, out: &mut impl Write) -> anyhow::Result<()> {
    let repeat = Repeat::new(args.seconds, args.count);
    let scale = args.units.scale();
    let print = |out: &mut dyn Write| -> anyhow::Result<()> {
        let report = Report {
            mem: memsight::virtual_memory()?,
            swap: memsight::swap_memory()?,
        };
        if args.json {
            output::write_json(&mut &mut *out, &report, repeat.is_none())?;
        } else {
            write_table(out, scale, args.total, &report)?;
        }
        Ok(())
    };
    let Some(repeat) = repeat else {
        return print(out);
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
            let mut out = out.borrow_mut();
            if between {
                writeln!(out)?;
                out.flush()?;
            }
            Ok(())
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(windows)]
    #[test]
    fn the_table_has_psutils_windows_columns() {
        let report = Report {
            mem: VirtualMemory {
                total: 8 << 30,
                available: 3 << 30,
                percent: 62.5,
                used: 5 << 30,
                free: 3 << 30,
                cached: 1 << 30,
                wired: 256 << 20,
            },
            swap: SwapMemory {
                total: 2 << 30,
                used: 1 << 29,
                free: 3 << 29,
                percent: 25.0,
                sin: 0,
                sout: 0,
            },
        };
        let kib = Scale::Fixed {
            base: 1024,
            exponent: 1,
        };
        let mut out = Vec::new();
        write_table(&mut out, kib, true, &report).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "               total        used        free   available      cached       wired"
        );
        assert_eq!(
            lines[1],
            "Mem:         8388608     5242880     3145728     3145728     1048576      262144"
        );
        assert_eq!(lines[2], "Swap:        2097152      524288     1572864");
        assert_eq!(lines[3], "Total:      10485760     5767168     4718592");
    }

    /// `swap` with 2 GiB total, 0.5 GiB used, and the table in KiB with `-t`.
    #[cfg(not(windows))]
    fn kib_lines(mem: VirtualMemory) -> Vec<String> {
        let report = Report {
            mem,
            swap: SwapMemory {
                total: 2 << 30,
                used: 1 << 29,
                free: 3 << 29,
                percent: 25.0,
                sin: 0,
                sout: 0,
            },
        };
        let kib = Scale::Fixed {
            base: 1024,
            exponent: 1,
        };
        let mut out = Vec::new();
        write_table(&mut out, kib, false, &report).unwrap();
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    #[cfg(target_os = "macos")]
    #[test]
    fn the_table_has_psutils_macos_columns() {
        let lines = kib_lines(VirtualMemory {
            total: 16 << 30,
            available: 6 << 30,
            percent: 62.5,
            used: 10 << 30,
            free: 1 << 30,
            active: 5 << 30,
            inactive: 4 << 30,
            wired: 2 << 30,
        });
        assert_eq!(
            lines[0],
            "               total        used        free   available      active    inactive       wired"
        );
        assert_eq!(
            lines[1],
            "Mem:        16777216    10485760     1048576     6291456     5242880     4194304     2097152"
        );
        assert_eq!(lines[2], "Swap:        2097152      524288     1572864");
    }

    #[cfg(target_os = "freebsd")]
    #[test]
    fn the_table_has_psutils_freebsd_columns() {
        let lines = kib_lines(VirtualMemory {
            total: 4 << 30,
            available: 3 << 30,
            percent: 25.0,
            used: 1 << 30,
            free: 2 << 30,
            active: 512 << 20,
            inactive: 768 << 20,
            buffers: 64 << 20,
            cached: 0,
            shared: 32 << 20,
            wired: 256 << 20,
        });
        assert_eq!(
            lines[0],
            "               total        used        free   available      active    inactive     \
             buffers      cached      shared       wired"
        );
        assert_eq!(
            lines[1],
            "Mem:         4194304     1048576     2097152     3145728      524288      786432       \
             65536           0       32768      262144"
        );
        assert_eq!(lines[2], "Swap:        2097152      524288     1572864");
    }
}
