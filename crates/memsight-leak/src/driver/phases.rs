//! The check's phases, in order: setup, first call, warm-up, baselines, resource windows,
//! batches, then (after the verdict) the Rust-heap sites, the native allocation sites, the
//! plot and the unclosed resources' names. [`LeakTest::run`](super::LeakTest) strings them
//! together; each is a method of [`Check`] with what it needs from the ones before passed in.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use memsight::heap::CountingAlloc;

use super::{LeakTest, describe_process, resource_growth};
use crate::attribution::{ATTRIBUTION_CALLS, attribute};
use crate::metric::{Checkers, MAX_PROBES, Metric, ProbeMetric, SLOTS, Threads};
use crate::plot::PLOT_DIR_ENV;
use crate::policy::{Budget, Decision, PROBE_WINDOWS, Policy, Rules};
use crate::report::{Batch, LeakError, Report, Verdict};
use crate::sampler::{Sample, Sampler, quiesce};

/// What setup decided: the metrics to check, the notes so far, the sampler.
pub(super) struct Setup {
    pub(super) checked: Checkers,
    pub(super) notes: Vec<String>,
    pub(super) tcache: bool,
    pub(super) tolerance: [i64; SLOTS],
    pub(super) probe_metrics: Vec<Metric>,
    pub(super) sampler: Sampler,
}

/// Setup: which metrics can be measured here, the probes' slots, the sampler (warmed with one
/// throw-away sample), and notes on what is left out and why.
pub(super) fn setup(t: &LeakTest) -> Result<Setup, LeakError> {
    let mut notes = Vec::new();
    let mut checked = match (t.checkers, t.threads) {
        (Some(c), _) => c,
        (None, Threads::All) => Checkers::all(),
        (None, Threads::Calling) => Checkers::only(&[Metric::RustHeap]),
    };
    if checked.contains(Metric::RustHeap) && !CountingAlloc::is_installed() {
        if t.threads == Threads::Calling {
            return Err(LeakError::Setup(
                "Threads::Calling needs `#[global_allocator] static A: \
                 memsight::heap::CountingAlloc = CountingAlloc::system();`"
                    .to_owned(),
            ));
        }
        checked = checked.without(Metric::RustHeap);
        notes.push(
            "rust_heap not measured: memsight::heap::CountingAlloc is not the global \
             allocator (Rust allocations still show in heap, at chunk granularity)"
                .to_owned(),
        );
    }
    if (checked.contains(Metric::HeapUsed) || checked.contains(Metric::MmapUsed))
        && let Err(e) = memsight::heap::info()
    {
        checked = checked.without(Metric::HeapUsed).without(Metric::MmapUsed);
        notes.push(format!("native heap not measured: {e}"));
    }
    #[cfg(windows)]
    {
        // /proc/self/maps has no Windows counterpart worth its cost: VirtualAlloc'd regions
        // are in mmap already. The heap count goes with the native heap.
        // USS needs a walk of the working set (QueryWorkingSet: 70 ms a sample under Wine);
        // RSS and VMS are the working set and the private bytes there.
        checked = checked
            .without(Metric::Maps)
            .without(Metric::MapsAnon)
            .without(Metric::Uss);
        if !checked.contains(Metric::HeapUsed) && !checked.contains(Metric::MmapUsed) {
            checked = checked.without(Metric::HeapCount);
        }
    }
    #[cfg(not(windows))]
    let tcache = (checked.contains(Metric::HeapUsed) || checked.contains(Metric::MmapUsed))
        && !crate::glibc_tcache_disabled();
    #[cfg(windows)]
    let tcache = false;
    if t.probes.len() > MAX_PROBES {
        return Err(LeakError::Setup(format!(
            "{} probes added: at most {MAX_PROBES} per check",
            t.probes.len()
        )));
    }
    let mut probes = Vec::with_capacity(t.probes.len());
    let mut tolerance = t.tolerance;
    for (slot, p) in (0u8..).zip(&t.probes) {
        let m = ProbeMetric {
            slot,
            name: p.name(),
            kind: p.kind(),
        };
        checked = checked.with(Metric::Probe(m));
        tolerance[Metric::Probe(m).index()] = i64::try_from(p.tolerance()).unwrap_or(i64::MAX);
        probes.push((m, p.clone()));
    }
    let probe_metrics: Vec<Metric> = probes.iter().map(|(m, _)| Metric::Probe(*m)).collect();
    let mut sampler = Sampler::new(checked, probes, t.threads, t.trim, t.settle)?;
    // Only another thread can still be allocating: a process running on the calling thread
    // alone (a Python test under pytest) is quiet already, and waiting for it costs a
    // millisecond per check. A Rust test harness has its main thread beside the test's.
    if t.threads == Threads::All && !sampler.proc_self.threads().is_ok_and(|n| n == 1) && !quiesce()
    {
        notes.push(
            "other threads kept allocating while the check started (waited 50 ms for them to \
             settle): their work may show in the figures"
                .to_owned(),
        );
    }
    // smaps_rollup appeared in Linux 4.14: without it, go on without USS.
    #[cfg(not(windows))]
    if checked.contains(Metric::Uss)
        && let Err(e) = sampler.proc_self.uss()
    {
        checked = checked.without(Metric::Uss);
        sampler.checked = checked;
        notes.push(format!("uss not measured: /proc/self/smaps_rollup: {e}"));
    }
    // One throw-away sample warms whatever the readers initialise lazily.
    sampler.sample()?;
    if t.threads == Threads::All
        && let Ok(n) = sampler.proc_self.threads()
        && n > 2
    {
        notes.push(format!(
            "{} other threads were running: process-wide figures include their work (under \
             `cargo test` use --test-threads=1, cargo nextest, or Threads::Calling)",
            n - 1
        ));
    }
    Ok(Setup {
        checked,
        notes,
        tcache,
        tolerance,
        probe_metrics,
        sampler,
    })
}

/// Calls that fit in the time left, at the time a call has taken so far (at least 1 while
/// time is left; unbounded before any call took measurable time).
pub(super) fn time_room(left: Option<Duration>, calls: u64, call_time: Duration) -> u64 {
    let Some(left) = left else {
        return 0;
    };
    let per_call = call_time.as_secs_f64() / calls.max(1) as f64;
    if per_call <= 0.0 {
        return u64::MAX;
    }
    ((left.as_secs_f64() / per_call) as u64).max(1)
}

/// How the platform's reader names a descriptor (Windows: a handle, as text).
#[cfg(not(windows))]
type FdId = i32;
#[cfg(windows)]
type FdId = String;

/// Calls per attribution batch: enough for the leak to add about 4 blocks to each (its rate
/// from the verdict: a byte metric's growth per call counted in 32-byte chunks, a count's as
/// is), between 8 and the verdict's last batch size. A leak of a block or more a call needs 8
/// calls a batch, not 512 (64 calls in all instead of 4,096: every call of the phase walks the
/// stack of each allocation it makes); one chunk every 100 calls keeps the verdict's batches.
pub(super) fn site_batch(report: &Report, largest: u64) -> u64 {
    let blocks_per_call = report
        .metrics
        .iter()
        .filter(|m| m.leaking && m.metric.has_sites() && m.per_call > 0.0)
        .map(|m| {
            if m.metric.is_bytes() {
                m.per_call / 32.0
            } else {
                m.per_call
            }
        })
        .fold(0.0f64, f64::max);
    if blocks_per_call <= 0.0 {
        return largest;
    }
    ((4.0 / blocks_per_call).ceil() as u64).clamp(8.min(largest), largest.max(1))
}

/// The names of resources before the windows, to name the new ones after a failure.
#[derive(Default)]
pub(super) struct Baselines {
    fds: Vec<(FdId, String)>,
    threads: Vec<(u32, String)>,
    items: Vec<(Metric, Vec<String>)>,
    children: Vec<i32>,
    #[cfg(windows)]
    heaps: Vec<String>,
}

/// A check in progress: the function, the sampler, the policy, the budgets, the calls so far.
pub(super) struct Check<'t, F> {
    pub(super) t: &'t LeakTest,
    pub(super) f: F,
    pub(super) name: String,
    pub(super) start: Instant,
    pub(super) calls: u64,
    pub(super) call_time: Duration,
    pub(super) checked: Checkers,
    pub(super) notes: Vec<String>,
    pub(super) sampler: Sampler,
    pub(super) policy: Policy,
    pub(super) budget: Budget,
    #[cfg(not(windows))]
    pid: rustix::process::Pid,
}

impl<'t, F: FnMut() -> bool> Check<'t, F> {
    /// A check of `f` after [`setup`].
    pub(super) fn new(t: &'t LeakTest, name: String, f: F, s: Setup, start: Instant) -> Self {
        let columns: Vec<Metric> = s.checked.iter().chain(s.probe_metrics).collect();
        let policy = Policy::new(
            Rules {
                batch: t.batch,
                max_batch: t.max_batch,
                clean_batches: t.clean_batches,
                tolerance: s.tolerance,
            },
            columns,
        );
        Check {
            t,
            f,
            name,
            start,
            calls: 0,
            call_time: Duration::ZERO,
            checked: s.checked,
            notes: s.notes,
            sampler: s.sampler,
            policy,
            budget: Budget::new(t.memory_budget, s.checked),
            #[cfg(not(windows))]
            pid: rustix::process::getpid(),
        }
    }

    /// Calls the function `n` times. A forked child that returns here ends at once; a call
    /// that did not fail when it had to ends the check.
    fn call(&mut self, n: u64) -> Result<(), LeakError> {
        let t = Instant::now();
        for _ in 0..n {
            self.calls += 1;
            let ok = (self.f)();
            #[cfg(not(windows))]
            if rustix::process::getpid() != self.pid {
                super::exit_forked_child();
            }
            if !ok {
                return Err(LeakError::DidNotFail {
                    call: self.calls,
                    name: self.name.clone(),
                });
            }
        }
        self.call_time += t.elapsed();
        Ok(())
    }

    /// Calls that fit in the time left.
    fn room(&self) -> u64 {
        time_room(
            self.t.time_budget.checked_sub(self.start.elapsed()),
            self.calls,
            self.call_time,
        )
    }

    /// A progress line on stderr at verbosity `level` and above.
    fn progress(&self, level: u8, stage: &str, b: Option<&Batch>) {
        if self.t.verbosity < level {
            return;
        }
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "memsight-leak: {}: {stage}: {} calls, {:.3} s",
            self.name,
            self.calls,
            self.start.elapsed().as_secs_f64()
        );
        if let Some(b) = b {
            for &m in self.policy.columns().iter().filter(|&&m| b.delta(m) != 0) {
                let _ = write!(err, " {m}={:+}", b.delta(m));
            }
        }
        let _ = writeln!(err);
    }

    /// The first call: fds and threads it opens are reported, not blamed. Returns them and the
    /// sample after it (memory growth from here on counts against the budget).
    pub(super) fn first_call(&mut self) -> Result<((i64, i64), Sample), LeakError> {
        let calls = self.calls;
        let s0 = self.sampler.sample().map_err(|e| e.at_call(calls))?;
        self.call(1)?;
        let calls = self.calls;
        let s1 = self.sampler.settled(&s0).map_err(|e| e.at_call(calls))?;
        let first = (
            s1.v[Metric::Fds.index()] - s0.v[Metric::Fds.index()],
            s1.v[Metric::Threads.index()] - s0.v[Metric::Threads.index()],
        );
        // Not a rate yet: a large first call is as likely lazy initialisation as a leak.
        self.budget.origin = s0;
        self.progress(1, "first call", None);
        Ok((first, s1))
    }

    /// The warm-up, in doubling pieces so that a huge leak cannot run past the memory budget;
    /// stops at a quarter of the time budget. Returns the last sample.
    pub(super) fn warm_up(&mut self, mut prev: Sample) -> Result<Sample, LeakError> {
        let mut left = self.t.warmup;
        let mut piece = 1u64;
        while left > 0
            && !self.budget.exceeded(&prev)
            && self.start.elapsed() < self.t.time_budget / 4
        {
            let n = piece
                .min(left)
                .min(self.budget.affordable(&prev))
                .min(self.room());
            self.call(n)?;
            self.progress(2, "warm-up", None);
            let calls = self.calls;
            let s = self.sampler.sample_light().map_err(|e| e.at_call(calls))?;
            self.budget.observe(&prev, &s, n);
            prev = s;
            left -= n;
            piece = piece.saturating_mul(2);
        }
        self.progress(1, "warm-up done", None);
        Ok(prev)
    }

    /// The names of fds, threads, probe items, children (and Windows heaps) now, outside every
    /// window (this allocates).
    pub(super) fn baselines(&mut self) -> Baselines {
        let checked = self.checked;
        let sampler = &mut self.sampler;
        Baselines {
            fds: if checked.contains(Metric::Fds) {
                sampler.proc_self.fd_targets()
            } else {
                Vec::new()
            },
            threads: if checked.contains(Metric::Threads) {
                sampler.proc_self.thread_names()
            } else {
                Vec::new()
            },
            items: self
                .policy
                .columns()
                .iter()
                .filter(|m| matches!(m, Metric::Probe(_)) && m.is_resource())
                .map(|&m| (m, sampler.probe_items(m)))
                .collect(),
            children: if checked.contains(Metric::Children) {
                sampler.proc_self.child_pids()
            } else {
                Vec::new()
            },
            #[cfg(windows)]
            heaps: if checked.contains(Metric::HeapCount) {
                sampler.proc_self.heaps()
            } else {
                Vec::new()
            },
        }
    }

    /// Two one-call windows for resources, with full samples (they also let the process
    /// settle before the batches' baseline). Returns the decision so far and the baseline of
    /// the batches.
    pub(super) fn resource_windows(
        &mut self,
        warm: &Sample,
    ) -> Result<(Decision, Sample), LeakError> {
        let mut decision = Decision::Continue;
        let calls = self.calls;
        let mut prev = self.sampler.sample().map_err(|e| e.at_call(calls))?;
        for _ in 0..PROBE_WINDOWS {
            if self.budget.exceeded(warm) {
                break;
            }
            self.call(1)?;
            let calls = self.calls;
            let s = self.sampler.settled(&prev).map_err(|e| e.at_call(calls))?;
            let window = self.policy.between(&prev, &s, 1);
            self.progress(2, "resource window", Some(&window));
            decision = self.policy.probe_window(window);
            prev = s;
            if decision != Decision::Continue {
                break;
            }
        }
        Ok((decision, prev))
    }

    /// Batches until the policy decides (or a budget ends the check). Returns the decision
    /// and the last sample.
    pub(super) fn batches(
        &mut self,
        mut decision: Decision,
        mut prev: Sample,
    ) -> Result<(Decision, Sample), LeakError> {
        let mut out_of_calls_note = None;
        // Set when the time left cut a batch short: a verdict from such batches was reached
        // because of the budget, and the report must say so even when it came before the
        // time left reached zero.
        let mut cut_by_time = false;
        while decision == Decision::Continue {
            if self.budget.exceeded(&prev) {
                decision = Decision::Leak(crate::LeakReason::MemoryBudget);
                break;
            }
            let n = self
                .policy
                .batch_size()
                .min(self.budget.affordable(&prev))
                .min(self.t.call_budget.saturating_sub(self.calls));
            let in_time = n.min(self.room());
            cut_by_time |= in_time < n;
            let n = in_time;
            if n == 0 || self.policy.full() {
                let (v, note) = self.policy.out_of_calls();
                out_of_calls_note = note;
                decision = match v {
                    Verdict::Leak(r) => Decision::Leak(r),
                    v => Decision::Pass(v),
                };
                break;
            }
            self.call(n)?;
            let calls = self.calls;
            let s = self.sampler.settled(&prev).map_err(|e| e.at_call(calls))?;
            let batch = self.policy.between(&prev, &s, n);
            self.progress(1, "batch", Some(&batch));
            decision = self.policy.record(batch);
            self.budget.observe(&prev, &s, n);
            prev = s;
        }
        if cut_by_time {
            self.notes.push(format!(
                "the time budget ({:?}) ran out after {} calls",
                self.t.time_budget, self.calls
            ));
        }
        self.notes.extend(out_of_calls_note.map(str::to_owned));
        if self.policy.extended() > 0 {
            self.notes.push(format!(
                "rss, uss or vms kept growing while the native heap did not: measured {} more \
                 batches to see whether it stops (the allocator's pages fill in steps while a \
                 cache of small blocks fills)",
                self.policy.extended()
            ));
        }
        for m in self.policy.noisy() {
            self.notes.push(format!(
                "{m} went down as well as up between batches: judged by its trend, like RSS"
            ));
        }
        Ok((decision, prev))
    }

    /// Rust-heap sites: for a Rust-heap leak, a few more calls with `CountingAlloc`'s stacks
    /// recorded.
    pub(super) fn rust_sites(&mut self, report: &mut Report, prev: &Sample) {
        if matches!(report.verdict, Verdict::Leak(_))
            && report.metric(Metric::RustHeap).is_some_and(|m| m.leaking)
            && !self.budget.exceeded(prev)
        {
            let n = ATTRIBUTION_CALLS.min(self.budget.affordable(prev));
            let (sites, note) = attribute(n, &mut self.f);
            report.allocation_sites = sites;
            report.notes.extend(note);
        }
    }

    /// The native allocation sites' limits after the verdict: the verdict's last batch size
    /// for 8 batches, within the memory and call budgets left and a quarter of the time budget.
    fn site_limits(&self, report: &Report, prev: &Sample) -> crate::sites::phase::Limits {
        let batches = 8;
        let max_calls = self.budget.affordable(prev).min(
            self.t
                .call_budget
                .saturating_sub(self.calls)
                .max(self.policy.batch_size() * batches),
        );
        crate::sites::phase::Limits {
            // Batches shrink so that all of them fit what the memory budget still affords, and
            // to what the leak's rate needs (a few blocks a batch).
            batch: site_batch(report, self.policy.batch_size())
                .min(max_calls / batches)
                .max(1),
            batches: batches as usize,
            max_calls,
            deadline: Instant::now()
                + self
                    .t
                    .time_budget
                    .saturating_sub(self.start.elapsed())
                    .min(self.t.time_budget / 4),
            // A Rust-heap leak already has its sites from CountingAlloc's stacks.
            skip_rust: !report.allocation_sites.is_empty(),
        }
    }

    /// Native allocation sites: for a leak on a metric that has them, the attribution phase
    /// ([`crate::sites`]).
    pub(super) fn native_sites(&mut self, report: &mut Report, prev: &Sample) {
        if !self.t.sites
            || !matches!(report.verdict, Verdict::Leak(_))
            || !report
                .metrics
                .iter()
                .any(|m| m.leaking && m.metric.has_sites())
            || self.budget.exceeded(prev)
        {
            return;
        }
        let limits = self.site_limits(report, prev);
        #[cfg(not(windows))]
        let pid = self.pid;
        let f = &mut self.f;
        let mut g = || {
            let ok = f();
            #[cfg(not(windows))]
            if rustix::process::getpid() != pid {
                super::exit_forked_child();
            }
            ok
        };
        let found = crate::sites::phase::run(&mut g, &self.t.site_hooks, limits);
        report.leak_sites = found.sites;
        report.notes.extend(found.notes);
    }

    /// Draws a failed check when asked (option or environment variable).
    pub(super) fn plot(&self, report: &mut Report) {
        if matches!(report.verdict, Verdict::Leak(_))
            && let Some(dir) = self.t.plot_dir.clone().or_else(|| {
                std::env::var_os(PLOT_DIR_ENV)
                    .filter(|d| !d.is_empty())
                    .map(PathBuf::from)
            })
        {
            let note = match crate::plot::write(report, &dir) {
                Ok(path) => format!("plot written to {}", path.display()),
                Err(e) => format!("plot not written: {e}"),
            };
            report.notes.push(note);
        }
    }

    /// The error for a resource that stayed open, naming the new items against `before`.
    pub(super) fn unclosed(&mut self, m: Metric, before: &Baselines, report: Report) -> LeakError {
        match m {
            Metric::Fds => {
                let fds: Vec<String> = self
                    .sampler
                    .proc_self
                    .fd_targets()
                    .iter()
                    .filter(|fd| !before.fds.contains(fd))
                    .map(|(fd, target)| format!("{fd} -> {target}"))
                    .collect();
                LeakError::UnclosedFds {
                    count: fds.len() as i64,
                    fds,
                    report: Box::new(report),
                }
            }
            Metric::Threads => {
                let threads: Vec<String> = self
                    .sampler
                    .proc_self
                    .thread_names()
                    .iter()
                    .filter(|t| !before.threads.iter().any(|b| b.0 == t.0))
                    .map(|(tid, name)| format!("{tid} ({name})"))
                    .collect();
                LeakError::UnclosedThreads {
                    count: threads.len() as i64,
                    threads,
                    report: Box::new(report),
                }
            }
            Metric::Children => {
                let children: Vec<String> = self
                    .sampler
                    .proc_self
                    .child_pids()
                    .into_iter()
                    .filter(|p| !before.children.contains(p))
                    .collect::<Vec<_>>()
                    .into_iter()
                    .map(describe_process)
                    .collect();
                LeakError::Unclosed {
                    metric: Metric::Children,
                    count: children.len() as i64,
                    items: children,
                    report: Box::new(report),
                }
            }
            #[cfg(windows)]
            Metric::HeapCount => {
                let items: Vec<String> = self
                    .sampler
                    .proc_self
                    .heaps()
                    .into_iter()
                    .filter(|h| !before.heaps.contains(h))
                    .collect();
                LeakError::Unclosed {
                    metric: Metric::HeapCount,
                    count: resource_growth(&report, Metric::HeapCount),
                    items,
                    report: Box::new(report),
                }
            }
            m => {
                let was = before
                    .items
                    .iter()
                    .find(|(b, _)| *b == m)
                    .map(|(_, v)| &v[..])
                    .unwrap_or(&[]);
                let items: Vec<String> = self
                    .sampler
                    .probe_items(m)
                    .into_iter()
                    .filter(|i| !was.contains(i))
                    .collect();
                LeakError::Unclosed {
                    metric: m,
                    count: resource_growth(&report, m),
                    items,
                    report: Box::new(report),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribution_batches_fit_the_leaks_rate() {
        use crate::report::MetricReport;
        let t = LeakTest::new().sites(false);
        let s = setup(&t).unwrap();
        let c = Check::new(&t, "x".to_owned(), || true, s, Instant::now());
        let metric = |m: Metric, per_call: f64| MetricReport {
            metric: m,
            total: 1,
            per_call,
            ci: (per_call, per_call),
            blocks_per_call: None,
            grew: 8,
            batches: 8,
            leaking: true,
        };
        let mut r = crate::report::summarise(
            &c.policy,
            crate::report::Outcome {
                name: "x".to_owned(),
                verdict: Verdict::Leak(crate::LeakReason::Persistent),
                unclosed: None,
                calls: 1,
                warmup_calls: 1,
                elapsed: Duration::ZERO,
                checked: c.checked,
                first_call: (0, 0),
                tcache: false,
                notes: Vec::new(),
            },
        );
        r.metrics = vec![metric(Metric::HeapUsed, 64.0)];
        assert_eq!(site_batch(&r, 512), 8);
        // One 32-byte chunk every 100 calls: 400 calls for 4 of them.
        r.metrics = vec![metric(Metric::HeapUsed, 0.32)];
        assert_eq!(site_batch(&r, 512), 400);
        r.metrics = vec![metric(Metric::HeapUsed, 0.01)];
        assert_eq!(site_batch(&r, 512), 512);
        // The Rust heap has its own sites: it does not set the rate.
        r.metrics = vec![metric(Metric::RustHeap, 64.0)];
        assert_eq!(site_batch(&r, 512), 512);
        assert_eq!(site_batch(&r, 4), 4);
    }

    #[test]
    fn time_room_scales_with_the_time_a_call_takes() {
        let s = Duration::from_secs;
        assert_eq!(time_room(None, 10, s(1)), 0, "no time left");
        assert_eq!(time_room(Some(s(10)), 10, s(1)), 100);
        // At least one call while any time is left.
        assert_eq!(time_room(Some(Duration::from_millis(1)), 1, s(5)), 1);
        // No call timed yet: not bounded by time.
        assert_eq!(time_room(Some(s(1)), 0, Duration::ZERO), u64::MAX);
    }

    #[test]
    fn phases_run_in_order_on_a_leaking_function() {
        // The phases alone, on a function that leaks 64 KiB of Rust heap per call (seen in
        // the native heap and RSS without CountingAlloc): a leak within the budget.
        let t = LeakTest::new().warmup(8).batch(16, 16).sites(false);
        let s = setup(&t).unwrap();
        let mut kept = Vec::new();
        let f = || {
            kept.push(std::hint::black_box(vec![1u8; 65536]));
            true
        };
        let mut c = Check::new(&t, "leaky".to_owned(), f, s, Instant::now());
        let (_, s1) = c.first_call().unwrap();
        assert_eq!(c.calls, 1);
        let warm = c.warm_up(s1).unwrap();
        assert_eq!(c.calls, 9);
        let _ = c.baselines();
        let (d, base) = c.resource_windows(&warm).unwrap();
        assert_eq!(d, Decision::Continue);
        assert_eq!(c.calls, 9 + PROBE_WINDOWS as u64);
        let (d, _) = c.batches(d, base).unwrap();
        assert!(matches!(d, Decision::Leak(_)), "{d:?}");
        assert_eq!(c.calls % 16, (9 + PROBE_WINDOWS as u64) % 16);
    }

    #[test]
    fn a_call_that_does_not_fail_ends_the_check() {
        let t = LeakTest::new();
        let s = setup(&t).unwrap();
        let mut n = 0;
        let f = || {
            n += 1;
            n < 3
        };
        let mut c = Check::new(&t, "fails".to_owned(), f, s, Instant::now());
        let (_, s1) = c.first_call().unwrap();
        match c.warm_up(s1) {
            Err(LeakError::DidNotFail { call: 3, .. }) => {}
            other => panic!("{:?}", other.err()),
        }
    }
}
