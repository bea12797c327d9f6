//! The verdict: what grew, by how much per call, in how many batches; psleak's run table.

use std::fmt::{self, Write as _};
use std::time::Duration;

use crate::metric::{Checkers, Metric, SLOTS};
use crate::policy::{BUDGET, Policy, series};
use crate::stats::slope_ci;

/// How a check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Consecutive batches showed no growth on any checked metric.
    Clean,
    /// Something grew at first and then stopped (a cache that fills up): passes, and the report
    /// says how much it grew over how many calls.
    Bounded,
    /// Growth persisted: see [`LeakReason`].
    Leak(LeakReason),
}

/// Why a leak was declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeakReason {
    /// At least 7 of the last 8 batches grew and the slope's 95% interval excludes zero (for fds
    /// and threads: the count was still higher after a settle in two windows in a row).
    Persistent,
    /// Growth in every batch would have exceeded the memory budget, so the check stopped early.
    MemoryBudget,
    /// The call budget ran out while growth kept appearing and the slope's interval excluded 0.
    CallBudget,
}

/// One batch of calls and what each checked metric did over it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batch {
    /// Calls in the batch.
    pub calls: u64,
    /// The change of every metric over the batch (0 for metrics that were not checked): read
    /// it with [`Batch::delta`].
    pub delta: [i64; SLOTS],
    /// The change in live Rust-heap blocks.
    pub rust_blocks: i64,
}

impl Batch {
    /// The change of metric `m` over this batch (bytes or count).
    pub fn delta(&self, m: Metric) -> i64 {
        self.delta[m.index()]
    }
}

/// The summary of one metric over all batches after the warm-up.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricReport {
    /// The metric.
    pub metric: Metric,
    /// Total change over the batches (bytes or count).
    pub total: i64,
    /// Least-squares growth per call over the batches (bytes or count per call).
    pub per_call: f64,
    /// The 95% confidence interval of `per_call`.
    pub ci: (f64, f64),
    /// Live Rust-heap blocks per call (only for [`Metric::RustHeap`]).
    pub blocks_per_call: Option<f64>,
    /// Batches in which the metric grew beyond its tolerance.
    pub grew: usize,
    /// Batches measured.
    pub batches: usize,
    /// Whether this metric is the reason for a leak verdict.
    pub leaking: bool,
}

/// Where leaked Rust-heap blocks were allocated: one distinct stack, found by re-running the
/// function a few times with [`memsight::heap::CountingAlloc::start_tracking`] on after a leak
/// verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocationSite {
    /// Blocks from this stack still live after the extra calls.
    pub blocks: usize,
    /// Their requested bytes.
    pub bytes: usize,
    /// The innermost frames outside the allocator and the standard library: `function` or
    /// `function at file:line:col`.
    pub stack: Vec<String>,
}

/// Everything a check measured. Returned on success, and carried by [`LeakError`] on failure.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The function's name (its type name, or what [`LeakTest::name`](crate::LeakTest::name) set).
    pub name: String,
    /// How the check ended.
    pub verdict: Verdict,
    /// Calls made in total, including the first call and the warm-up.
    pub calls: u64,
    /// Calls before the first measured batch (the first call plus the warm-up).
    pub warmup_calls: u64,
    /// Wall time of the whole check.
    pub elapsed: Duration,
    /// The built-in metrics that were checked (probes' metrics are in `metrics`).
    pub checked: Checkers,
    /// Per-metric summaries, for every checked metric.
    pub metrics: Vec<MetricReport>,
    /// The measured batches, in order.
    pub batches: Vec<Batch>,
    /// The one-call windows after the warm-up in which fds and threads are first compared
    /// (only their fds and threads deltas are filled in). Counted in the fds and threads
    /// summaries, not in the memory ones.
    pub probes: Vec<Batch>,
    /// Fds and threads opened by the very first call (psleak blames these; they are only
    /// reported here, since a lazily started pool or cached fd is not a leak).
    pub first_call: (i64, i64),
    /// Whether glibc's per-thread cache (tcache) was on: it can hide up to 7 chunks per size
    /// class and thread from `heap_used`. Re-run with [`crate::disable_glibc_tcache`] to rule out.
    pub tcache: bool,
    /// Things worth knowing: metrics that could not be measured, other threads running, ...
    pub notes: Vec<String>,
    /// For a Rust-heap leak with `CountingAlloc` installed: where the leaked blocks come from
    /// (most blocks first), from a few extra calls made after the verdict (not in `calls`).
    pub allocation_sites: Vec<AllocationSite>,
    /// For a leak on the native heap, mmap, USS, RSS or a probe: the allocation stacks whose
    /// live bytes grew with the number of calls in the attribution phase (a few batches run
    /// after the verdict with the C allocators hooked, not counted in `calls`), most bytes per
    /// call first. Empty when none grew, and where sites are not supported
    /// ([`crate::sites::unsupported`]; a note says so).
    pub leak_sites: Vec<crate::sites::LeakSite>,
}

impl Report {
    /// The summary of metric `m`, if it was checked.
    pub fn metric(&self, m: Metric) -> Option<&MetricReport> {
        self.metrics.iter().find(|r| r.metric == m)
    }

    /// Every checked metric (built-in ones, then probes'), in report order.
    fn columns(&self) -> impl Iterator<Item = Metric> + '_ {
        self.metrics.iter().map(|r| r.metric)
    }

    /// Whether the check passed (clean or bounded growth).
    pub fn passed(&self) -> bool {
        !matches!(self.verdict, Verdict::Leak(_))
    }
}

fn unit(m: Metric) -> &'static str {
    if m.is_bytes() { " B" } else { "" }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.verdict {
            Verdict::Clean => "no leak".to_owned(),
            Verdict::Bounded => "bounded growth, then stable (passes)".to_owned(),
            Verdict::Leak(LeakReason::Persistent) => "LEAK: growth persisted".to_owned(),
            Verdict::Leak(LeakReason::MemoryBudget) => {
                "LEAK: stopped at the memory budget, growing in every batch".to_owned()
            }
            Verdict::Leak(LeakReason::CallBudget) => {
                "LEAK: call budget exhausted, still growing".to_owned()
            }
        };
        writeln!(
            f,
            "{what} in '{}' after {} calls ({} warm-up + {} batches) in {:.1} ms",
            self.name,
            self.calls,
            self.warmup_calls,
            self.batches.len(),
            self.elapsed.as_secs_f64() * 1e3
        )?;
        for r in &self.metrics {
            if r.total == 0 && r.grew == 0 && !r.leaking {
                continue;
            }
            let mut line = format!(
                "  {}{:<10} {:+.3}{}/call (95% CI {:+.3}..{:+.3})",
                if r.leaking { "* " } else { "  " },
                r.metric.name(),
                r.per_call,
                unit(r.metric),
                r.ci.0,
                r.ci.1
            );
            if let Some(b) = r.blocks_per_call {
                let _ = write!(line, ", {b:+.3} blocks/call");
            }
            let _ = write!(
                line,
                ", total {:+}{}, grew in {}/{} batches",
                r.total,
                unit(r.metric),
                r.grew,
                r.batches
            );
            writeln!(f, "{line}")?;
        }
        if !self.leak_sites.is_empty() {
            writeln!(
                f,
                "  leaking sites (live bytes that grew with every batch; caches that stopped \
                 growing are left out):"
            )?;
            for site in &self.leak_sites {
                writeln!(f, "    {site}")?;
            }
        }
        if self.first_call != (0, 0) {
            writeln!(
                f,
                "  first call: fds {:+}, threads {:+} (not blamed: lazy initialisation)",
                self.first_call.0, self.first_call.1
            )?;
        }
        for note in &self.notes {
            writeln!(f, "  note: {note}")?;
        }
        for site in &self.allocation_sites {
            writeln!(
                f,
                "  allocated at ({} live blocks, {} B):",
                site.blocks, site.bytes
            )?;
            for frame in &site.stack {
                writeln!(f, "      {frame}")?;
            }
        }
        for (i, p) in self.probes.iter().enumerate() {
            let parts: Vec<String> = self
                .columns()
                .filter(|m| m.is_resource())
                .map(|m| format!("{}={:+}", m.name(), p.delta(m)))
                .collect();
            writeln!(
                f,
                "Probe #{}: {:<50} (calls=   1)",
                i + 1,
                parts.join(" | ")
            )?;
        }
        // psleak's run table: `Run #N: k=+v | ... (calls=N, avg/call=+X)`, here per batch, with
        // avg/call taken from the first metric that made the verdict, in its own unit and named
        // (`avg/call=+1.00 py_blocks`: a count probe's growth does not read as +0 bytes), else
        // from the largest byte metric.
        let shown = self.metrics.iter().find(|r| r.leaking).map(|r| r.metric);
        for (i, b) in self.batches.iter().enumerate() {
            let parts: Vec<String> = self
                .columns()
                .filter(|&m| b.delta(m) != 0)
                .map(|m| format!("{}={:+}", m.name(), b.delta(m)))
                .collect();
            let total = match shown {
                Some(m) => b.delta(m),
                None => self
                    .columns()
                    .filter(|m| m.is_bytes())
                    .map(|m| b.delta(m))
                    .max()
                    .unwrap_or(0),
            };
            let avg = if b.calls > 0 {
                total as f64 / b.calls as f64
            } else {
                0.0
            };
            let avg = match shown {
                Some(m) => format!("{avg:+.2}{} {}", unit(m), m.name()),
                None => format!("{avg:+.2}"),
            };
            writeln!(
                f,
                "Batch #{:>2}: {:<50} (calls={:>4}, avg/call={avg})",
                i + 1,
                parts.join(" | "),
                b.calls,
            )?;
        }
        Ok(())
    }
}

/// What the driver knows at the end of a check, beyond the policy's batches.
pub(crate) struct Outcome {
    pub(crate) name: String,
    pub(crate) verdict: Verdict,
    /// The resource that ended the check, if one did.
    pub(crate) unclosed: Option<Metric>,
    pub(crate) calls: u64,
    pub(crate) warmup_calls: u64,
    pub(crate) elapsed: Duration,
    pub(crate) checked: Checkers,
    pub(crate) first_call: (i64, i64),
    pub(crate) tcache: bool,
    pub(crate) notes: Vec<String>,
}

/// Summarises the policy's batches into a report: per-metric slope, interval, total, and which
/// metrics made the verdict.
pub(crate) fn summarise(policy: &Policy, o: Outcome) -> Report {
    let window_leaks: Vec<Metric> = match o.verdict {
        Verdict::Leak(LeakReason::Persistent) => policy.leaking_in_window().collect(),
        _ => Vec::new(),
    };
    let probes: Vec<Batch> = policy.probes().to_vec();
    let with_probes: Vec<Batch> = probes.iter().chain(policy.batches()).copied().collect();
    let metrics = policy
        .columns()
        .iter()
        .map(|&m| {
            // Resources are judged from the one-call probe windows on.
            let batches = if m.is_resource() {
                &with_probes[..]
            } else {
                policy.batches()
            };
            let (x, y) = series(batches, m);
            let (per_call, lo, hi) = slope_ci(&x, &y);
            let blocks_per_call = (m == Metric::RustHeap).then(|| {
                let mut c = 0f64;
                let yb: Vec<f64> = std::iter::once(0.0)
                    .chain(policy.batches().iter().map(|b| {
                        c += b.rust_blocks as f64;
                        c
                    }))
                    .collect();
                slope_ci(&x, &yb).0
            });
            let grew = batches.iter().filter(|b| policy.grew_m(b, m)).count();
            let total = batches.iter().map(|b| b.delta(m)).sum();
            let leaking = match o.verdict {
                Verdict::Leak(LeakReason::Persistent) => {
                    window_leaks.contains(&m) || o.unclosed == Some(m)
                }
                Verdict::Leak(_) => grew > 0 && lo > 0.0 || (total > 0 && BUDGET.contains(&m)),
                _ => false,
            };
            MetricReport {
                metric: m,
                total,
                per_call,
                ci: (lo, hi),
                blocks_per_call,
                grew,
                batches: batches.len(),
                leaking,
            }
        })
        .collect();
    Report {
        name: o.name,
        verdict: o.verdict,
        calls: o.calls,
        warmup_calls: o.warmup_calls,
        elapsed: o.elapsed,
        checked: o.checked,
        metrics,
        batches: policy.batches().to_vec(),
        probes,
        first_call: o.first_call,
        tcache: o.tcache,
        notes: o.notes,
        allocation_sites: Vec::new(),
        leak_sites: Vec::new(),
    }
}

/// A failed check. Implements `Display` (the full report) and `std::error::Error`; `Debug`
/// prints the same report, so `LeakTest::new().check(f).unwrap()` shows it in a failing test.
#[non_exhaustive]
pub enum LeakError {
    /// Memory kept growing: the report says which metric, by how much per call.
    Memory(Box<Report>),
    /// File descriptors stayed open: `fds` are `fd -> target` of the new ones. Windows: handles,
    /// as `value -> type` (`0x1a4 -> Event`, `0x1b0 -> File: \\?\C:\...`).
    UnclosedFds {
        /// How many more descriptors (Windows: handles) are open than after the warm-up.
        count: i64,
        /// The new descriptors and their link targets, e.g. `5 -> /dev/null`.
        fds: Vec<String>,
        /// What was measured.
        report: Box<Report>,
    },
    /// Threads stayed alive: `threads` are `tid (name)` of the new ones.
    UnclosedThreads {
        /// How many more threads exist than after the warm-up.
        count: i64,
        /// The new threads, as `tid (comm name)`.
        threads: Vec<String>,
        /// What was measured.
        report: Box<Report>,
    },
    /// Child processes ([`Metric::Children`]: forked and never waited for) or a
    /// [`ProbeKind::Resource`](crate::ProbeKind::Resource) probe's count stayed higher.
    Unclosed {
        /// The metric.
        metric: Metric,
        /// How much higher than after the warm-up.
        count: i64,
        /// The new items: `PID (name)` of child processes (`zombie` when never waited for), or
        /// as the probe names them ([`Probe::items`](crate::Probe::items)).
        items: Vec<String>,
        /// What was measured.
        report: Box<Report>,
    },
    /// The tested function closed or replaced a file descriptor the harness itself holds (it
    /// ran `close_range(3, ~0)`, or closed descriptors it does not own and opened others under
    /// the same numbers). The check stops there: its figures could no longer be trusted. The
    /// harness then never touches that number again.
    FdClosedUnderHarness {
        /// The harness's descriptor (its `/proc/self` directory).
        fd: i32,
        /// What became of it: `closed (...)`, or `replaced: it now refers to ...`.
        now: String,
        /// Calls made when it was found (the descriptor was fine before the last ones).
        after_call: u64,
    },
    /// [`LeakTest::check_err`](crate::LeakTest::check_err): a call returned `Ok`.
    DidNotFail {
        /// The 1-based number of the call that succeeded.
        call: u64,
        /// The function's name.
        name: String,
    },
    /// The check could not run (e.g. `/proc` unreadable, or `Threads::Calling` without
    /// `CountingAlloc`).
    Setup(String),
}

impl LeakError {
    /// Fills in how many calls had been made when the harness found its descriptor gone.
    pub(crate) fn at_call(self, calls: u64) -> LeakError {
        match self {
            LeakError::FdClosedUnderHarness { fd, now, .. } => LeakError::FdClosedUnderHarness {
                fd,
                now,
                after_call: calls,
            },
            e => e,
        }
    }

    /// The measurements, for the variants that have them.
    pub fn report(&self) -> Option<&Report> {
        match self {
            LeakError::Memory(r) => Some(r),
            LeakError::UnclosedFds { report, .. }
            | LeakError::UnclosedThreads { report, .. }
            | LeakError::Unclosed { report, .. } => Some(report),
            LeakError::DidNotFail { .. }
            | LeakError::FdClosedUnderHarness { .. }
            | LeakError::Setup(_) => None,
        }
    }
}

impl fmt::Display for LeakError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LeakError::Memory(r) => write!(f, "memory leak detected: {r}"),
            LeakError::UnclosedFds { count, fds, report } => {
                writeln!(
                    f,
                    "{count} unclosed {FDS}(s) after calling '{}':",
                    report.name
                )?;
                for fd in fds {
                    writeln!(f, "* {fd}")?;
                }
                write!(f, "{report}")
            }
            LeakError::UnclosedThreads {
                count,
                threads,
                report,
            } => {
                writeln!(
                    f,
                    "{count} unclosed thread(s) after calling '{}':",
                    report.name
                )?;
                for t in threads {
                    writeln!(f, "* {t}")?;
                }
                write!(f, "{report}")
            }
            LeakError::Unclosed {
                metric,
                count,
                items,
                report,
            } => {
                writeln!(
                    f,
                    "{count} unclosed {metric} after calling '{}':",
                    report.name
                )?;
                for i in items {
                    writeln!(f, "* {i}")?;
                }
                write!(f, "{report}")
            }
            LeakError::FdClosedUnderHarness {
                fd,
                now,
                after_call,
            } => write!(
                f,
                "leak check stopped: the tested function closed or replaced the harness's own \
                 file descriptor {fd} (/proc/self) within the first {after_call} call(s): {now}. \
                 A function that closes descriptors it did not open (close_range, closefrom, a \
                 loop over close) cannot be leak-checked in this process"
            ),
            LeakError::DidNotFail { call, name } => {
                write!(f, "'{name}' did not fail: call #{call} returned Ok")
            }
            LeakError::Setup(why) => write!(f, "leak check could not run: {why}"),
        }
    }
}

impl fmt::Debug for LeakError {
    /// The report, as `Display` prints it: `.unwrap()` on a failed check shows what leaked
    /// rather than the structure's fields.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for LeakError {}

/// What [`Metric::Fds`] counts, in messages.
#[cfg(not(windows))]
const FDS: &str = "file descriptor";
#[cfg(windows)]
const FDS: &str = "handle";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_of_an_error_is_its_report() {
        let e = LeakError::Setup("no /proc".to_owned());
        assert_eq!(format!("{e:?}"), format!("{e}"));
        assert_eq!(format!("{e:?}"), "leak check could not run: no /proc");
    }
}
