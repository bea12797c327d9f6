//! `memsight free`: system memory and swap in procps `free` 4.x's layout, with the same numbers,
//! plus a `Cgroup:` line when a cgroup memory limit applies.

use std::io::Write;

use clap::ArgAction;
use serde::Serialize;

use memsight::linux::CgroupMemory;
use memsight::{SwapMemory, VirtualMemory};

/// Options of `memsight free` (those of procps `free`, plus `--json`).
#[derive(Debug, clap::Args)]
#[command(disable_help_flag = true)]
pub struct Args {
    /// Show output in bytes.
    #[arg(short = 'b', long = "bytes", group = "unit")]
    bytes: bool,
    /// Show output in kilobytes (powers of 1000).
    #[arg(long, group = "unit")]
    kilo: bool,
    /// Show output in megabytes (powers of 1000).
    #[arg(long, group = "unit")]
    mega: bool,
    /// Show output in gigabytes (powers of 1000).
    #[arg(long, group = "unit")]
    giga: bool,
    /// Show output in terabytes (powers of 1000).
    #[arg(long, group = "unit")]
    tera: bool,
    /// Show output in petabytes (powers of 1000).
    #[arg(long, group = "unit")]
    peta: bool,
    /// Show output in kibibytes (the default).
    #[arg(short = 'k', long = "kibi", group = "unit")]
    kibi: bool,
    /// Show output in mebibytes.
    #[arg(short = 'm', long = "mebi", group = "unit")]
    mebi: bool,
    /// Show output in gibibytes.
    #[arg(short = 'g', long = "gibi", group = "unit")]
    gibi: bool,
    /// Show output in tebibytes.
    #[arg(long, group = "unit")]
    tebi: bool,
    /// Show output in pebibytes.
    #[arg(long, group = "unit")]
    pebi: bool,
    /// Show human-readable output (B, Ki, Mi, Gi...).
    #[arg(short = 'h', long = "human", group = "unit")]
    human: bool,
    /// Use powers of 1000, not 1024.
    #[arg(long)]
    si: bool,
    /// Wide output: buffers and cache in separate columns.
    #[arg(short = 'w', long)]
    wide: bool,
    /// Show a total line for RAM + swap.
    #[arg(short = 't', long)]
    total: bool,
    /// Print `{"mem": {...}, "swap": {...}, "cgroup": {...} | null}` in bytes, with psutil's keys.
    #[arg(long, conflicts_with = "unit")]
    json: bool,
    /// Print help.
    #[arg(long, action = ArgAction::Help)]
    help: Option<bool>,
}

/// How numbers are printed: procps `free`'s `scale_size`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Scale {
    /// Divide bytes by `base^exponent` and print the integer.
    Fixed { base: u64, exponent: u32 },
    /// Human-readable with the given base (1024 gives `Ki`, `Mi`...; 1000 gives `K`, `M`...).
    Human { base: u64 },
}

impl Args {
    fn scale(&self) -> Scale {
        let si = self.si || self.kilo || self.mega || self.giga || self.tera || self.peta;
        let base = if si { 1000 } else { 1024 };
        let exponent = [
            (self.bytes, 0),
            (self.kilo || self.kibi, 1),
            (self.mega || self.mebi, 2),
            (self.giga || self.gibi, 3),
            (self.tera || self.tebi, 4),
            (self.peta || self.pebi, 5),
        ]
        .into_iter()
        .find_map(|(set, exponent)| set.then_some(exponent))
        .unwrap_or(1);
        if self.human {
            Scale::Human { base }
        } else {
            Scale::Fixed { base, exponent }
        }
    }
}

/// Formats `bytes` as procps `free` does for this scale.
fn scale_size(bytes: u64, scale: Scale) -> String {
    match scale {
        Scale::Fixed { exponent: 0, .. } => bytes.to_string(),
        Scale::Fixed { base, exponent } => (bytes / base.pow(exponent)).to_string(),
        Scale::Human { base } => human(bytes, base),
    }
}

/// procps `scale_size` in human mode: the shortest of `%.1f` and `%ld` that fits 4 characters
/// (SI: `9.2M`) or 5 (binary: `8.7Mi`), walking up from bytes.
fn human(bytes: u64, base: u64) -> String {
    let plain = format!("{bytes}B");
    if plain.len() <= 4 {
        return plain;
    }
    let si = base == 1000;
    let width = if si { 4 } else { 5 };
    let suffix = if si { "" } else { "i" };
    let mut text = plain;
    for (i, unit) in ["K", "M", "G", "T", "P"].iter().enumerate() {
        let divisor = base.pow(i as u32 + 1);
        // procps computes in C float.
        text = format!("{:.1}{unit}{suffix}", bytes as f32 / divisor as f32);
        if text.len() <= width {
            return text;
        }
        text = format!("{}{unit}{suffix}", bytes / divisor);
        if text.len() <= width {
            return text;
        }
    }
    text
}

#[derive(Serialize)]
struct Json<'a> {
    mem: &'a VirtualMemory,
    swap: &'a SwapMemory,
    cgroup: Option<&'a CgroupMemory>,
}

/// Runs `memsight free`.
pub fn run(args: &Args, out: &mut impl Write) -> anyhow::Result<()> {
    let mem = memsight::virtual_memory()?;
    let swap = memsight::swap_memory()?;
    // A process may legitimately have no readable cgroup (odd mounts); free still works.
    let cgroup = memsight::linux::cgroup_memory().ok().flatten();
    if args.json {
        serde_json::to_writer_pretty(
            &mut *out,
            &Json {
                mem: &mem,
                swap: &swap,
                cgroup: cgroup.as_ref(),
            },
        )?;
        writeln!(out)?;
        return Ok(());
    }
    write_table(out, args, &mem, &swap, cgroup.as_ref())
}

fn write_table(
    out: &mut impl Write,
    args: &Args,
    mem: &VirtualMemory,
    swap: &SwapMemory,
    cgroup: Option<&CgroupMemory>,
) -> anyhow::Result<()> {
    let scale = args.scale();
    let header = if args.wide {
        [
            "total",
            "used",
            "free",
            "shared",
            "buffers",
            "cache",
            "available",
        ]
        .as_slice()
    } else {
        ["total", "used", "free", "shared", "buff/cache", "available"].as_slice()
    };
    let row = |out: &mut dyn Write, label: &str, values: &[Option<u64>]| {
        let cells = values
            .iter()
            .map(|value| value.map(|v| scale_size(v, scale)).unwrap_or_default());
        write_line(out, label, cells)
    };
    write_line(out, "", header.iter().map(|title| title.to_string()))?;
    let mut mem_row = vec![mem.total, mem.used, mem.free, mem.shared];
    if args.wide {
        mem_row.extend([mem.buffers, mem.cached]);
    } else {
        mem_row.push(mem.buffers.saturating_add(mem.cached));
    }
    mem_row.push(mem.available);
    row(
        out,
        "Mem:",
        &mem_row.into_iter().map(Some).collect::<Vec<_>>(),
    )?;
    row(
        out,
        "Swap:",
        &[Some(swap.total), Some(swap.used), Some(swap.free)],
    )?;
    if args.total {
        row(
            out,
            "Total:",
            &[
                Some(mem.total.saturating_add(swap.total)),
                Some(mem.used.saturating_add(swap.used)),
                Some(mem.free.saturating_add(swap.free)),
            ],
        )?;
    }
    if let Some(cg) = cgroup
        && let Some(limit) = cg.limit
    {
        // Inside the limit: used = working set, buff/cache = reclaimable file pages,
        // free = limit - usage, available = limit - working set.
        let cache = cg.usage - cg.working_set;
        let mut values = vec![
            Some(limit),
            Some(cg.working_set),
            Some(limit.saturating_sub(cg.usage)),
            None,
        ];
        if args.wide {
            values.extend([None, Some(cache)]);
        } else {
            values.push(Some(cache));
        }
        values.push(Some(limit.saturating_sub(cg.working_set)));
        row(out, "Cgroup:", &values)?;
    }
    Ok(())
}

/// One line of the table: the label in 9 columns, then each cell right-aligned in 11, separated by
/// a space (procps `free`'s `%-9s%11s %11s ...`).
fn write_line(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes_match_procps() {
        let bin = 1024;
        assert_eq!(human(0, bin), "0B");
        assert_eq!(human(1023, bin), "1.0Ki");
        assert_eq!(human(9_166_848, bin), "8.7Mi");
        assert_eq!(human(670_961_664, bin), "639Mi");
        assert_eq!(human(25_276_063_744, bin), "23Gi");
        assert_eq!(human(2_122_805_248, bin), "2.0Gi");
        assert_eq!(human(9_166_848, 1000), "9.2M");
        assert_eq!(human(373_000_000, 1000), "373M");
        assert_eq!(human(25_276_063_744, 1000), "25G");
    }

    #[test]
    fn fixed_scales() {
        let kib = Scale::Fixed {
            base: 1024,
            exponent: 1,
        };
        assert_eq!(scale_size(25_276_063_744, kib), "24683656");
        let si = Scale::Fixed {
            base: 1000,
            exponent: 1,
        };
        assert_eq!(scale_size(25_276_063_744, si), "25276063");
        let bytes = Scale::Fixed {
            base: 1024,
            exponent: 0,
        };
        assert_eq!(scale_size(7, bytes), "7");
    }
}
