//! The text of a frame, shared by the full-screen view and batch mode: header lines, columns
//! chosen for the width, one line per row, the footer. Pure: no terminal.

use memsight::linux::Pressure;

use super::model::{Growth, Row, SortKey};
use super::sample::Header;
use crate::output::{bytes2human, sanitize};

/// A column of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Col {
    /// Process id.
    Pid,
    /// Owner.
    User,
    /// Unique set size.
    Uss,
    /// Proportional set size.
    Pss,
    /// PSS + SwapPss.
    Epss,
    /// Swap.
    Swap,
    /// Resident set size.
    Rss,
    /// Peak RSS.
    Peak,
    /// Growth per minute.
    Growth,
    /// `L` for a leak suspect, `d` for a process whose smaps_rollup is denied.
    Flag,
    /// The command line.
    Command,
}

impl Col {
    const ALL: [Col; 11] = [
        Col::Pid,
        Col::User,
        Col::Uss,
        Col::Pss,
        Col::Epss,
        Col::Swap,
        Col::Rss,
        Col::Peak,
        Col::Growth,
        Col::Flag,
        Col::Command,
    ];

    fn width(self) -> usize {
        match self {
            Col::Pid => 7,
            Col::User => 8,
            Col::Growth => 8,
            Col::Flag => 1,
            Col::Command => 0,
            _ => 7,
        }
    }

    fn title(self) -> &'static str {
        match self {
            Col::Pid => "PID",
            Col::User => "USER",
            Col::Uss => "USS",
            Col::Pss => "PSS",
            Col::Epss => "EPSS",
            Col::Swap => "SWAP",
            Col::Rss => "RSS",
            Col::Peak => "PEAK",
            Col::Growth => "GROW/m",
            Col::Flag => "",
            Col::Command => "COMMAND",
        }
    }

    /// The sort key this column orders by.
    fn key(self) -> Option<SortKey> {
        Some(match self {
            Col::Pid => SortKey::Pid,
            Col::User => SortKey::User,
            Col::Uss => SortKey::Uss,
            Col::Pss => SortKey::Pss,
            Col::Epss => SortKey::Epss,
            Col::Swap => SortKey::Swap,
            Col::Rss => SortKey::Rss,
            Col::Peak => SortKey::PeakRss,
            Col::Growth => SortKey::Growth,
            Col::Command => SortKey::Command,
            Col::Flag => return None,
        })
    }
}

/// The fewest characters left for the command before columns are dropped.
const MIN_COMMAND: usize = 20;

/// The columns for a terminal `width` wide (every column without one): peak, swap, EPSS and
/// user are dropped in that order until the command has [`MIN_COMMAND`] characters. The sort
/// column is never dropped.
pub fn columns(width: Option<usize>, sort: SortKey) -> Vec<Col> {
    let mut cols = Col::ALL.to_vec();
    let Some(width) = width else {
        return cols;
    };
    let fixed = |cols: &[Col]| {
        cols.iter()
            .filter(|&&c| c != Col::Command)
            .map(|c| c.width() + 1)
            .sum::<usize>()
    };
    for drop in [Col::Peak, Col::Swap, Col::Epss, Col::User] {
        if fixed(&cols) + MIN_COMMAND <= width {
            break;
        }
        if drop.key() != Some(sort) {
            cols.retain(|&c| c != drop);
        }
    }
    cols
}

fn pad(out: &mut String, col: Col, text: &str) {
    let w = col.width();
    match col {
        Col::Command => out.push_str(text),
        Col::User | Col::Flag => {
            let cut: String = text.chars().take(w).collect();
            out.push_str(&format!("{cut:<w$} "));
        }
        _ => out.push_str(&format!("{text:>w$} ")),
    }
}

/// The title line, the sort column marked with `*` (`v`-style arrows are not in every font).
pub fn title_line(cols: &[Col], sort: SortKey, reverse: bool) -> String {
    let mut out = String::new();
    for &c in cols {
        let mark = if c.key() == Some(sort) {
            if reverse { "^" } else { "*" }
        } else {
            ""
        };
        pad(&mut out, c, &format!("{}{mark}", c.title()));
    }
    out.trim_end().to_owned()
}

fn size(n: Option<u64>) -> String {
    n.map_or_else(|| "-".to_owned(), bytes2human)
}

/// Growth per minute with its sign (`+1.0M`); blank until the window has enough samples.
pub fn growth_cell(g: Option<Growth>) -> String {
    let Some(g) = g else {
        return String::new();
    };
    let rate = g.per_minute;
    if !rate.is_finite() {
        return "?".to_owned();
    }
    let magnitude = bytes2human(rate.abs().min(u64::MAX as f64) as u64);
    if rate.abs() < 1024.0 {
        "0".to_owned()
    } else if rate > 0.0 {
        format!("+{magnitude}")
    } else {
        format!("-{magnitude}")
    }
}

/// One row's line (control characters in user and command shown as `?`).
pub fn row_line(cols: &[Col], row: &Row) -> String {
    let p = &row.proc;
    let mut out = String::new();
    for &c in cols {
        let text = match c {
            Col::Pid if p.pid == 0 => String::new(),
            Col::Pid => p.pid.to_string(),
            Col::User => sanitize(&p.username).into_owned(),
            Col::Uss => size(p.uss),
            Col::Pss => size(p.pss),
            Col::Epss => size(p.epss()),
            Col::Swap => size(p.swap),
            Col::Rss => bytes2human(p.rss),
            Col::Peak => size(p.peak_rss),
            Col::Growth => growth_cell(row.growth),
            Col::Flag => if row.suspect() {
                "L"
            } else if row.denied > 0 {
                "d"
            } else {
                ""
            }
            .to_owned(),
            Col::Command => sanitize(&row.command()).into_owned(),
        };
        pad(&mut out, c, &text);
    }
    out
}

fn pressure(p: &Pressure) -> String {
    format!("avg10 {:.2}% avg60 {:.2}%", p.avg10, p.avg60)
}

/// The header: system memory as `free` shows it, swap, the cgroup line when a limit applies,
/// memory pressure.
pub fn header_lines(h: &Header) -> Vec<String> {
    let m = &h.mem;
    let mut lines = vec![
        format!(
            "Mem:  {} total, {} used, {} free, {} buff/cache, {} avail",
            bytes2human(m.total),
            bytes2human(m.used),
            bytes2human(m.free),
            bytes2human(m.buffers.saturating_add(m.cached)),
            bytes2human(m.available),
        ),
        format!(
            "Swap: {} total, {} used, {} free",
            bytes2human(h.swap.total),
            bytes2human(h.swap.used),
            bytes2human(h.swap.free),
        ),
    ];
    if let Some(cg) = &h.cgroup
        && let Some(limit) = cg.limit
    {
        let pct = cg.usage as f64 / limit.max(1) as f64 * 100.0;
        lines.push(format!(
            "Cgroup: {} limit, {} used ({pct:.1}%), {} working set, {}",
            bytes2human(limit),
            bytes2human(cg.usage),
            bytes2human(cg.working_set),
            sanitize(&cg.path),
        ));
    }
    lines.push(match &h.pressure {
        Some(p) => format!(
            "PSI:  some {}, full {}",
            pressure(&p.some),
            pressure(&p.full)
        ),
        None => "PSI:  some n/a, full n/a".to_owned(),
    });
    lines
}

/// The footer: suspects, denied processes (with a hint when not root), keys.
pub fn footer(rows: &[Row], root: bool) -> String {
    let suspects = rows.iter().filter(|r| r.suspect()).count();
    let denied: usize = rows.iter().map(|r| r.denied).sum();
    let mut parts = vec![match suspects {
        0 => "no leak suspects".to_owned(),
        1 => "1 leak suspect (L)".to_owned(),
        n => format!("{n} leak suspects (L)"),
    }];
    if denied > 0 {
        let what = if denied == 1 {
            "1 process".to_owned()
        } else {
            format!("{denied} processes")
        };
        let hint = if root {
            ""
        } else {
            "; run as root to see them"
        };
        parts.push(format!("{what} denied (d: RSS only{hint})"));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::super::model::Proc;
    use super::*;

    #[test]
    fn columns_fit_80_and_keep_the_sort_column() {
        let cols = columns(Some(80), SortKey::Uss);
        assert!(!cols.contains(&Col::Peak) && !cols.contains(&Col::Swap));
        assert!(cols.contains(&Col::Epss) && cols.contains(&Col::User));
        let line = title_line(&cols, SortKey::Uss, false);
        assert!(line.len() + MIN_COMMAND <= 80 + "COMMAND".len(), "{line}");
        assert!(columns(Some(80), SortKey::PeakRss).contains(&Col::Peak));
        assert_eq!(columns(Some(200), SortKey::Uss), Col::ALL);
        assert_eq!(columns(None, SortKey::Uss), Col::ALL);
        // Very narrow: still no panic, the basic columns stay.
        assert!(columns(Some(10), SortKey::Uss).contains(&Col::Uss));
    }

    #[test]
    fn escapes_never_reach_the_line() {
        let row = Row {
            proc: Proc {
                pid: 7,
                username: "a\x1b[2Jb".to_owned(),
                cmdline: vec!["evil\x1b]0;title\x07".to_owned(), "\u{9b}31m".to_owned()],
                uss: Some(1 << 20),
                ..Proc::default()
            },
            growth: None,
            depth: 0,
            members: 1,
            denied: 0,
        };
        let line = row_line(&columns(None, SortKey::Uss), &row);
        assert!(!line.chars().any(char::is_control), "{line:?}");
        assert!(line.contains("evil?]0;title?"));
    }

    #[test]
    fn growth_cells() {
        let g = |per_minute| {
            Some(Growth {
                per_minute,
                low: 0.0,
                high: 0.0,
                sustained: false,
                suspect: false,
            })
        };
        assert_eq!(growth_cell(None), "");
        assert_eq!(growth_cell(g(60.0 * 1048576.0)), "+60.0M");
        assert_eq!(growth_cell(g(-2048.0)), "-2.0K");
        assert_eq!(growth_cell(g(10.0)), "0");
        assert_eq!(growth_cell(g(f64::NAN)), "?");
    }
}
