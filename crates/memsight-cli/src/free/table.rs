//! The human forms of a report: procps `free` 4.x's table (`Mem:`, `-l`'s `Low:`/`High:`,
//! `Swap:`, `-t`'s `Total:`, `-v`'s `Comm:`, then memsight's own `Cgroup:` line) and `-L`'s
//! single line. Outside Linux the same table with psutil's `virtual_memory()` fields for the OS
//! in the `Mem:` row (there is no procps there to match), and `Mem:`, `Swap:` and `Total:` only.

use std::io::{self, Write};

use memsight::VirtualMemory;

use super::report::Report;
use super::scale::{Scale, scale_size};

/// What the table shows besides the rows the report holds.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    /// How numbers are printed.
    pub scale: Scale,
    /// `-w`: buffers and cache in separate columns (Linux; false elsewhere).
    pub wide: bool,
    /// `-t`: a `Total:` line for RAM + swap.
    pub total: bool,
}

/// The `Mem:` row's columns: procps's on Linux (`-w` splits buff/cache); elsewhere psutil's
/// `virtual_memory()` fields for the OS (all but `percent`), there being no procps to match.
#[cfg_attr(not(target_os = "linux"), allow(unused_variables))]
fn mem_columns(m: &VirtualMemory, wide: bool) -> Vec<(&'static str, u64)> {
    let mut columns = vec![("total", m.total), ("used", m.used), ("free", m.free)];
    #[cfg(target_os = "linux")]
    {
        columns.push(("shared", m.shared));
        if wide {
            columns.extend([("buffers", m.buffers), ("cache", m.cached)]);
        } else {
            columns.push(("buff/cache", m.buffers.saturating_add(m.cached)));
        }
    }
    columns.push(("available", m.available));
    #[cfg(any(target_os = "macos", target_os = "freebsd"))]
    columns.extend([("active", m.active), ("inactive", m.inactive)]);
    #[cfg(target_os = "freebsd")]
    columns.extend([
        ("buffers", m.buffers),
        ("cached", m.cached),
        ("shared", m.shared),
    ]);
    #[cfg(windows)]
    columns.push(("cached", m.cached));
    #[cfg(not(target_os = "linux"))]
    columns.push(("wired", m.wired));
    columns
}

/// Writes the table for one report: `Mem:` with this OS's columns, `Swap:` (and `-t`'s `Total:`)
/// with total, used and free; on Linux also `-l`'s `Low:`/`High:`, `-v`'s `Comm:` and the
/// `Cgroup:` line.
pub fn write_table(out: &mut dyn Write, layout: Layout, report: &Report) -> io::Result<()> {
    let (mem, swap) = (&report.mem, &report.swap);
    let columns = mem_columns(mem, layout.wide);
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
    write_row(out, "", columns.iter().map(|(title, _)| title.to_string()))?;
    let values: Vec<u64> = columns.iter().map(|&(_, v)| v).collect();
    row(out, "Mem:", &some(&values))?;
    #[cfg(target_os = "linux")]
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
    #[cfg(target_os = "linux")]
    if let Some(commit) = report.commit {
        let values = [
            Some(i128::from(commit.limit)),
            Some(i128::from(commit.committed_as)),
            Some(commit.free),
        ];
        row(out, "Comm:", &values)?;
    }
    #[cfg(target_os = "linux")]
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

/// Writes `-L`'s line (Linux), procps 4.0.3's `--line`: swap used, buff/cache, used and free, each
/// after a 7-character label, with the trailing space procps leaves. The caller ends the line.
#[cfg(target_os = "linux")]
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

// The other OSes' columns; Linux's table is checked against procps in tests/commands/free.rs.
#[cfg(test)]
#[cfg(not(target_os = "linux"))]
mod tests {
    use super::*;
    use memsight::SwapMemory;

    /// `swap` with 2 GiB total, 0.5 GiB used, and the table in KiB with `-t`.
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
        let layout = Layout {
            scale: Scale::Fixed {
                base: 1024,
                exponent: 1,
            },
            wide: false,
            total: true,
        };
        let mut out = Vec::new();
        write_table(&mut out, layout, &report).unwrap();
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    #[cfg(windows)]
    #[test]
    fn the_table_has_psutils_windows_columns() {
        let lines = kib_lines(VirtualMemory {
            total: 8 << 30,
            available: 3 << 30,
            percent: 62.5,
            used: 5 << 30,
            free: 3 << 30,
            cached: 1 << 30,
            wired: 256 << 20,
        });
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
