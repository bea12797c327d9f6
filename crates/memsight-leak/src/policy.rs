//! The decision policy: given the batches measured so far, pass, declare a leak, or measure
//! another batch (and how large). Pure: no I/O, no clock, no allocation per batch, so it is
//! tested on synthetic batch series, and every front end (Rust today, Python next) gets the
//! same verdicts from the same figures.

use crate::metric::{Checkers, Metric, SLOTS};
use crate::report::{Batch, LeakReason, Verdict};
use crate::sampler::Sample;
use crate::stats::{SUSTAINED_GREW as LEAK_GREW, SUSTAINED_WINDOW as LEAK_WINDOW, slope_ci};

/// Batches kept per check: preallocated so that recording a batch never allocates.
pub(crate) const MAX_BATCHES: usize = 512;
/// One-call windows for resources between the warm-up and the batches.
pub(crate) const PROBE_WINDOWS: usize = 2;

/// The metrics whose growth counts against the memory budget (real memory).
pub(crate) const BUDGET: [Metric; 5] = [
    Metric::RustHeap,
    Metric::HeapUsed,
    Metric::MmapUsed,
    Metric::Rss,
    Metric::Uss,
];
/// Batches a verdict carried by RSS, USS or VMS alone waits, beyond the first window, for the
/// growth to stop while the native heap is measured and does not grow: glibc's heap top and
/// pages move in steps of 4 KiB and more while a cache of small blocks fills (a regex cache
/// under `PYTHONMALLOC=malloc` creeps for 16,000 calls), which a malloc'd leak would show in the
/// heap's own figure. A page-level leak keeps growing and is still a leak after them.
const PAGES_ONLY_EXTRA: usize = 8 * LEAK_WINDOW;

/// Address-space metrics, allowed 16 times the budget.
const ADDRESS: [Metric; 2] = [Metric::Vms, Metric::MapsAnon];

/// What to do after a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Measure another batch of [`Policy::batch_size`] calls.
    Continue,
    /// Stop: nothing grows any more ([`Verdict::Clean`] or [`Verdict::Bounded`]).
    Pass(Verdict),
    /// Stop: memory keeps growing.
    Leak(LeakReason),
    /// Stop: a resource (fds, threads, a resource probe) stayed higher in two windows in a row.
    Unclosed(Metric),
}

/// The knobs of the policy.
#[derive(Debug, Clone)]
pub(crate) struct Rules {
    /// Calls in the first batch.
    pub(crate) batch: u64,
    /// The largest batch (batches double while something grows).
    pub(crate) max_batch: u64,
    /// Consecutive clean batches needed to pass.
    pub(crate) clean_batches: usize,
    /// Growth per batch that still counts as none, per metric slot.
    pub(crate) tolerance: [i64; SLOTS],
}

/// The batches measured so far and what follows from them.
pub(crate) struct Policy {
    rules: Rules,
    /// The checked metrics, in report order (built-in ones, then probes).
    columns: Vec<Metric>,
    batches: Vec<Batch>,
    /// The one-call windows for resources after the warm-up.
    probes: Vec<Batch>,
    /// Metrics that went down in some batch (see `is_noisy`).
    noisy: [bool; SLOTS],
    /// Consecutive windows in which each resource grew.
    streak: [usize; SLOTS],
    /// Calls in the next batch.
    size: u64,
    /// Batches recorded after a leak seen in page-granular figures alone (see
    /// [`PAGES_ONLY_EXTRA`]).
    extended: usize,
}

impl Policy {
    /// A policy for `columns` (the checked metrics, in report order). Allocates its batch store
    /// once, touching every page so that recording never faults a new page in mid-check.
    pub(crate) fn new(rules: Rules, columns: Vec<Metric>) -> Policy {
        let zero = Batch {
            calls: 0,
            delta: [0; SLOTS],
            rust_blocks: 0,
        };
        let mut batches = vec![zero; MAX_BATCHES];
        for b in &mut batches {
            *std::hint::black_box(b) = zero;
        }
        batches.clear();
        Policy {
            size: rules.batch.max(1),
            rules,
            columns,
            batches,
            probes: Vec::with_capacity(PROBE_WINDOWS),
            noisy: [false; SLOTS],
            streak: [0; SLOTS],
            extended: 0,
        }
    }

    /// The checked metrics, in report order.
    pub(crate) fn columns(&self) -> &[Metric] {
        &self.columns
    }

    /// The measured batches, in order.
    pub(crate) fn batches(&self) -> &[Batch] {
        &self.batches
    }

    /// The one-call resource windows, in order.
    pub(crate) fn probes(&self) -> &[Batch] {
        &self.probes
    }

    /// Calls in the next batch.
    pub(crate) fn batch_size(&self) -> u64 {
        self.size
    }

    /// Whether the batch store is full (the check must end).
    pub(crate) fn full(&self) -> bool {
        self.batches.len() >= MAX_BATCHES
    }

    /// The batch between samples `a` and `b` over `calls` calls (checked metrics only).
    pub(crate) fn between(&self, a: &Sample, b: &Sample, calls: u64) -> Batch {
        let mut delta = [0i64; SLOTS];
        for m in &self.columns {
            let i = m.index();
            delta[i] = b.v[i].saturating_sub(a.v[i]);
        }
        Batch {
            calls,
            delta,
            rust_blocks: b.rust_blocks.saturating_sub(a.rust_blocks),
        }
    }

    /// Counts resource growth in a window; returns a resource that grew in two in a row.
    fn resource_step(&mut self, b: &Batch) -> Option<Metric> {
        let mut unclosed = None;
        for &m in self.columns.iter().filter(|m| m.is_resource()) {
            let i = m.index();
            if b.delta[i] > self.rules.tolerance[i] {
                self.streak[i] += 1;
                if self.streak[i] >= 2 {
                    unclosed = Some(m);
                }
            } else {
                self.streak[i] = 0;
            }
        }
        unclosed
    }

    /// Records a one-call resource window (only resource deltas count). Returns
    /// [`Decision::Unclosed`] when a resource grew in this window and the one before.
    pub(crate) fn probe_window(&mut self, b: Batch) -> Decision {
        let mut w = b;
        for m in self.columns.iter().filter(|m| !m.is_resource()) {
            w.delta[m.index()] = 0;
        }
        w.rust_blocks = 0;
        if self.probes.len() < PROBE_WINDOWS {
            self.probes.push(w);
        }
        match self.resource_step(&w) {
            Some(m) => Decision::Unclosed(m),
            None => Decision::Continue,
        }
    }

    /// Records a batch and decides what follows.
    pub(crate) fn record(&mut self, b: Batch) -> Decision {
        let unclosed = self.resource_step(&b);
        if !self.full() {
            self.batches.push(b);
        }
        for &m in self.columns.iter().filter(|m| !m.is_resource()) {
            if b.delta(m) < -self.rules.tolerance[m.index()] {
                self.noisy[m.index()] = true;
            }
        }
        if let Some(m) = unclosed {
            return Decision::Unclosed(m);
        }
        if self.leaking_in_window().next().is_some() {
            if !self.pages_only() || self.extended >= PAGES_ONLY_EXTRA {
                return Decision::Leak(LeakReason::Persistent);
            }
            // Page figures alone with a quiet heap: measure on, at the largest batch.
            self.extended += 1;
            self.size = self.rules.max_batch;
            return Decision::Continue;
        }
        if self.extended > 0 {
            self.extended += 1;
        }
        if self.grew(&b) {
            // Two growing batches in a row: give a filling cache room to show it stops.
            let n = self.batches.len();
            if n >= 2 && self.grew(&self.batches[n - 2]) {
                self.size = self.size.saturating_mul(2).min(self.rules.max_batch);
            }
        } else {
            let clean_streak = self.clean_streak();
            if clean_streak >= self.rules.clean_batches && !self.pages_grew_throughout(clean_streak)
            {
                // Page figures that grew for a window and stopped are a bounded growth too.
                let grew_before = self.extended > 0 || self.batches.iter().any(|b| self.grew(b));
                return Decision::Pass(if grew_before {
                    Verdict::Bounded
                } else {
                    Verdict::Clean
                });
            }
        }
        Decision::Continue
    }

    /// Whether every metric leaking in the window is a page figure (RSS, USS, VMS) while the
    /// native heap is measured: growth the allocator's own exact figure would show if it were
    /// a malloc'd leak, and that anonymous mappings would show if it were an mmap'd one.
    fn pages_only(&self) -> bool {
        self.columns.contains(&Metric::HeapUsed)
            && self
                .leaking_in_window()
                .all(|m| matches!(m, Metric::Rss | Metric::Uss | Metric::Vms))
    }

    /// Batches measured after a leak seen in RSS, USS or VMS alone, to see whether it stops
    /// (0 when there was none).
    pub(crate) fn extended(&self) -> usize {
        self.extended
    }

    /// Whether `m` grew beyond its tolerance in `b`.
    pub(crate) fn grew_m(&self, b: &Batch, m: Metric) -> bool {
        b.delta(m) > self.rules.tolerance[m.index()]
    }

    /// Metrics that went down as well as up between batches.
    pub(crate) fn noisy(&self) -> impl Iterator<Item = Metric> + '_ {
        self.columns
            .iter()
            .copied()
            .filter(|m| self.noisy[m.index()])
    }

    /// Whether `m` is judged by its trend rather than batch by batch: RSS and USS always, and any
    /// other metric once it has gone down in a batch. A leak never shrinks; a figure that moves
    /// both ways (glibc's tcache counting chunks freed by another thread as in use, thread
    /// stacks cached and released) is noise around a level, not zero.
    fn is_noisy(&self, m: Metric) -> bool {
        m.is_page_granular() || self.noisy[m.index()]
    }

    /// Whether a metric judged batch by batch grew in `b`.
    fn grew(&self, b: &Batch) -> bool {
        self.columns
            .iter()
            .any(|&m| !self.is_noisy(m) && self.grew_m(b, m))
    }

    /// Trailing batches in which no metric judged batch by batch grew.
    fn clean_streak(&self) -> usize {
        self.batches
            .iter()
            .rev()
            .take_while(|b| !self.grew(b))
            .count()
    }

    /// Whether a metric judged by its trend still looks like growth over the last `n` batches,
    /// so that the exact metrics' clean streak is not trusted yet: RSS or USS grew in every one
    /// of them (memory touched inside existing mappings), or an exact metric that went down once
    /// grew in all but one of them and gained overall (a leak that one dip must not hide).
    fn pages_grew_throughout(&self, n: usize) -> bool {
        let tail = &self.batches[self.batches.len().saturating_sub(n)..];
        self.columns
            .iter()
            .filter(|&&m| self.is_noisy(m))
            .any(|&m| {
                let grew = tail.iter().filter(|b| self.grew_m(b, m)).count();
                if m.is_page_granular() {
                    grew == tail.len()
                } else {
                    grew + 1 >= tail.len() && tail.iter().map(|b| b.delta(m)).sum::<i64>() > 0
                }
            })
    }

    /// Metrics that grew in at least 7 of the last 8 batches with a slope interval above zero.
    /// Runs between batches, so it must not allocate: the window's points live on the stack.
    pub(crate) fn leaking_in_window(&self) -> impl Iterator<Item = Metric> + '_ {
        let n = self.batches.len();
        let window = &self.batches[n.saturating_sub(LEAK_WINDOW)..];
        self.columns.iter().copied().filter(move |&m| {
            if m.is_resource()
                || window.len() < LEAK_WINDOW
                || window.iter().filter(|b| self.grew_m(b, m)).count() < LEAK_GREW
            {
                return false;
            }
            let mut x = [0f64; LEAK_WINDOW + 1];
            let mut y = [0f64; LEAK_WINDOW + 1];
            for (i, b) in window.iter().enumerate() {
                x[i + 1] = x[i] + b.calls as f64;
                y[i + 1] = y[i] + b.delta(m) as f64;
            }
            slope_ci(&x, &y).1 > 0.0
        })
    }

    /// The verdict when the calls (or the batch store) run out before a decision, and a note
    /// when it passes for lack of evidence.
    pub(crate) fn out_of_calls(&self) -> (Verdict, Option<&'static str>) {
        // Still growing: a slope above zero over the second half of the batches, growth in at
        // least two of them, and some in the last quarter (a cache that filled and stopped fails
        // the last two).
        let half = &self.batches[self.batches.len() / 2..];
        let quarter = &self.batches[self.batches.len() * 3 / 4..];
        let growing = self.columns.iter().any(|&m| {
            !m.is_resource()
                && half.iter().filter(|b| self.grew_m(b, m)).count() >= 2
                && quarter.iter().any(|b| self.grew_m(b, m))
                && {
                    let (x, y) = series(half, m);
                    slope_ci(&x, &y).1 > 0.0
                }
        });
        if growing {
            (Verdict::Leak(LeakReason::CallBudget), None)
        } else {
            (
                Verdict::Bounded,
                Some(
                    "call budget ran out before enough clean batches, but the growth had stopped \
                     or its slope's interval includes zero",
                ),
            )
        }
    }
}

/// Points (cumulative calls, cumulative change) of metric `m` over `batches`.
pub(crate) fn series(batches: &[Batch], m: Metric) -> (Vec<f64>, Vec<f64>) {
    let mut x = vec![0.0];
    let mut y = vec![0.0];
    let (mut cx, mut cy) = (0f64, 0f64);
    for b in batches {
        cx += b.calls as f64;
        cy += b.delta(m) as f64;
        x.push(cx);
        y.push(cy);
    }
    (x, y)
}

/// The memory budget: growth since the origin, and the fastest growth per call seen lately.
pub(crate) struct Budget {
    limit: u64,
    checked: Checkers,
    /// Growth is measured from here (the sample before the first call).
    pub(crate) origin: Sample,
    /// The fastest growth per call seen in the last window, in budget units (bytes, with
    /// address space scaled down 16 times).
    rate: f64,
}

impl Budget {
    /// A budget of `limit` bytes over the metrics in `checked`.
    pub(crate) fn new(limit: u64, checked: Checkers) -> Budget {
        Budget {
            limit,
            checked,
            origin: Sample::default(),
            rate: 0.0,
        }
    }

    fn largest(&self, a: &Sample, b: &Sample) -> f64 {
        let mut g = 0f64;
        for m in BUDGET {
            if self.checked.contains(m) {
                g = g.max(b.v[m.index()].saturating_sub(a.v[m.index()]) as f64);
            }
        }
        for m in ADDRESS {
            if self.checked.contains(m) {
                g = g.max(b.v[m.index()].saturating_sub(a.v[m.index()]) as f64 / 16.0);
            }
        }
        g
    }

    /// Notes the growth rate between two samples `calls` calls apart.
    pub(crate) fn observe(&mut self, a: &Sample, b: &Sample, calls: u64) {
        self.rate = self.largest(a, b) / calls.max(1) as f64;
    }

    /// Whether growth so far, plus one more call at the current rate, passes the budget.
    pub(crate) fn exceeded(&self, s: &Sample) -> bool {
        self.largest(&self.origin, s) + self.rate > self.limit as f64
    }

    /// How many calls fit in a quarter of the budget left at the current growth rate (at least 1).
    pub(crate) fn affordable(&self, s: &Sample) -> u64 {
        if self.rate <= 0.0 {
            return u64::MAX;
        }
        let room = self.limit as f64 - self.largest(&self.origin, s);
        ((room / self.rate / 4.0).floor() as u64).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Rules {
        Rules {
            batch: 128,
            max_batch: 512,
            clean_batches: 3,
            tolerance: [0; SLOTS],
        }
    }

    fn columns() -> Vec<Metric> {
        Checkers::all().iter().collect()
    }

    /// A batch of `calls` calls in which each listed metric changed by the given amount.
    fn batch(calls: u64, changes: &[(Metric, i64)]) -> Batch {
        let mut delta = [0; SLOTS];
        for &(m, d) in changes {
            delta[m.index()] = d;
        }
        Batch {
            calls,
            delta,
            rust_blocks: 0,
        }
    }

    /// Feeds batches made by `at(i, calls)` until a decision other than Continue, at most 64.
    fn run(p: &mut Policy, at: impl Fn(usize, u64) -> Batch) -> (Decision, usize) {
        for i in 0..64 {
            let b = at(i, p.batch_size());
            match p.record(b) {
                Decision::Continue => {}
                d => return (d, i + 1),
            }
        }
        (Decision::Continue, 64)
    }

    #[test]
    fn steady_leak_is_a_leak_after_the_window() {
        let mut p = Policy::new(rules(), columns());
        let (d, n) = run(&mut p, |_, calls| {
            batch(calls, &[(Metric::RustHeap, 16 * calls as i64)])
        });
        assert_eq!(d, Decision::Leak(LeakReason::Persistent));
        assert_eq!(n, LEAK_WINDOW);
        assert_eq!(
            p.leaking_in_window().collect::<Vec<_>>(),
            [Metric::RustHeap]
        );
        // Batches doubled while it grew, up to the largest.
        assert_eq!(p.batch_size(), 512);
    }

    #[test]
    fn page_creep_with_a_quiet_heap_waits_for_it_to_stop() {
        // RSS and VMS grow a page a batch for 20 batches (the allocator's top moving while a
        // cache of small blocks fills), the heap's own figure never: a pass once it stops.
        let mut p = Policy::new(rules(), columns());
        let (d, n) = run(&mut p, |i, calls| {
            if i < 20 {
                batch(calls, &[(Metric::Rss, 4096), (Metric::Vms, 4096)])
            } else {
                batch(calls, &[])
            }
        });
        assert_eq!(d, Decision::Pass(Verdict::Bounded));
        assert_eq!(n, 20 + 3);
        assert!(p.extended() > 0);
    }

    #[test]
    fn page_growth_with_mappings_or_heap_is_a_leak_at_once() {
        // An mmap leak shows in the anonymous mappings; a malloc leak in the heap; without the
        // heap measured, pages are all there is.
        for (extra, cols) in [
            (Metric::MapsAnon, columns()),
            (Metric::HeapUsed, columns()),
            (Metric::Rss, vec![Metric::Rss, Metric::Vms]),
        ] {
            let mut p = Policy::new(rules(), cols);
            let (d, n) = run(&mut p, |_, calls| {
                batch(calls, &[(Metric::Vms, 4096), (extra, 4096)])
            });
            assert_eq!(d, Decision::Leak(LeakReason::Persistent), "{extra}");
            assert_eq!(n, LEAK_WINDOW, "{extra}");
            assert_eq!(p.extended(), 0);
        }
    }

    #[test]
    fn filling_cache_is_bounded() {
        // Grows in the first four batches, then never again.
        let mut p = Policy::new(rules(), columns());
        let (d, n) = run(&mut p, |i, calls| {
            if i < 4 {
                batch(calls, &[(Metric::HeapUsed, 4096)])
            } else {
                batch(calls, &[])
            }
        });
        assert_eq!(d, Decision::Pass(Verdict::Bounded));
        assert_eq!(n, 4 + 3);
    }

    #[test]
    fn clean_function_passes_after_three_batches() {
        let mut p = Policy::new(rules(), columns());
        let (d, n) = run(&mut p, |_, calls| batch(calls, &[]));
        assert_eq!(d, Decision::Pass(Verdict::Clean));
        assert_eq!(n, 3);
    }

    #[test]
    fn one_noisy_batch_does_not_hold_back_a_pass() {
        // A page of RSS once (the stack touched deeper) among clean batches: still clean.
        let mut p = Policy::new(rules(), columns());
        let (d, n) = run(&mut p, |i, calls| {
            if i == 1 {
                batch(calls, &[(Metric::Rss, 4096)])
            } else {
                batch(calls, &[])
            }
        });
        assert_eq!(d, Decision::Pass(Verdict::Clean));
        assert_eq!(n, 3);
    }

    #[test]
    fn one_noisy_batch_does_not_hide_a_leak() {
        // A leak of 8 B/call whose figure dips once (another thread freed memory): 7 of the
        // last 8 batches grew and the slope is above zero, so still a leak.
        let mut p = Policy::new(rules(), columns());
        let (d, _) = run(&mut p, |i, calls| {
            let d = if i == 3 { -100 } else { 8 * calls as i64 };
            batch(calls, &[(Metric::HeapUsed, d)])
        });
        assert_eq!(d, Decision::Leak(LeakReason::Persistent));
        assert!(p.noisy().any(|m| m == Metric::HeapUsed));
    }

    #[test]
    fn page_growth_in_every_batch_holds_back_a_pass() {
        // RSS grew in every batch while the exact metrics stayed flat: memory written inside
        // existing mappings. No pass: a leak once the extra batches for page figures are spent.
        let mut p = Policy::new(rules(), columns());
        let mut decision = Decision::Continue;
        for _ in 0..MAX_BATCHES {
            decision = p.record(batch(p.batch_size(), &[(Metric::Rss, 4096)]));
            if decision != Decision::Continue {
                break;
            }
        }
        assert_eq!(decision, Decision::Leak(LeakReason::Persistent));
        assert_eq!(p.batches().len(), LEAK_WINDOW + PAGES_ONLY_EXTRA);
    }

    #[test]
    fn leak_that_starts_late_is_caught() {
        // Two clean batches, then 1 chunk of 32 B every 10 calls.
        let mut p = Policy::new(rules(), columns());
        let (d, n) = run(&mut p, |i, calls| {
            if i < 2 {
                batch(calls, &[])
            } else {
                batch(calls, &[(Metric::HeapUsed, 32 * (calls / 10) as i64)])
            }
        });
        assert_eq!(d, Decision::Leak(LeakReason::Persistent));
        // Seven growing batches after the two clean ones: 7 of the last 8.
        assert_eq!(n, 2 + LEAK_GREW);
    }

    #[test]
    fn leak_that_starts_late_when_calls_run_out() {
        // Clean, then growth in the last quarter only: the call budget's verdict is a leak.
        let mut p = Policy::new(
            Rules {
                clean_batches: 100,
                ..rules()
            },
            columns(),
        );
        for i in 0..12 {
            let d = if i < 6 { 0 } else { 64 };
            assert_eq!(
                p.record(batch(128, &[(Metric::RustHeap, d)])),
                Decision::Continue
            );
        }
        assert_eq!(p.out_of_calls().0, Verdict::Leak(LeakReason::CallBudget));
        // A cache that filled and stopped before the end is bounded.
        let mut p = Policy::new(
            Rules {
                clean_batches: 100,
                ..rules()
            },
            columns(),
        );
        for i in 0..12 {
            let d = if i < 4 { 64 } else { 0 };
            p.record(batch(128, &[(Metric::RustHeap, d)]));
        }
        assert_eq!(p.out_of_calls().0, Verdict::Bounded);
    }

    #[test]
    fn resource_higher_in_two_windows_is_unclosed() {
        let mut p = Policy::new(rules(), columns());
        assert_eq!(
            p.probe_window(batch(1, &[(Metric::Fds, 1), (Metric::RustHeap, 99)])),
            Decision::Continue
        );
        assert_eq!(
            p.probe_window(batch(1, &[(Metric::Fds, 1)])),
            Decision::Unclosed(Metric::Fds)
        );
        // Only resource deltas are kept in the windows.
        assert_eq!(p.probes()[0].delta(Metric::RustHeap), 0);
        // A thread that came and went (up, then down) is not.
        let mut p = Policy::new(rules(), columns());
        p.probe_window(batch(1, &[(Metric::Threads, 1)]));
        assert_eq!(
            p.probe_window(batch(1, &[(Metric::Threads, -1)])),
            Decision::Continue
        );
        assert_eq!(
            p.record(batch(128, &[(Metric::Threads, 1)])),
            Decision::Continue
        );
    }

    #[test]
    fn tolerance_is_per_batch() {
        let mut t = [0; SLOTS];
        t[Metric::HeapUsed.index()] = 100;
        let mut p = Policy::new(
            Rules {
                tolerance: t,
                ..rules()
            },
            columns(),
        );
        let (d, _) = run(&mut p, |_, calls| batch(calls, &[(Metric::HeapUsed, 100)]));
        assert_eq!(d, Decision::Pass(Verdict::Clean));
    }

    #[test]
    fn budget_scales_address_space_and_counts_calls() {
        let checked = Checkers::all();
        let mut b = Budget::new(1 << 20, checked);
        let mut s = Sample::default();
        assert_eq!(b.affordable(&s), u64::MAX);
        s.v[Metric::Vms.index()] = 16 << 20; // 16 MiB of address space = 1 MiB of budget
        assert!(!b.exceeded(&s));
        b.observe(&Sample::default(), &s, 16);
        assert!(b.exceeded(&s));
        let mut t = Sample::default();
        t.v[Metric::RustHeap.index()] = 1 << 10;
        b.observe(&Sample::default(), &t, 1);
        // 1 KiB per call, 1023 KiB of room: a quarter of it.
        assert_eq!(b.affordable(&t), 255);
    }
}
