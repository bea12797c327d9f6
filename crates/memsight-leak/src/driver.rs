//! The driver: the check's sequence (first call, warm-up, resource windows, batches,
//! attribution) around the sampler, the policy and the report. [`LeakTest`] is its front end
//! for Rust; other front ends add their figures with [`LeakTest::probe`].

mod phases;

use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::metric::{Checkers, Metric, SLOTS, Threads};
use crate::policy::Decision;
use crate::report::{LeakError, LeakReason, Outcome, Report, Verdict, summarise};
use crate::sampler::{Probe, ProbeHandle};
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

    /// The check: its phases ([`phases`]) in order, then the verdict's report or error.
    fn run(self, name: String, f: impl FnMut() -> bool) -> Result<Report, LeakError> {
        let _one = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
        let start = Instant::now();
        let setup = phases::setup(&self)?;
        let tcache = setup.tcache;
        let mut c = phases::Check::new(&self, name, f, setup, start);
        let (first_call, s1) = c.first_call()?;
        let warm = c.warm_up(s1)?;
        let before = c.baselines();
        let warmup_calls = c.calls;
        let (decision, base) = c.resource_windows(&warm)?;
        let (decision, prev) = c.batches(decision, base)?;
        let (verdict, unclosed) = match decision {
            Decision::Pass(v) => (v, None),
            Decision::Leak(r) => (Verdict::Leak(r), None),
            Decision::Unclosed(m) => (Verdict::Leak(LeakReason::Persistent), Some(m)),
            Decision::Continue => (Verdict::Clean, None),
        };
        let mut report = summarise(
            &c.policy,
            Outcome {
                name: c.name.clone(),
                verdict,
                unclosed,
                calls: c.calls,
                warmup_calls,
                elapsed: start.elapsed(),
                checked: c.checked,
                first_call,
                tcache,
                notes: std::mem::take(&mut c.notes),
            },
        );
        // After the verdict: where the leak is (not counted in the report's calls or time).
        c.rust_sites(&mut report, &prev);
        c.native_sites(&mut report, &prev);
        c.plot(&mut report);
        match unclosed {
            Some(m) => Err(c.unclosed(m, &before, report)),
            None if matches!(verdict, Verdict::Leak(_)) => Err(LeakError::Memory(Box::new(report))),
            None => Ok(report),
        }
    }
}

/// `PID (name)` of a child process, with `zombie` when it exited and was never waited for: the
/// name and state as `memsight::Process` reads them on each OS; the pid alone when it is gone.
fn describe_process(pid: i32) -> String {
    let Some(p) = u32::try_from(pid)
        .ok()
        .and_then(|pid| memsight::Process::new(pid).ok())
    else {
        return pid.to_string();
    };
    let Ok(name) = p.name() else {
        return pid.to_string();
    };
    let zombie = match p.status() {
        Ok(memsight::process::ProcessStatus::Zombie) => " zombie",
        _ => "",
    };
    format!("{pid} ({name}){zombie}")
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
