//! The driver: the check's sequence (first call, warm-up, resource windows, batches,
//! attribution) around the sampler, the policy and the report. [`LeakTest`] is its front end
//! for Rust; other front ends add their figures with [`LeakTest::probe`].

use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use memsight::heap::CountingAlloc;

use crate::attribution::{ATTRIBUTION_CALLS, attribute};
use crate::metric::{Checkers, MAX_PROBES, Metric, ProbeMetric, SLOTS, Threads};
use crate::policy::{Budget, Decision, PROBE_WINDOWS, Policy, Rules};
use crate::report::{LeakError, LeakReason, Outcome, Report, Verdict, summarise};
use crate::sampler::{Probe, ProbeHandle, Sampler, quiesce};

const MIB: u64 = 1024 * 1024;

/// Leak checks are process-global by nature (the native heap, fds and threads belong to the
/// process), so two checks in one process never run at the same time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// A leak check, configured with builder methods and run with [`LeakTest::check`].
///
/// ```
/// let report = memsight_leak::LeakTest::new()
///     .check(|| {
///         let v: Vec<u64> = (0..100).collect();
///         std::hint::black_box(v);
///     })
///     .unwrap();
/// assert!(report.passed());
/// assert!(report.calls <= 500);
/// ```
#[derive(Debug, Clone)]
pub struct LeakTest {
    name: Option<String>,
    warmup: u64,
    batch: u64,
    max_batch: u64,
    clean_batches: usize,
    call_budget: u64,
    memory_budget: u64,
    checkers: Option<Checkers>,
    tolerance: [i64; SLOTS],
    threads: Threads,
    trim: bool,
    settle: bool,
    probes: Vec<ProbeHandle>,
}

impl Default for LeakTest {
    fn default() -> Self {
        LeakTest::new()
    }
}

impl LeakTest {
    /// The defaults: 1 first call + 64 warm-up calls, batches of 128 calls (doubling up to 512
    /// while something grows), pass after 3 clean batches, a leak when 7 of the last 8 batches
    /// grew, at most 131,072 calls and 256 MiB of growth, every metric, every thread.
    pub fn new() -> LeakTest {
        LeakTest {
            name: None,
            warmup: 64,
            batch: 128,
            max_batch: 512,
            clean_batches: 3,
            call_budget: 1 << 17,
            memory_budget: 256 * MIB,
            checkers: None,
            tolerance: [0; SLOTS],
            threads: Threads::All,
            trim: true,
            settle: true,
            probes: Vec::new(),
        }
    }

    /// The name used in reports (default: the closure's type name).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Calls made after the first call and before measuring, so that caches and lazily
    /// initialised state settle (default 64).
    pub fn warmup(mut self, calls: u64) -> Self {
        self.warmup = calls;
        self
    }

    /// Calls per batch (default 128); the batch doubles, up to `max` (default 512), after each
    /// batch that grew.
    pub fn batch(mut self, calls: u64, max: u64) -> Self {
        self.batch = calls.max(1);
        self.max_batch = max.max(self.batch);
        self
    }

    /// Consecutive clean batches needed to pass (default 3).
    pub fn clean_batches(mut self, n: usize) -> Self {
        self.clean_batches = n.max(1);
        self
    }

    /// The most calls a check may make (default 131,072).
    pub fn call_budget(mut self, calls: u64) -> Self {
        self.call_budget = calls.max(1);
        self
    }

    /// The most memory (bytes of Rust heap, native heap, RSS or USS) a leaking function may take
    /// before the check stops and reports a leak (default 256 MiB). Address space (VMS, anonymous
    /// mappings) may grow to 16 times this.
    pub fn memory_budget(mut self, bytes: u64) -> Self {
        self.memory_budget = bytes.max(1);
        self
    }

    /// The metrics to check (default: all of them; see [`Threads::Calling`] for that mode's).
    pub fn checkers(mut self, checkers: Checkers) -> Self {
        self.checkers = Some(checkers);
        self
    }

    /// Growth of `metric` per batch that still counts as "no growth" (bytes or count; default 0,
    /// exact). psleak's `tolerance`, but per batch rather than per run.
    pub fn tolerance(mut self, metric: Metric, per_batch: u64) -> Self {
        self.tolerance[metric.index()] = i64::try_from(per_batch).unwrap_or(i64::MAX);
        self
    }

    /// Whose Rust-heap allocations count (default [`Threads::All`]).
    pub fn threads(mut self, threads: Threads) -> Self {
        self.threads = threads;
        self
    }

    /// Whether to `malloc_trim(0)` before every sample (default true), so RSS and USS do not
    /// carry freed-but-cached memory.
    pub fn trim(mut self, on: bool) -> Self {
        self.trim = on;
        self
    }

    /// Whether to re-sample with short sleeps (1 µs << i, capped at 100 µs, 20 tries: goleak's
    /// settle) when fds or threads look higher, so just-joined threads are not blamed (default
    /// true).
    pub fn settle(mut self, on: bool) -> Self {
        self.settle = on;
        self
    }

    /// Adds a figure of the caller's own (at most 4 per check), sampled with the built-in
    /// metrics and judged by the same policy: see [`Probe`].
    pub fn probe(mut self, probe: impl Probe + 'static) -> Self {
        self.probes.push(ProbeHandle::new(probe));
        self
    }

    /// Calls `f` repeatedly and checks that nothing grows. Returns the report when nothing
    /// leaks, and a [`LeakError`] (whose `Display` is the full report) when something does.
    pub fn check<F: FnMut()>(self, mut f: F) -> Result<Report, LeakError> {
        let name = self
            .name
            .clone()
            .unwrap_or_else(|| std::any::type_name::<F>().to_owned());
        self.run(name, move || {
            f();
            true
        })
    }

    /// Like [`check`](Self::check) for a function that must fail on every call (psleak's
    /// `execute_w_exc`): a call returning `Ok` ends the check with [`LeakError::DidNotFail`].
    /// The error values are dropped inside the measured window, so a leaky error path is caught.
    pub fn check_err<T, E, F: FnMut() -> Result<T, E>>(
        self,
        mut f: F,
    ) -> Result<Report, LeakError> {
        let name = self
            .name
            .clone()
            .unwrap_or_else(|| std::any::type_name::<F>().to_owned());
        self.run(name, move || f().is_err())
    }

    fn run(self, name: String, mut f: impl FnMut() -> bool) -> Result<Report, LeakError> {
        let _one = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
        let start = Instant::now();
        let mut notes = Vec::new();
        let mut checked = match (self.checkers, self.threads) {
            (Some(c), _) => c,
            (None, Threads::All) => Checkers::all(),
            (None, Threads::Calling) => Checkers::only(&[Metric::RustHeap]),
        };
        if checked.contains(Metric::RustHeap) && !CountingAlloc::is_installed() {
            if self.threads == Threads::Calling {
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
        let tcache = (checked.contains(Metric::HeapUsed) || checked.contains(Metric::MmapUsed))
            && !crate::glibc_tcache_disabled();
        if self.probes.len() > MAX_PROBES {
            return Err(LeakError::Setup(format!(
                "{} probes added: at most {MAX_PROBES} per check",
                self.probes.len()
            )));
        }
        let mut probes = Vec::with_capacity(self.probes.len());
        for (slot, p) in (0u8..).zip(&self.probes) {
            let m = ProbeMetric {
                slot,
                name: p.name(),
                kind: p.kind(),
            };
            checked = checked.with(Metric::Probe(m));
            probes.push((m, p.clone()));
        }
        if self.threads == Threads::All && !quiesce() {
            notes.push(
                "other threads kept allocating while the check started (waited 50 ms for them to \
                 settle): their work may show in the figures"
                    .to_owned(),
            );
        }
        let probe_metrics: Vec<Metric> = probes.iter().map(|(m, _)| Metric::Probe(*m)).collect();
        let mut sampler = Sampler::new(checked, probes, self.threads, self.trim, self.settle)?;
        // smaps_rollup appeared in Linux 4.14: without it, go on without USS.
        if checked.contains(Metric::Uss)
            && let Err(e) = sampler.proc_self.uss()
        {
            checked = checked.without(Metric::Uss);
            sampler.checked = checked;
            notes.push(format!("uss not measured: /proc/self/smaps_rollup: {e}"));
        }
        // One throw-away sample warms whatever the readers initialise lazily.
        sampler.sample()?;
        if self.threads == Threads::All
            && let Ok(n) = sampler.proc_self.threads()
            && n > 2
        {
            notes.push(format!(
                "{} other threads were running: process-wide figures include their work (under \
                 `cargo test` use --test-threads=1, cargo nextest, or Threads::Calling)",
                n - 1
            ));
        }

        let columns: Vec<Metric> = checked.iter().chain(probe_metrics).collect();
        let mut policy = Policy::new(
            Rules {
                batch: self.batch,
                max_batch: self.max_batch,
                clean_batches: self.clean_batches,
                tolerance: self.tolerance,
            },
            columns,
        );
        let mut budget = Budget::new(self.memory_budget, checked);
        let mut calls = 0u64;
        macro_rules! call_n {
            ($n:expr) => {
                for _ in 0..$n {
                    calls += 1;
                    if !f() {
                        return Err(LeakError::DidNotFail { call: calls, name });
                    }
                }
            };
        }

        // 1. The first call: fds and threads it opens are reported, not blamed.
        let s0 = sampler.sample().map_err(|e| e.at_call(calls))?;
        call_n!(1);
        let s1 = sampler.settled(&s0).map_err(|e| e.at_call(calls))?;
        let first_call = (
            s1.v[Metric::Fds.index()] - s0.v[Metric::Fds.index()],
            s1.v[Metric::Threads.index()] - s0.v[Metric::Threads.index()],
        );
        // Not a rate yet: a large first call is as likely lazy initialisation as a leak.
        budget.origin = s0;

        // 2. Warm-up, in doubling pieces so that a huge leak cannot run past the memory budget.
        let mut prev = s1;
        let mut left = self.warmup;
        let mut piece = 1u64;
        while left > 0 && !budget.exceeded(&prev) {
            let n = piece.min(left).min(budget.affordable(&prev));
            call_n!(n);
            let s = sampler.sample_light().map_err(|e| e.at_call(calls))?;
            budget.observe(&prev, &s, n);
            prev = s;
            left -= n;
            piece = piece.saturating_mul(2);
        }

        // 3. Baselines for naming leaked resources (allocates; outside every window).
        let fds_before = if checked.contains(Metric::Fds) {
            sampler.proc_self.fd_targets()
        } else {
            Vec::new()
        };
        let threads_before = if checked.contains(Metric::Threads) {
            sampler.proc_self.thread_names()
        } else {
            Vec::new()
        };
        let items_before: Vec<(Metric, Vec<String>)> = policy
            .columns()
            .iter()
            .filter(|m| matches!(m, Metric::Probe(_)) && m.is_resource())
            .map(|&m| (m, sampler.probe_items(m)))
            .collect();
        let warmup_calls = calls;
        // Two one-call windows for resources. Full samples here too: they also let the process
        // settle before the batches' baseline.
        let mut decision = Decision::Continue;
        let mut rprev = sampler.sample().map_err(|e| e.at_call(calls))?;
        for _ in 0..PROBE_WINDOWS {
            if budget.exceeded(&prev) {
                break;
            }
            call_n!(1);
            let s = sampler.settled(&rprev).map_err(|e| e.at_call(calls))?;
            decision = policy.probe_window(policy.between(&rprev, &s, 1));
            rprev = s;
            if decision != Decision::Continue {
                break;
            }
        }
        // The baseline of the batches.
        prev = rprev;

        // 4. Batches until the policy decides.
        let mut out_of_calls_note = None;
        while decision == Decision::Continue {
            if budget.exceeded(&prev) {
                decision = Decision::Leak(LeakReason::MemoryBudget);
                break;
            }
            let n = policy
                .batch_size()
                .min(budget.affordable(&prev))
                .min(self.call_budget.saturating_sub(calls));
            if n == 0 || policy.full() {
                let (v, note) = policy.out_of_calls();
                out_of_calls_note = note;
                decision = match v {
                    Verdict::Leak(r) => Decision::Leak(r),
                    v => Decision::Pass(v),
                };
                break;
            }
            call_n!(n);
            let s = sampler.settled(&prev).map_err(|e| e.at_call(calls))?;
            decision = policy.record(policy.between(&prev, &s, n));
            budget.observe(&prev, &s, n);
            prev = s;
        }
        notes.extend(out_of_calls_note.map(str::to_owned));

        for m in policy.noisy() {
            notes.push(format!(
                "{m} went down as well as up between batches: judged by its trend, like RSS"
            ));
        }
        let (verdict, unclosed) = match decision {
            Decision::Pass(v) => (v, None),
            Decision::Leak(r) => (Verdict::Leak(r), None),
            Decision::Unclosed(m) => (Verdict::Leak(LeakReason::Persistent), Some(m)),
            Decision::Continue => (Verdict::Clean, None),
        };
        let mut report = summarise(
            &policy,
            Outcome {
                name,
                verdict,
                unclosed,
                calls,
                warmup_calls,
                elapsed: start.elapsed(),
                checked,
                first_call,
                tcache,
                notes,
            },
        );

        // 5. Attribution: where do the leaked Rust-heap blocks come from? A few more calls with
        //    stacks recorded.
        if matches!(verdict, Verdict::Leak(_))
            && report.metric(Metric::RustHeap).is_some_and(|m| m.leaking)
            && !budget.exceeded(&prev)
        {
            let n = ATTRIBUTION_CALLS.min(budget.affordable(&prev));
            let (sites, note) = attribute(n, &mut f);
            report.allocation_sites = sites;
            report.notes.extend(note);
        }
        match unclosed {
            Some(Metric::Fds) => {
                let after = sampler.proc_self.fd_targets();
                let fds: Vec<String> = after
                    .iter()
                    .filter(|fd| !fds_before.contains(fd))
                    .map(|(fd, target)| format!("{fd} -> {target}"))
                    .collect();
                Err(LeakError::UnclosedFds {
                    count: fds.len() as i64,
                    fds,
                    report: Box::new(report),
                })
            }
            Some(Metric::Threads) => {
                let after = sampler.proc_self.thread_names();
                let threads: Vec<String> = after
                    .iter()
                    .filter(|t| !threads_before.iter().any(|b| b.0 == t.0))
                    .map(|(tid, name)| format!("{tid} ({name})"))
                    .collect();
                Err(LeakError::UnclosedThreads {
                    count: threads.len() as i64,
                    threads,
                    report: Box::new(report),
                })
            }
            Some(m) => {
                let before = items_before
                    .iter()
                    .find(|(b, _)| *b == m)
                    .map(|(_, v)| &v[..])
                    .unwrap_or(&[]);
                let items: Vec<String> = sampler
                    .probe_items(m)
                    .into_iter()
                    .filter(|i| !before.contains(i))
                    .collect();
                let count = resource_growth(&report, m);
                Err(LeakError::Unclosed {
                    metric: m,
                    count,
                    items,
                    report: Box::new(report),
                })
            }
            None if matches!(verdict, Verdict::Leak(_)) => Err(LeakError::Memory(Box::new(report))),
            None => Ok(report),
        }
    }
}

/// How much a resource grew over the windows and batches (what an unclosed-resource error counts).
fn resource_growth(report: &Report, m: Metric) -> i64 {
    report.metric(m).map_or(0, |r| r.total)
}
