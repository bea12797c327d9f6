//! The driver: the check's sequence (first call, warm-up, resource windows, batches,
//! attribution) around the sampler, the policy and the report. [`LeakTest`] is its front end
//! for Rust; other front ends add their figures with [`LeakTest::probe`].

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use memsight::heap::CountingAlloc;

use crate::attribution::{ATTRIBUTION_CALLS, attribute};
use crate::metric::{Checkers, MAX_PROBES, Metric, ProbeMetric, SLOTS, Threads};
use crate::plot::PLOT_DIR_ENV;
use crate::policy::{Budget, Decision, PROBE_WINDOWS, Policy, Rules};
use crate::report::{LeakError, LeakReason, Outcome, Report, Verdict, summarise};
use crate::sampler::{Probe, ProbeHandle, Sampler, quiesce};
use crate::sites::{SiteHooks, SiteHooksHandle};

const MIB: u64 = 1024 * 1024;
/// The default wall-clock budget of a check.
const DEFAULT_TIME_BUDGET: Duration = Duration::from_secs(60);

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
    time_budget: Duration,
    verbosity: u8,
    probes: Vec<ProbeHandle>,
    plot_dir: Option<PathBuf>,
    sites: bool,
    site_hooks: Vec<SiteHooksHandle>,
}

impl Default for LeakTest {
    fn default() -> Self {
        LeakTest::new()
    }
}

impl LeakTest {
    /// The defaults: 1 first call + 64 warm-up calls, batches of 128 calls (doubling up to 512
    /// while something grows), pass after 3 clean batches, a leak when 7 of the last 8 batches
    /// grew, at most 131,072 calls, 256 MiB of growth and 60 s of wall time, every metric,
    /// every thread, no progress output.
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
            time_budget: DEFAULT_TIME_BUDGET,
            verbosity: 0,
            probes: Vec::new(),
            plot_dir: None,
            sites: true,
            site_hooks: Vec::new(),
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

    /// The most wall time a check may take (default 60 s). The warm-up stops at a quarter of
    /// it, and batches shrink to fit what is left at the time a call has taken so far; when it
    /// runs out the verdict is made as for the call budget ([`LeakReason::CallBudget`] if the
    /// figures were still growing, else a pass with a note), so a 5 s function gets an answer
    /// in about a minute rather than half an hour.
    pub fn time_budget(mut self, limit: Duration) -> Self {
        self.time_budget = limit;
        self
    }

    /// Progress on stderr (default 0, silent): 1 prints a line after the first call, the
    /// warm-up and every batch (calls so far, wall time, what changed); 2 also every warm-up
    /// piece and resource window. The lines are written between samples without allocating.
    pub fn verbosity(mut self, level: u8) -> Self {
        self.verbosity = level;
        self
    }

    /// Draws a failed check into this directory (created if missing): an SVG file named after
    /// the check ([`LeakTest::name`], `::` as `.`, other unsafe characters as `_`) with, for each
    /// metric that made the verdict, its growth per batch, the fitted slope and its 95% interval.
    /// A report note names the file, or says why it could not be written. Without this option the
    /// environment variable `MEMSIGHT_LEAK_PLOT_DIR` (when set and not empty) names the directory.
    /// A passing check writes nothing.
    pub fn plot_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.plot_dir = Some(dir.into());
        self
    }

    /// Adds a figure of the caller's own (at most 4 per check), sampled with the built-in
    /// metrics and judged by the same policy: see [`Probe`].
    pub fn probe(mut self, probe: impl Probe + 'static) -> Self {
        self.probes.push(ProbeHandle::new(probe));
        self
    }

    /// Whether a leak verdict on the native heap, mmap, USS, RSS or a probe is followed by the
    /// attribution phase that names the allocation sites ([`crate::sites`]; default true).
    /// Off, a failed check costs no extra calls.
    pub fn sites(mut self, on: bool) -> Self {
        self.sites = on;
        self
    }

    /// Adds a front end's allocator hooks (Python's PEP 445 domains, say), installed for the
    /// attribution phase only: see [`SiteHooks`].
    pub fn site_hooks(mut self, hooks: impl SiteHooks + 'static) -> Self {
        self.site_hooks.push(SiteHooksHandle::new(hooks));
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
        if self.probes.len() > MAX_PROBES {
            return Err(LeakError::Setup(format!(
                "{} probes added: at most {MAX_PROBES} per check",
                self.probes.len()
            )));
        }
        let mut probes = Vec::with_capacity(self.probes.len());
        let mut tolerance = self.tolerance;
        for (slot, p) in (0u8..).zip(&self.probes) {
            let m = ProbeMetric {
                slot,
                name: p.name(),
                kind: p.kind(),
            };
            checked = checked.with(Metric::Probe(m));
            tolerance[Metric::Probe(m).index()] = i64::try_from(p.tolerance()).unwrap_or(i64::MAX);
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
        let policy_columns = columns.clone();
        let mut policy = Policy::new(
            Rules {
                batch: self.batch,
                max_batch: self.max_batch,
                clean_batches: self.clean_batches,
                tolerance,
            },
            columns,
        );
        let mut budget = Budget::new(self.memory_budget, checked);
        let mut calls = 0u64;
        let mut call_time = Duration::ZERO;
        #[cfg(not(windows))]
        let pid = rustix::process::getpid();
        macro_rules! call_n {
            ($n:expr) => {
                let t = Instant::now();
                for _ in 0..$n {
                    calls += 1;
                    let ok = f();
                    #[cfg(not(windows))]
                    if rustix::process::getpid() != pid {
                        exit_forked_child();
                    }
                    if !ok {
                        return Err(LeakError::DidNotFail { call: calls, name });
                    }
                }
                call_time += t.elapsed();
            };
        }
        // Calls that fit in the time left, at the time a call has taken so far (at least 1
        // while time is left).
        let time_room = |calls: u64, call_time: Duration| -> u64 {
            let Some(left) = self.time_budget.checked_sub(start.elapsed()) else {
                return 0;
            };
            let per_call = call_time.as_secs_f64() / calls.max(1) as f64;
            if per_call <= 0.0 {
                return u64::MAX;
            }
            ((left.as_secs_f64() / per_call) as u64).max(1)
        };
        let progress = |level: u8, stage: &str, calls: u64, b: Option<&crate::Batch>| {
            if self.verbosity < level {
                return;
            }
            let mut err = std::io::stderr().lock();
            let _ = write!(
                err,
                "memsight-leak: {name}: {stage}: {calls} calls, {:.3} s",
                start.elapsed().as_secs_f64()
            );
            if let Some(b) = b {
                for &m in policy_columns.iter().filter(|&&m| b.delta(m) != 0) {
                    let _ = write!(err, " {m}={:+}", b.delta(m));
                }
            }
            let _ = writeln!(err);
        };

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
        progress(1, "first call", calls, None);

        // 2. Warm-up, in doubling pieces so that a huge leak cannot run past the memory budget.
        let mut prev = s1;
        let mut left = self.warmup;
        let mut piece = 1u64;
        while left > 0 && !budget.exceeded(&prev) && start.elapsed() < self.time_budget / 4 {
            let n = piece
                .min(left)
                .min(budget.affordable(&prev))
                .min(time_room(calls, call_time));
            call_n!(n);
            progress(2, "warm-up", calls, None);
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
        let children_before = if checked.contains(Metric::Children) {
            sampler.proc_self.child_pids()
        } else {
            Vec::new()
        };
        #[cfg(windows)]
        let heaps_before = if checked.contains(Metric::HeapCount) {
            sampler.proc_self.heaps()
        } else {
            Vec::new()
        };
        let warmup_calls = calls;
        progress(1, "warm-up done", calls, None);
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
            let window = policy.between(&rprev, &s, 1);
            progress(2, "resource window", calls, Some(&window));
            decision = policy.probe_window(window);
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
            let in_time = n.min(time_room(calls, call_time));
            if in_time == 0 {
                notes.push(format!(
                    "the time budget ({:?}) ran out after {calls} calls",
                    self.time_budget
                ));
            }
            let n = in_time;
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
            let batch = policy.between(&prev, &s, n);
            progress(1, "batch", calls, Some(&batch));
            decision = policy.record(batch);
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
        // 6. Native allocation sites: where do the leaked C-heap (or front-end) blocks come
        //    from? A few more batches with the allocators hooked.
        if self.sites
            && matches!(verdict, Verdict::Leak(_))
            && report
                .metrics
                .iter()
                .any(|m| m.leaking && m.metric.has_sites())
            && !budget.exceeded(&prev)
        {
            let limits = crate::sites::phase::Limits {
                batch: policy.batch_size(),
                batches: 8,
                max_calls: budget.affordable(&prev).min(
                    self.call_budget
                        .saturating_sub(calls)
                        .max(policy.batch_size() * 8),
                ),
                deadline: Instant::now()
                    + self
                        .time_budget
                        .saturating_sub(start.elapsed())
                        .min(self.time_budget / 4),
                // A Rust-heap leak already has its sites from CountingAlloc's stacks.
                skip_rust: !report.allocation_sites.is_empty(),
            };
            #[cfg(not(windows))]
            let mut g = || {
                let ok = f();
                if rustix::process::getpid() != pid {
                    exit_forked_child();
                }
                ok
            };
            #[cfg(windows)]
            let mut g = &mut f;
            let found = crate::sites::phase::run(&mut g, &self.site_hooks, limits);
            report.leak_sites = found.sites;
            report.notes.extend(found.notes);
        }
        if matches!(verdict, Verdict::Leak(_))
            && let Some(dir) = self.plot_dir.clone().or_else(|| {
                std::env::var_os(PLOT_DIR_ENV)
                    .filter(|d| !d.is_empty())
                    .map(PathBuf::from)
            })
        {
            report.notes.push(match crate::plot::write(&report, &dir) {
                Ok(path) => format!("plot written to {}", path.display()),
                Err(e) => format!("plot not written: {e}"),
            });
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
            Some(Metric::Children) => {
                let children: Vec<String> = sampler
                    .proc_self
                    .child_pids()
                    .into_iter()
                    .filter(|p| !children_before.contains(p))
                    .map(|p| describe_process(&mut sampler, p))
                    .collect();
                Err(LeakError::Unclosed {
                    metric: Metric::Children,
                    count: children.len() as i64,
                    items: children,
                    report: Box::new(report),
                })
            }
            #[cfg(windows)]
            Some(Metric::HeapCount) => {
                let items: Vec<String> = sampler
                    .proc_self
                    .heaps()
                    .into_iter()
                    .filter(|h| !heaps_before.contains(h))
                    .collect();
                Err(LeakError::Unclosed {
                    metric: Metric::HeapCount,
                    count: resource_growth(&report, Metric::HeapCount),
                    items,
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

/// `PID (exe name)` of a child process.
#[cfg(windows)]
fn describe_process(sampler: &mut Sampler, pid: i32) -> String {
    sampler.proc_self.describe_child(pid)
}

/// `PID (name)` of a child process, with `zombie` when it exited and was never waited for.
#[cfg(not(windows))]
fn describe_process(_: &mut Sampler, pid: i32) -> String {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // `PID (comm) S ...`: the comm may hold spaces and parentheses, the state follows the last ')'.
    match (stat.find('('), stat.rfind(')')) {
        (Some(a), Some(b)) if a < b => {
            let state = stat[b + 1..].trim_start().chars().next().unwrap_or('?');
            let zombie = if state == 'Z' { " zombie" } else { "" };
            format!("{pid} ({}){zombie}", &stat[a + 1..b])
        }
        _ => format!("{pid}"),
    }
}

/// Ends a process forked by the tested function whose child side returned into the harness:
/// it must not run the rest of the check (more calls, reports, the test runner's own code).
/// `_exit` skips atexit handlers and stdio flushing, which belong to the parent.
#[allow(unsafe_code)]
#[cfg(not(windows))]
fn exit_forked_child() -> ! {
    // SAFETY: _exit is async-signal-safe and always sound to call; it does not return.
    unsafe { libc::_exit(0) }
}

/// How much a resource grew over the windows and batches (what an unclosed-resource error counts).
fn resource_growth(report: &Report, m: Metric) -> i64 {
    report.metric(m).map_or(0, |r| r.total)
}
