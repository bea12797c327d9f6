//! The pure part of `memsight top`: the rows of one refresh, each process's history over the
//! window and its growth verdict, and the view (filter, sort, tree, cgroup groups). No I/O and
//! no clock: times come in as seconds, so every rule is tested on synthetic series.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use memsight_leak::stats::{SUSTAINED_GREW, SUSTAINED_WINDOW, slope_ci};

/// One process at one refresh. Sizes in bytes; `None` where the figure could not be read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Proc {
    /// The process id.
    pub pid: u32,
    /// The parent's pid (`stat`), read when the view needs it (tree mode, JSON).
    pub ppid: Option<u32>,
    /// The owner's login name (or uid as text).
    pub username: String,
    /// The owner's uid.
    pub uid: u32,
    /// psutil's process name.
    pub name: String,
    /// The command line, one string per argument.
    pub cmdline: Vec<String>,
    /// USS, PSS, SwapPss and swap (smaps_rollup): `None` when access is denied.
    pub uss: Option<u64>,
    /// Proportional set size.
    pub pss: Option<u64>,
    /// Proportional share of swap (`SwapPss`).
    pub swap_pss: Option<u64>,
    /// Swapped-out memory (`Swap`).
    pub swap: Option<u64>,
    /// Resident set size (statm), always readable.
    pub rss: u64,
    /// Peak RSS (`VmHWM`), read for the rows shown.
    pub peak_rss: Option<u64>,
    /// The memory cgroup's path, read in cgroup mode and for JSON.
    pub cgroup: Option<String>,
}

impl Proc {
    /// Whether smaps_rollup was denied (only RSS is known).
    pub fn denied(&self) -> bool {
        self.uss.is_none()
    }

    /// PSS plus SwapPss: htop's EPSS, the footprint with swap shared out fairly.
    pub fn epss(&self) -> Option<u64> {
        Some(self.pss?.saturating_add(self.swap_pss.unwrap_or(0)))
    }

    /// The figure whose growth is judged: USS (memory only this process holds), or RSS when
    /// USS is denied.
    pub fn tracked(&self) -> u64 {
        self.uss.unwrap_or(self.rss)
    }

    /// The command as `ps` shows it: arguments joined by spaces, or `[name]` without any.
    pub fn command(&self) -> String {
        let args = match self.cmdline.iter().rposition(|a| !a.is_empty()) {
            Some(last) => &self.cmdline[..=last],
            None => &[],
        };
        if args.is_empty() {
            format!("[{}]", self.name)
        } else {
            args.join(" ")
        }
    }
}

/// A growth estimate over the window: the slope of the tracked figure and its 95% interval, in
/// bytes per minute, and whether it makes the process a leak suspect.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Growth {
    /// Least-squares slope, bytes per minute.
    pub per_minute: f64,
    /// The slope interval's lower end, bytes per minute.
    pub low: f64,
    /// The slope interval's upper end, bytes per minute.
    pub high: f64,
    /// Grew in at least [`SUSTAINED_GREW`] of [`SUSTAINED_WINDOW`] equal slices of the window.
    pub sustained: bool,
    /// A leak suspect: sustained, and the interval's lower end above the floor rate.
    pub suspect: bool,
}

/// The fewest samples a growth estimate needs: one per slice of the sign test, plus the start.
pub const MIN_POINTS: usize = SUSTAINED_WINDOW + 1;

/// The shortest stretch of time a growth estimate covers, seconds: below it a burst of
/// allocation at start-up looks like a trend.
pub const MIN_SPAN: f64 = 10.0;

/// The growth verdict on `points` (seconds, bytes), oldest first, with `floor` the slowest growth
/// that counts as a leak in bytes per minute. `None` until the series has [`MIN_POINTS`] samples
/// over at least [`MIN_SPAN`] seconds.
///
/// The slope and its interval are the leak harness's (`memsight_leak::stats::slope_ci`). A
/// suspect needs both: the interval's lower end above `floor`, and growth sustained over the
/// window, the harness's sign test with time slices for batches (the series is cut into
/// [`SUSTAINED_WINDOW`] equal slices by time, and at least [`SUSTAINED_GREW`] of them must rise by
/// half the floor's worth or more). One jump (a 200 MiB allocation held since) rises in one or
/// two slices; a figure that goes up and down cannot rise in two slices running without falling
/// in between, so neither is ever a suspect, however steep its slope looks.
pub fn growth(points: &[(f64, f64)], floor: f64) -> Option<Growth> {
    let (&(t0, _), &(tn, _)) = (points.first()?, points.last()?);
    let span = tn - t0;
    // A NaN span (non-finite times) fails the comparison too.
    if points.len() < MIN_POINTS || span.partial_cmp(&MIN_SPAN).is_none_or(|o| o.is_lt()) {
        return None;
    }
    let x: Vec<f64> = points.iter().map(|p| p.0 - t0).collect();
    let y: Vec<f64> = points.iter().map(|p| p.1).collect();
    let (slope, low, high) = slope_ci(&x, &y);
    if !slope.is_finite() {
        return None;
    }
    let slice = span / SUSTAINED_WINDOW as f64;
    let tolerance = floor / 60.0 * slice / 2.0;
    // The value at a time: the last sample at or before it.
    let at = |t: f64| {
        points
            .iter()
            .take_while(|p| p.0 <= t + 1e-9)
            .last()
            .map_or(points[0].1, |p| p.1)
    };
    let grew = (1..=SUSTAINED_WINDOW)
        .filter(|&k| {
            let (a, b) = (
                t0 + slice * (k - 1) as f64,
                if k == SUSTAINED_WINDOW {
                    tn
                } else {
                    t0 + slice * k as f64
                },
            );
            at(b) - at(a) > tolerance
        })
        .count();
    let sustained = grew >= SUSTAINED_GREW;
    let low_per_minute = low * 60.0;
    Some(Growth {
        per_minute: slope * 60.0,
        low: low_per_minute,
        high: high * 60.0,
        sustained,
        suspect: sustained && low_per_minute > floor,
    })
}

/// One sample of a process's history: seconds, the tracked figure, USS and PSS (0 when denied).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Seconds since the viewer started.
    pub t: f64,
    /// The figure growth is judged on (USS, or RSS when denied), bytes.
    pub tracked: u64,
    /// USS, bytes (0 when denied).
    pub uss: u64,
    /// PSS, bytes (0 when denied).
    pub pss: u64,
}

/// Every process's samples over the last `window` seconds. A process that is gone at a refresh
/// is forgotten, and a pid that comes back under another name starts afresh (it is another
/// process: a reused pid, or an exec).
#[derive(Debug, Default)]
pub struct History {
    window: f64,
    /// Per pid: the name it had, and its samples.
    series: HashMap<u32, (String, VecDeque<Sample>)>,
}

impl History {
    /// An empty history keeping `window` seconds.
    pub fn new(window: f64) -> History {
        History {
            window,
            series: HashMap::new(),
        }
    }

    /// Adds one refresh at time `t`; processes not in `procs` are forgotten.
    pub fn record(&mut self, t: f64, procs: &[Proc]) {
        let alive: HashSet<u32> = procs.iter().map(|p| p.pid).collect();
        self.series.retain(|pid, _| alive.contains(pid));
        for p in procs {
            let (name, s) = self.series.entry(p.pid).or_default();
            if *name != p.name {
                p.name.clone_into(name);
                s.clear();
            }
            s.push_back(Sample {
                t,
                tracked: p.tracked(),
                uss: p.uss.unwrap_or(0),
                pss: p.pss.unwrap_or(0),
            });
            while s.front().is_some_and(|f| t - f.t > self.window) {
                s.pop_front();
            }
        }
    }

    /// The samples of `pid`, oldest first.
    pub fn samples(&self, pid: u32) -> impl Iterator<Item = &Sample> {
        self.series.get(&pid).into_iter().flat_map(|(_, s)| s)
    }

    /// The growth verdict of `pid` (see [`growth`]).
    pub fn growth(&self, pid: u32, floor: f64) -> Option<Growth> {
        let points: Vec<(f64, f64)> = self.samples(pid).map(|s| (s.t, s.tracked as f64)).collect();
        growth(&points, floor)
    }
}

/// What the table is sorted by: also `--sort`'s values (`peak` for the peak RSS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum SortKey {
    /// Process id, smallest first.
    Pid,
    /// User name, A to Z.
    User,
    /// USS, largest first.
    #[default]
    Uss,
    /// PSS, largest first.
    Pss,
    /// PSS + SwapPss, largest first.
    Epss,
    /// Swap, largest first.
    Swap,
    /// RSS, largest first.
    Rss,
    /// Peak RSS, largest first.
    #[value(name = "peak")]
    PeakRss,
    /// Growth, fastest first.
    Growth,
    /// Command, A to Z.
    Command,
}

impl SortKey {
    /// The columns in screen order (`<` and `>` walk them).
    pub const ALL: [SortKey; 10] = [
        SortKey::Pid,
        SortKey::User,
        SortKey::Uss,
        SortKey::Pss,
        SortKey::Epss,
        SortKey::Swap,
        SortKey::Rss,
        SortKey::PeakRss,
        SortKey::Growth,
        SortKey::Command,
    ];

    /// The next column to the left (`-1`) or right (`1`), stopping at the ends.
    pub fn step(self, by: isize) -> SortKey {
        let i = Self::ALL.iter().position(|&k| k == self).unwrap_or(0);
        let j = i.saturating_add_signed(by).min(Self::ALL.len() - 1);
        Self::ALL[j]
    }
}

/// One row of the table: a process, or a cgroup's total in cgroup mode.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The process (for a cgroup row: the sums, with pid 0 and the path as command).
    pub proc: Proc,
    /// The growth verdict (for a cgroup: the members' slopes summed, a suspect if any is).
    pub growth: Option<Growth>,
    /// Depth in tree mode (0 elsewhere).
    pub depth: usize,
    /// Members in cgroup mode (1 elsewhere).
    pub members: usize,
    /// Members whose smaps_rollup was denied (a cgroup's sums leave them out).
    pub denied: usize,
}

impl Row {
    /// The command column: the tree's indent, or a cgroup's path and member count.
    pub fn command(&self) -> String {
        if self.proc.pid == 0 {
            let n = self.members;
            let s = if n == 1 { "" } else { "es" };
            return format!("{} ({n} process{s})", self.proc.name);
        }
        let indent = if self.depth == 0 {
            String::new()
        } else {
            format!("{}`- ", "   ".repeat(self.depth - 1))
        };
        indent + &self.proc.command()
    }

    /// Whether this row is a leak suspect.
    pub fn suspect(&self) -> bool {
        self.growth.is_some_and(|g| g.suspect)
    }
}

/// How the table is arranged: filter, sort, tree or cgroup groups.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct View {
    /// The sort column.
    pub sort: SortKey,
    /// Reverse the column's natural order.
    pub reverse: bool,
    /// Only processes whose name or command line holds this text (case-insensitive).
    pub filter: String,
    /// Only this user's processes (a login name or a uid).
    pub user: Option<String>,
    /// Children under their parents.
    pub tree: bool,
    /// One row per memory cgroup, with its members' totals.
    pub cgroups: bool,
    /// The viewer's own pid, hidden while a filter is set: its command line holds the text
    /// given to `--filter`.
    pub myself: Option<u32>,
}

impl View {
    /// Whether `p` passes the filter and the user.
    pub fn shows(&self, p: &Proc) -> bool {
        let user_ok = self
            .user
            .as_deref()
            .is_none_or(|u| p.username == u || p.uid.to_string() == u);
        if !user_ok {
            return false;
        }
        if self.filter.is_empty() {
            return true;
        }
        if self.myself == Some(p.pid) {
            return false;
        }
        let needle = self.filter.to_lowercase();
        p.name.to_lowercase().contains(&needle)
            || p.cmdline.join(" ").to_lowercase().contains(&needle)
    }

    /// The rows to show, in order.
    pub fn rows(&self, procs: &[Proc], growth: &dyn Fn(u32) -> Option<Growth>) -> Vec<Row> {
        let rows: Vec<Row> = procs
            .iter()
            .filter(|p| self.shows(p))
            .map(|p| Row {
                proc: p.clone(),
                growth: growth(p.pid),
                depth: 0,
                members: 1,
                denied: usize::from(p.denied()),
            })
            .collect();
        if self.cgroups {
            let mut groups = group_by_cgroup(rows);
            self.sort_rows(&mut groups);
            groups
        } else if self.tree {
            self.tree_rows(rows)
        } else {
            let mut rows = rows;
            self.sort_rows(&mut rows);
            rows
        }
    }

    fn sort_rows(&self, rows: &mut [Row]) {
        let key = self.sort;
        rows.sort_by(|a, b| {
            let size = |r: &Row| -> Option<u64> {
                let p = &r.proc;
                match key {
                    SortKey::Uss => p.uss,
                    SortKey::Pss => p.pss,
                    SortKey::Epss => p.epss(),
                    SortKey::Swap => p.swap,
                    SortKey::Rss => Some(p.rss),
                    SortKey::PeakRss => p.peak_rss,
                    _ => None,
                }
            };
            let order = match key {
                SortKey::Pid => a.proc.pid.cmp(&b.proc.pid),
                SortKey::User => a.proc.username.cmp(&b.proc.username),
                SortKey::Command => a.command().cmp(&b.command()),
                SortKey::Growth => {
                    let g = |r: &Row| r.growth.map_or(f64::NEG_INFINITY, |g| g.per_minute);
                    // Suspects first, then the fastest growth.
                    b.suspect().cmp(&a.suspect()).then(g(b).total_cmp(&g(a)))
                }
                // Unknown (denied) sizes sort after every known one.
                _ => size(b).cmp(&size(a)),
            };
            let order = if self.reverse { order.reverse() } else { order };
            order.then(a.proc.pid.cmp(&b.proc.pid))
        });
    }

    /// Depth-first from the processes whose parent is not shown, siblings in sort order.
    fn tree_rows(&self, mut rows: Vec<Row>) -> Vec<Row> {
        self.sort_rows(&mut rows);
        let shown: HashSet<u32> = rows.iter().map(|r| r.proc.pid).collect();
        let mut children: HashMap<u32, Vec<usize>> = HashMap::new();
        let mut roots = Vec::new();
        for (i, r) in rows.iter().enumerate() {
            match r.proc.ppid {
                Some(pp) if pp != r.proc.pid && shown.contains(&pp) => {
                    children.entry(pp).or_default().push(i)
                }
                _ => roots.push(i),
            }
        }
        let mut order = Vec::with_capacity(rows.len());
        let mut seen = vec![false; rows.len()];
        let mut stack: Vec<(usize, usize)> = roots.into_iter().rev().map(|i| (i, 0)).collect();
        while let Some((i, depth)) = stack.pop() {
            if std::mem::replace(&mut seen[i], true) {
                continue;
            }
            order.push((i, depth));
            if let Some(kids) = children.get(&rows[i].proc.pid) {
                stack.extend(kids.iter().rev().map(|&k| (k, depth + 1)));
            }
        }
        // A parent loop (pids reused mid-refresh) leaves rows unreached: list them as roots.
        for (i, done) in seen.iter().enumerate() {
            if !done {
                order.push((i, 0));
            }
        }
        order
            .into_iter()
            .map(|(i, depth)| Row {
                depth,
                ..rows[i].clone()
            })
            .collect()
    }
}

/// One row per cgroup: sums of the members' sizes (saturating), their growth slopes summed and
/// a suspect when any member is one. Processes without a known cgroup go under `?`.
pub fn group_by_cgroup(rows: Vec<Row>) -> Vec<Row> {
    let mut groups: BTreeMap<String, Row> = BTreeMap::new();
    for r in rows {
        let path = r.proc.cgroup.clone().unwrap_or_else(|| "?".to_owned());
        let g = groups.entry(path.clone()).or_insert_with(|| Row {
            proc: Proc {
                name: path,
                uss: Some(0),
                pss: Some(0),
                swap_pss: Some(0),
                swap: Some(0),
                peak_rss: None,
                ..Proc::default()
            },
            growth: None,
            depth: 0,
            members: 0,
            denied: 0,
        });
        let add =
            |a: Option<u64>, b: Option<u64>| Some(a.unwrap_or(0).saturating_add(b.unwrap_or(0)));
        let p = &r.proc;
        g.proc.uss = add(g.proc.uss, p.uss);
        g.proc.pss = add(g.proc.pss, p.pss);
        g.proc.swap_pss = add(g.proc.swap_pss, p.swap_pss);
        g.proc.swap = add(g.proc.swap, p.swap);
        g.proc.rss = g.proc.rss.saturating_add(p.rss);
        g.members += 1;
        g.denied += r.denied;
        if g.proc.username.is_empty() {
            g.proc.username = p.username.clone();
        } else if g.proc.username != p.username {
            g.proc.username = "*".to_owned();
        }
        if let Some(mg) = r.growth {
            let sum = g.growth.get_or_insert(Growth {
                per_minute: 0.0,
                low: 0.0,
                high: 0.0,
                sustained: false,
                suspect: false,
            });
            sum.per_minute += mg.per_minute;
            sum.low += mg.low;
            sum.high += mg.high;
            sum.sustained |= mg.sustained;
            sum.suspect |= mg.suspect;
        }
    }
    groups.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: f64 = 1024.0 * 1024.0;
    const FLOOR: f64 = MIB; // 1 MiB per minute

    fn series(f: impl Fn(f64) -> f64, n: usize, dt: f64) -> Vec<(f64, f64)> {
        (0..n)
            .map(|i| {
                let t = i as f64 * dt;
                (t, f(t))
            })
            .collect()
    }

    #[test]
    fn steady_growth_is_a_suspect() {
        // 1 MiB/s in 1 MiB steps, sampled every 1.1 s for 20 s.
        let s = series(|t| 100.0 * MIB + t.floor() * MIB, 19, 1.1);
        let g = growth(&s, FLOOR).unwrap();
        assert!(g.suspect, "{g:?}");
        assert!((g.per_minute / MIB - 60.0).abs() < 6.0, "{g:?}");
    }

    #[test]
    fn one_jump_held_is_never_a_suspect() {
        // 200 MiB allocated at t = 7 s and held; the slope alone looks significant.
        for jump in [0.5, 3.0, 7.0, 12.0, 18.0] {
            let s = series(|t| if t < jump { 5.0 * MIB } else { 205.0 * MIB }, 21, 1.0);
            let g = growth(&s, FLOOR).unwrap();
            assert!(!g.suspect, "jump at {jump}: {g:?}");
        }
    }

    #[test]
    fn oscillation_is_never_a_suspect() {
        for period in [2.0, 3.0, 5.0, 8.0, 13.0] {
            for n in [10, 20, 40, 60] {
                let s = series(
                    |t| {
                        if (t / period).fract() < 0.5 {
                            10.0 * MIB
                        } else {
                            74.0 * MIB
                        }
                    },
                    n,
                    1.0,
                );
                if let Some(g) = growth(&s, FLOOR) {
                    assert!(!g.suspect, "period {period}, {n} points: {g:?}");
                }
            }
        }
    }

    #[test]
    fn slow_growth_under_the_floor_is_not_a_suspect() {
        // 256 KiB a minute, steady: sustained, but under a 1 MiB/min floor.
        let s = series(|t| 10.0 * MIB + t / 60.0 * MIB / 4.0, 30, 1.0);
        let g = growth(&s, FLOOR).unwrap();
        assert!(!g.suspect, "{g:?}");
    }

    #[test]
    fn too_little_data_gives_no_verdict() {
        assert_eq!(growth(&[], FLOOR), None);
        assert_eq!(growth(&series(|t| t * MIB, 5, 1.0), FLOOR), None);
        // Enough points, too short a span.
        assert_eq!(growth(&series(|t| t * MIB, 20, 0.1), FLOOR), None);
        // Non-finite times never panic.
        let bad = vec![(f64::NAN, 1.0); 12];
        assert_eq!(growth(&bad, FLOOR), None);
    }

    #[test]
    fn history_keeps_the_window_and_forgets_the_gone() {
        let mut h = History::new(10.0);
        let p = |pid, uss| Proc {
            pid,
            uss: Some(uss),
            ..Proc::default()
        };
        for t in 0..30 {
            let mut procs = vec![p(1, t * 1000)];
            if t < 20 {
                procs.push(p(2, 5));
            }
            h.record(t as f64, &procs);
        }
        let s: Vec<f64> = h.samples(1).map(|s| s.t).collect();
        assert_eq!(s.first(), Some(&19.0));
        assert_eq!(s.last(), Some(&29.0));
        assert_eq!(h.samples(2).count(), 0);
        // The pid now names another program: its history starts again.
        let other = Proc {
            name: "other".to_owned(),
            ..p(1, 5)
        };
        h.record(30.0, &[other]);
        assert_eq!(h.samples(1).count(), 1);
    }

    fn proc(pid: u32, ppid: u32, uss: u64, name: &str) -> Proc {
        Proc {
            pid,
            ppid: Some(ppid),
            username: if pid.is_multiple_of(2) {
                "root"
            } else {
                "alice"
            }
            .to_owned(),
            uid: if pid.is_multiple_of(2) { 0 } else { 1000 },
            name: name.to_owned(),
            cmdline: vec![format!("/usr/bin/{name}"), "--flag".to_owned()],
            uss: Some(uss),
            pss: Some(uss + 10),
            swap_pss: Some(1),
            swap: Some(pid as u64),
            rss: uss * 2,
            peak_rss: Some(uss * 3),
            cgroup: Some(format!("/slice{}", pid % 3)),
        }
    }

    fn sample() -> Vec<Proc> {
        vec![
            proc(1, 0, 50, "init"),
            proc(10, 1, 300, "db"),
            proc(11, 10, 100, "db-worker"),
            proc(12, 1, 200, "web"),
            Proc {
                uss: None,
                pss: None,
                swap_pss: None,
                swap: None,
                ..proc(13, 12, 0, "secret")
            },
        ]
    }

    fn pids(rows: &[Row]) -> Vec<u32> {
        rows.iter().map(|r| r.proc.pid).collect()
    }

    #[test]
    fn sorting_by_each_column() {
        let none = |_| None;
        let mut v = View::default();
        assert_eq!(pids(&v.rows(&sample(), &none)), [10, 12, 11, 1, 13]);
        v.reverse = true;
        assert_eq!(pids(&v.rows(&sample(), &none)), [13, 1, 11, 12, 10]);
        v.reverse = false;
        v.sort = SortKey::Pid;
        assert_eq!(pids(&v.rows(&sample(), &none)), [1, 10, 11, 12, 13]);
        v.sort = SortKey::Swap;
        assert_eq!(pids(&v.rows(&sample(), &none)), [12, 11, 10, 1, 13]);
        v.sort = SortKey::Command;
        assert_eq!(pids(&v.rows(&sample(), &none)), [10, 11, 1, 13, 12]);
        v.sort = SortKey::User;
        assert_eq!(pids(&v.rows(&sample(), &none)), [1, 11, 13, 10, 12]);
        assert_eq!(SortKey::Uss.step(-1), SortKey::User);
        assert_eq!(SortKey::Pid.step(-1), SortKey::Pid);
        assert_eq!(SortKey::Command.step(1), SortKey::Command);
    }

    #[test]
    fn growth_sort_puts_suspects_first() {
        let g = |pid| {
            Some(Growth {
                per_minute: f64::from(pid),
                low: 0.0,
                high: 0.0,
                sustained: pid == 1,
                suspect: pid == 1,
            })
        };
        let v = View {
            sort: SortKey::Growth,
            ..View::default()
        };
        assert_eq!(pids(&v.rows(&sample(), &g)), [1, 13, 12, 11, 10]);
    }

    #[test]
    fn filter_and_user() {
        let none = |_| None;
        let mut v = View {
            filter: "DB".to_owned(),
            ..View::default()
        };
        assert_eq!(pids(&v.rows(&sample(), &none)), [10, 11]);
        v.filter = "--flag".to_owned();
        assert_eq!(v.rows(&sample(), &none).len(), 5);
        v.myself = Some(12);
        assert_eq!(v.rows(&sample(), &none).len(), 4);
        v.myself = None;
        v.filter.clear();
        v.user = Some("alice".to_owned());
        assert_eq!(pids(&v.rows(&sample(), &none)), [11, 1, 13]);
        v.user = Some("0".to_owned());
        assert_eq!(pids(&v.rows(&sample(), &none)), [10, 12]);
    }

    #[test]
    fn tree_puts_children_under_parents() {
        let v = View {
            tree: true,
            ..View::default()
        };
        let rows = v.rows(&sample(), &|_| None);
        let got: Vec<(u32, usize)> = rows.iter().map(|r| (r.proc.pid, r.depth)).collect();
        assert_eq!(got, [(1, 0), (10, 1), (11, 2), (12, 1), (13, 2)]);
        assert_eq!(rows[2].command(), "   `- /usr/bin/db-worker --flag");
        // A parent filtered out: its children become roots.
        let v = View {
            tree: true,
            filter: "db".to_owned(),
            ..View::default()
        };
        let got: Vec<(u32, usize)> = v
            .rows(&sample(), &|_| None)
            .iter()
            .map(|r| (r.proc.pid, r.depth))
            .collect();
        assert_eq!(got, [(10, 0), (11, 1)]);
        // A parent loop never hangs and loses no row.
        let mut looped = sample();
        looped[0].ppid = Some(11);
        let v = View {
            tree: true,
            ..View::default()
        };
        assert_eq!(v.rows(&looped, &|_| None).len(), 5);
    }

    #[test]
    fn cgroups_sum_their_members() {
        let v = View {
            cgroups: true,
            ..View::default()
        };
        let g = |pid| {
            (pid == 11).then_some(Growth {
                per_minute: 60.0,
                low: 30.0,
                high: 90.0,
                sustained: true,
                suspect: true,
            })
        };
        let rows = v.rows(&sample(), &g);
        // /slice0: 12; /slice1: 1, 10, 13 (denied); /slice2: 11.
        let by: HashMap<String, &Row> = rows.iter().map(|r| (r.proc.name.clone(), r)).collect();
        let s1 = by["/slice1"];
        assert_eq!(s1.members, 3);
        assert_eq!(s1.denied, 1);
        assert_eq!(s1.proc.uss, Some(350));
        assert_eq!(s1.proc.rss, 700);
        assert_eq!(s1.proc.username, "*");
        assert!(by["/slice2"].suspect());
        assert!(!s1.suspect());
        assert_eq!(pids(&rows), [0, 0, 0]);
        assert_eq!(
            rows.iter()
                .map(|r| r.proc.name.as_str())
                .collect::<Vec<_>>(),
            ["/slice1", "/slice0", "/slice2"]
        );
        assert_eq!(s1.command(), "/slice1 (3 processes)");
    }

    #[test]
    fn denied_rows_sort_last_and_track_rss() {
        let p = &sample()[4];
        assert!(p.denied());
        assert_eq!(p.epss(), None);
        assert_eq!(p.tracked(), p.rss);
        let rows = View::default().rows(&sample(), &|_| None);
        assert_eq!(rows.last().map(|r| r.proc.pid), Some(13));
    }
}
