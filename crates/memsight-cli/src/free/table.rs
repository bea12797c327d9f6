//! The human forms of a report: procps `free` 4.x's table (`Mem:`, `-l`'s `Low:`/`High:`,
//! `Swap:`, `-t`'s `Total:`, `-v`'s `Comm:`, then memsight's own `Cgroup:` line) and `-L`'s
//! single line.

use std::io::{self, Write};

use super::report::Report;
use super::scale::{Scale, scale_size};

/// What the table shows besides the rows the report holds.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    /// How numbers are printed.
    pub scale: Scale,
    /// `-w`: buffers and cache in separate columns.
    pub wide: bool,
    /// `-t`: a `Total:` line for RAM + swap.
    pub total: bool,
}

/// Writes the table for one report.
pub fn write_table(out: &mut dyn Write, layout: Layout, report: &Report) -> io::Result<()> {
    let (mem, swap) = (&report.mem, &report.swap);
    let header = if layout.wide {
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
    let row = |out: &mut dyn Write, label: &str, values: &[Option<i128>]| {
        let cells = values.iter().map(|value| {
            value
                .map(|v| scale_size(v, layout.scale))
                .unwrap_or_default()
        });
        write_row(out, label, cells)
    };
    let some = |values: &[u64]| {
        values
            .iter()
            .map(|&v| Some(i128::from(v)))
            .collect::<Vec<_>>()
    };
    write_row(out, "", header.iter().map(|title| title.to_string()))?;
    let mut mem_row = vec![mem.total, mem.used, mem.free, mem.shared];
    if layout.wide {
        mem_row.extend([mem.buffers, mem.cached]);
    } else {
        mem_row.push(mem.buffers.saturating_add(mem.cached));
    }
    mem_row.push(mem.available);
    row(out, "Mem:", &some(&mem_row))?;
    if let (Some(low), Some(high)) = (report.low, report.high) {
        row(out, "Low:", &some(&[low.total, low.used, low.free]))?;
        row(out, "High:", &some(&[high.total, high.used, high.free]))?;
    }
    row(out, "Swap:", &some(&[swap.total, swap.used, swap.free]))?;
    if layout.total {
        let sums = [
            mem.total.saturating_add(swap.total),
            mem.used.saturating_add(swap.used),
            mem.free.saturating_add(swap.free),
        ];
        row(out, "Total:", &some(&sums))?;
    }
    if let Some(commit) = report.commit {
        let values = [
            Some(i128::from(commit.limit)),
            Some(i128::from(commit.committed_as)),
            Some(commit.free),
        ];
        row(out, "Comm:", &values)?;
    }
    if let Some(cg) = &report.cgroup
        && let Some(limit) = cg.limit
    {
        // Inside the limit: used = working set, buff/cache = reclaimable file pages,
        // free = limit - usage, available = limit - working set.
        let cache = cg.usage.saturating_sub(cg.working_set);
        let mut values = vec![
            Some(limit),
            Some(cg.working_set),
            Some(limit.saturating_sub(cg.usage)),
            None,
        ];
        if layout.wide {
            values.extend([None, Some(cache)]);
        } else {
            values.push(Some(cache));
        }
        values.push(Some(limit.saturating_sub(cg.working_set)));
        let values: Vec<_> = values.into_iter().map(|v| v.map(i128::from)).collect();
        row(out, "Cgroup:", &values)?;
    }
    Ok(())
}

/// Writes `-L`'s line, procps 4.0.3's `--line`: swap used, buff/cache, used and free, each
/// after a 7-character label, with the trailing space procps leaves. The caller ends the line.
pub fn write_line(out: &mut dyn Write, scale: Scale, report: &Report) -> io::Result<()> {
    let (mem, swap) = (&report.mem, &report.swap);
    let cells = [
        ("SwapUse", swap.used),
        ("CachUse", mem.buffers.saturating_add(mem.cached)),
        (" MemUse", mem.used),
        ("MemFree", mem.free),
    ];
    for (label, value) in cells {
        write!(out, "{label} {:>11} ", scale_size(i128::from(value), scale))?;
    }
    Ok(())
}

/// One line of the table: the label in 9 columns, then each cell right-aligned in 11, separated by
/// a space (procps `free`'s `%-9s%11s %11s ...`).
fn write_row(
    out: &mut dyn Write,
    label: &str,
    cells: impl Iterator<Item = String>,
) -> io::Result<()> {
    write!(out, "{label:<9}")?;
    for (i, cell) in cells.enumerate() {
        let gap = if i == 0 { "" } else { " " };
        write!(out, "{gap}{cell:>11}")?;
    }
    writeln!(out)
}
