//! Batch mode (`-b`): each refresh as plain text (like `top -b`), or with `--json` as one JSON
//! object per line.

use std::io::Write;

use serde::Serialize;

use super::model::Row;
use super::sample::Header;
use super::text;
use super::{Frame, is_root};
use crate::output;

/// One process in a JSON frame: psutil's names, sizes in bytes, `null` where unknown.
#[derive(Serialize)]
struct JsonProcess<'a> {
    pid: u32,
    ppid: Option<u32>,
    username: &'a str,
    name: &'a str,
    cmdline: &'a [String],
    cgroup: Option<&'a str>,
    uss: Option<u64>,
    pss: Option<u64>,
    swap_pss: Option<u64>,
    /// PSS + SwapPss.
    epss: Option<u64>,
    swap: Option<u64>,
    rss: u64,
    peak_rss: Option<u64>,
    /// Bytes per minute over the window (`null` until it has enough samples).
    growth: Option<f64>,
    /// The growth's 95% interval, bytes per minute.
    growth_low: Option<f64>,
    growth_high: Option<f64>,
    /// Significant and sustained growth (see `memsight top --help`).
    suspect: bool,
}

#[derive(Serialize)]
struct JsonFrame<'a> {
    /// Seconds since the Unix epoch.
    time: f64,
    /// Seconds since the viewer started.
    elapsed: f64,
    #[serde(flatten)]
    header: &'a Header,
    processes: Vec<JsonProcess<'a>>,
    /// Pids whose smaps_rollup could not be read (listed with RSS only).
    access_denied: Vec<u32>,
    /// Pids of the leak suspects.
    suspects: Vec<u32>,
}

/// Writes one frame as a JSON line.
pub fn write_json(out: &mut impl Write, frame: &Frame, rows: &[Row]) -> anyhow::Result<()> {
    let processes = rows
        .iter()
        .map(|r| {
            let p = &r.proc;
            JsonProcess {
                pid: p.pid,
                ppid: p.ppid,
                username: &p.username,
                name: &p.name,
                cmdline: &p.cmdline,
                cgroup: p.cgroup.as_deref(),
                uss: p.uss,
                pss: p.pss,
                swap_pss: p.swap_pss,
                epss: p.epss(),
                swap: p.swap,
                rss: p.rss,
                peak_rss: p.peak_rss,
                growth: r.growth.map(|g| g.per_minute).filter(|v| v.is_finite()),
                growth_low: r.growth.map(|g| g.low).filter(|v| v.is_finite()),
                growth_high: r.growth.map(|g| g.high).filter(|v| v.is_finite()),
                suspect: r.suspect(),
            }
        })
        .collect();
    let json = JsonFrame {
        time: frame.time,
        elapsed: frame.elapsed,
        header: &frame.header,
        processes,
        access_denied: rows
            .iter()
            .filter(|r| r.proc.denied())
            .map(|r| r.proc.pid)
            .collect(),
        suspects: rows
            .iter()
            .filter(|r| r.suspect())
            .map(|r| r.proc.pid)
            .collect(),
    };
    output::write_json(out, &json, false)?;
    Ok(())
}

/// Writes one frame as text: the header, the table with every row and column, the footer, and
/// a blank line after it.
pub fn write_text(
    out: &mut impl Write,
    frame: &Frame,
    rows: &[Row],
    view: &super::model::View,
) -> anyhow::Result<()> {
    writeln!(
        out,
        "memsight top - {}, {} processes",
        output::format_time(frame.time),
        frame.procs.len()
    )?;
    for line in text::header_lines(&frame.header) {
        writeln!(out, "{line}")?;
    }
    writeln!(out)?;
    let cols = text::columns(None, view.sort);
    writeln!(out, "{}", text::title_line(&cols, view.sort, view.reverse))?;
    for r in rows {
        writeln!(out, "{}", text::row_line(&cols, r).trim_end())?;
    }
    writeln!(out, "{}", text::footer(rows, is_root()))?;
    writeln!(out)?;
    out.flush()?;
    Ok(())
}
