//! `memsight cgroups`: every memory cgroup's usage, working set and share of its limit, like
//! `systemd-cgtop` for memory; `--tree` indents by hierarchy, `--json` prints the library's
//! [`memsight::linux::Cgroup`] records.

use std::io::Write;

use memsight::linux::{Cgroup, MemoryPressure, ProcFs, UnreadableCgroup};

/// What `memsight cgroups` sorts by (largest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SortKey {
    /// Memory charged to the cgroup, page cache included.
    Usage,
    /// Usage minus inactive page cache, as the kubelet computes it (`working_set`, the JSON
    /// key, is accepted too).
    #[value(alias = "working_set")]
    WorkingSet,
    /// The limit in force (own or inherited); unlimited last.
    Limit,
    /// Working set as a share of the limit in force; unlimited last.
    Pct,
    /// Anonymous memory (memory.stat `anon`, v1 `total_rss`).
    Anon,
    /// Page cache (memory.stat `file`, v1 `total_cache`).
    File,
    /// Swap used.
    Swap,
}

/// Options of `memsight cgroups`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Indent cgroups under their parents (siblings still sorted by --sort).
    #[arg(long)]
    tree: bool,
    /// Sort by this figure, largest first.
    #[arg(long, value_enum, default_value = "working-set")]
    sort: SortKey,
    /// Go at most N levels below the hierarchy's root (1 shows /system.slice but not its units).
    #[arg(long, value_name = "N")]
    depth: Option<usize>,
    /// Print `{"cgroups": [...], "pressure": ...}`: every figure in bytes, the memory.stat
    /// breakdown and events per cgroup, and the system-wide pressure (null without PSI).
    #[arg(long)]
    json: bool,
}

/// Runs `memsight cgroups`.
pub fn run(args: &Args, procfs: &ProcFs, out: &mut impl Write) -> anyhow::Result<()> {
    let walk = procfs.cgroups_walk(args.depth.unwrap_or(usize::MAX))?;
    let mut all = walk.cgroups;
    let pressure = procfs.memory_pressure()?;
    let key = |c: &Cgroup| sort_value(c, args.sort);
    if args.tree {
        all = tree_order(all, key);
    } else {
        // Stable: equal figures keep the walk's order (parents before children).
        all.sort_by(|a, b| key(b).total_cmp(&key(a)));
    }
    if args.json {
        let body = Output {
            cgroups: &all,
            unreadable: &walk.unreadable,
            pressure,
        };
        serde_json::to_writer(&mut *out, &body)?;
        writeln!(out)?;
        return Ok(());
    }
    if let Some(p) = pressure {
        writeln!(
            out,
            "Memory pressure (avg10/avg60/avg300): some {:.2}/{:.2}/{:.2}%  full {:.2}/{:.2}/{:.2}%",
            p.some.avg10, p.some.avg60, p.some.avg300, p.full.avg10, p.full.avg60, p.full.avg300
        )?;
    }
    let header = [
        "Procs", "Usage", "WorkSet", "Limit", "%Lim", "Anon", "File", "Swap",
    ];
    // With --tree, a hierarchy's root (shown on v1 only: the v2 root has no memory files) is the
    // top level and its children are indented under it.
    let root_shown = |version: u8| all.iter().any(|c| c.depth == 0 && c.version == version);
    let rows: Vec<([String; 8], String)> = all
        .iter()
        .map(|c| row(c, args.tree.then(|| indent(c, root_shown(c.version)))))
        .collect();
    let mut widths = header.map(str::len);
    for (figures, _) in &rows {
        for (w, cell) in widths.iter_mut().zip(figures) {
            *w = (*w).max(cell.len());
        }
    }
    write_line(out, &header.map(String::from), &widths, "Cgroup")?;
    for (figures, cgroup) in &rows {
        write_line(out, figures, &widths, cgroup)?;
    }
    if all.iter().any(|c| c.version == 1 && c.depth == 0) {
        writeln!(out, "{V1_ROOT_NOTE}")?;
    }
    // The table first: a reader that has gone away ends us quietly, footer and all.
    out.flush()?;
    if let Some(first) = walk.unreadable.first() {
        // On stderr, as ps reports the processes it was denied.
        let n = walk.unreadable.len();
        eprintln!(
            "memsight: warning: {n} cgroup{} could not be read and {} left out (first: {}: {})",
            if n == 1 { "" } else { "s" },
            if n == 1 { "is" } else { "are" },
            sanitize(&first.path),
            first.error
        );
    }
    Ok(())
}

/// Printed under the table when the cgroup v1 root is in it.
const V1_ROOT_NOTE: &str = "Note: the cgroup v1 root (/) shows the kernel's own figures for it \
(page counts of the whole machine), not a charge counter like its children's: a child can show \
more than /.";

/// Levels to indent `c` by in `--tree`: its depth, less one when its hierarchy's root is not
/// shown (on v2, where the top-level cgroups are then the first level).
fn indent(c: &Cgroup, root_shown: bool) -> usize {
    if root_shown {
        c.depth
    } else {
        c.depth.saturating_sub(1)
    }
}

/// The `--json` document.
#[derive(serde::Serialize)]
struct Output<'a> {
    cgroups: &'a [Cgroup],
    unreadable: &'a [UnreadableCgroup],
    pressure: Option<MemoryPressure>,
}

/// The figure `key` of `c` as a float (a missing one sorts last).
fn sort_value(c: &Cgroup, key: SortKey) -> f64 {
    let bytes = |v: Option<u64>| v.map_or(-1.0, |v| v as f64);
    match key {
        SortKey::Usage => c.usage as f64,
        SortKey::WorkingSet => c.working_set as f64,
        SortKey::Limit => bytes(c.effective_limit),
        SortKey::Pct => c.limit_percent().unwrap_or(-1.0),
        SortKey::Anon => bytes(c.stat.anon),
        SortKey::File => bytes(c.stat.file),
        SortKey::Swap => bytes(c.swap),
    }
}

/// Orders `all` (the walk's order: parents before children) depth-first, each cgroup followed by
/// its descendants, siblings by `key`, largest first.
fn tree_order(all: Vec<Cgroup>, key: impl Fn(&Cgroup) -> f64) -> Vec<Cgroup> {
    let parent_of = |i: usize| {
        let c = &all[i];
        let parent = c
            .path
            .rsplit_once('/')
            .map(|(p, _)| if p.is_empty() { "/" } else { p });
        (0..i).rev().find(|&j| {
            all[j].version == c.version && Some(all[j].path.as_str()) == parent && c.path != "/"
        })
    };
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); all.len()];
    let mut roots = Vec::new();
    for i in 0..all.len() {
        match parent_of(i) {
            Some(p) => children[p].push(i),
            None => roots.push(i),
        }
    }
    let by_key =
        |list: &mut Vec<usize>| list.sort_by(|&a, &b| key(&all[b]).total_cmp(&key(&all[a])));
    by_key(&mut roots);
    children.iter_mut().for_each(by_key);
    let mut order = Vec::with_capacity(all.len());
    let mut stack: Vec<usize> = roots.into_iter().rev().collect();
    while let Some(i) = stack.pop() {
        order.push(i);
        stack.extend(children[i].iter().rev());
    }
    let mut slots: Vec<Option<Cgroup>> = all.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

/// The figures of `c`, and its path (with `--tree`, its last component indented by `tree`
/// levels) with its human name in brackets where one exists and says more than the path.
fn row(c: &Cgroup, tree: Option<usize>) -> ([String; 8], String) {
    let last = c.path.rsplit('/').next().unwrap_or(&c.path);
    let mut cgroup = match tree {
        Some(levels) if c.depth > 0 => format!("{}{}", "  ".repeat(levels), sanitize(last)),
        _ => sanitize(&c.path),
    };
    if let Some(name) = c.name.as_deref().filter(|&n| n != last) {
        cgroup.push_str(&format!(" [{}]", sanitize(name)));
    }
    let size = |v: Option<u64>| v.map_or_else(|| "-".to_owned(), crate::output::bytes2human);
    let figures = [
        c.processes.to_string(),
        crate::output::bytes2human(c.usage),
        crate::output::bytes2human(c.working_set),
        size(c.effective_limit),
        c.limit_percent()
            .map_or_else(|| "-".to_owned(), |p| format!("{p:.1}")),
        size(c.stat.anon),
        size(c.stat.file),
        size(c.swap),
    ];
    (figures, cgroup)
}

/// Right-aligns the figures, then the cgroup.
fn write_line(
    out: &mut impl Write,
    figures: &[String; 8],
    widths: &[usize; 8],
    cgroup: &str,
) -> std::io::Result<()> {
    for (cell, &w) in figures.iter().zip(widths) {
        write!(out, "{cell:>w$}  ")?;
    }
    writeln!(out, "{cgroup}")
}

/// Replaces control and bidirectional formatting characters with `?`, as `ps` does, so a hostile
/// cgroup name cannot send escape sequences to the terminal or reorder the line. `--json` keeps
/// the exact value.
fn sanitize(text: &str) -> String {
    crate::output::sanitize(text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_replaced() {
        assert_eq!(sanitize("a\x1b]0;x\x07b\u{9b}c"), "a?]0;x?b?c");
        assert_eq!(sanitize("sshd.service"), "sshd.service");
        assert_eq!(sanitize("a\u{202E}b\u{2066}c"), "a?b?c");
    }
}
