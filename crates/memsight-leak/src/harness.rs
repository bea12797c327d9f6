//! The check loop: first call, warm-up, resource probes, fixed batches, verdict.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use memsight::heap::CountingAlloc;

use crate::metric::{Checkers, Metric, N, Threads};
use crate::probe::Probe;
use crate::report::{Batch, LeakError, LeakReason, MetricReport, Report, Verdict};
use crate::stats::slope_ci;

const MIB: u64 = 1024 * 1024;
/// Batches kept per check: preallocated so that recording a batch never allocates.
const MAX_BATCHES: usize = 512;
/// The sign-test window: a leak needs growth in LEAK_GREW of the last LEAK_WINDOW batches.
const LEAK_WINDOW: usize = 8;
const LEAK_GREW: usize = 7;

/// Extra calls made with allocation stacks recorded, after a Rust-heap leak verdict.
const ATTRIBUTION_CALLS: u64 = 32;

/// Frames of the allocator, the standard library and the harness, skipped in allocation stacks.
const PLUMBING: [&str; 12] = [
    "memsight::heap::",
    "<memsight::heap::",
    "std::",
    "<std::",
    "core::",
    "<core::",
    "alloc::",
    "<alloc::",
    "__rust",
    "__rdl",
    "rust_begin_unwind",
    "<F as",
];

/// Groups tracked allocations by stack (innermost non-plumbing frames), most blocks first.
fn allocation_sites(live: Vec<memsight::heap::TrackedAlloc>) -> Vec<crate::AllocationSite> {
    let mut sites: Vec<crate::AllocationSite> = Vec::new();
    for t in live {
        let text = t.backtrace.to_string();
        let mut stack = Vec::new();
        let mut lines = text.lines().peekable();
        while let Some(line) = lines.next() {
            let trimmed = line.trim();
            let Some((num, func)) = trimmed.split_once(": ") else {
                continue;
            };
            if !num.chars().all(|c| c.is_ascii_digit()) {
                continue;
            }
            let at = lines
                .peek()
                .and_then(|l| l.trim().strip_prefix("at "))
                .map(str::to_owned);
            let loc = at.as_deref().unwrap_or("");
            if func.starts_with("memsight_leak::") || loc.contains("memsight-leak/src/harness.rs") {
                break; // the harness calling the function: the stack above is the user's
            }
            // Optimised builds name inlined frames without their path (`{closure#0}`), so the
            // source location decides too: the standard library's and memsight's allocator.
            let plumbing = PLUMBING.iter().any(|p| func.starts_with(p))
                || loc.starts_with("/rustc/")
                || loc.contains("/library/std/")
                || loc.contains("/library/alloc/")
                || loc.contains("/library/core/")
                || loc.contains("src/heap/counting.rs");
            if plumbing {
                continue;
            }
            stack.push(match at {
                Some(at) => format!("{func} at {at}"),
                None => func.to_owned(),
            });
            if stack.len() == 6 {
                break;
            }
        }
        match sites.iter_mut().find(|s| s.stack == stack) {
            Some(site) => {
                site.blocks += 1;
                site.bytes += t.size;
            }
            None => sites.push(crate::AllocationSite {
                blocks: 1,
                bytes: t.size,
                stack,
            }),
        }
    }
    sites.sort_by(|a, b| b.blocks.cmp(&a.blocks).then(b.bytes.cmp(&a.bytes)));
    sites.truncate(3);
    sites
}

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
    tolerance: [i64; N],
    threads: Threads,
    trim: bool,
    settle: bool,
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
            tolerance: [0; N],
            threads: Threads::All,
            trim: true,
            settle: true,
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
        if self.threads == Threads::All && !quiesce() {
            notes.push(
                "other threads kept allocating while the check started (waited 50 ms for them to \
                 settle): their work may show in the figures"
                    .to_owned(),
            );
        }
        let mut sampler = Sampler::new(checked, self.threads, self.trim, self.settle)?;
        // smaps_rollup appeared in Linux 4.14: without it, go on without USS.
        if checked.contains(Metric::Uss)
            && let Err(e) = sampler.probe.uss()
        {
            checked = checked.without(Metric::Uss);
            sampler.checked = checked;
            notes.push(format!("uss not measured: /proc/self/smaps_rollup: {e}"));
        }
        // One throw-away sample warms whatever the readers initialise lazily.
        sampler.sample()?;
        if self.threads == Threads::All
            && let Ok(n) = sampler.probe.threads()
            && n > 2
        {
            notes.push(format!(
                "{} other threads were running: process-wide figures include their work (under \
                 `cargo test` use --test-threads=1, cargo nextest, or Threads::Calling)",
                n - 1
            ));
        }

        let mut st = State {
            cfg: &self,
            checked,
            calls: 0,
            batches: prefaulted_batches(),
            rate: 0.0,
            origin: Sample::default(),
            noisy: [false; N],
            probes: [Batch {
                calls: 0,
                delta: [0; N],
                rust_blocks: 0,
            }; 2],
        };
        macro_rules! call_n {
            ($n:expr) => {
                for _ in 0..$n {
                    st.calls += 1;
                    if !f() {
                        return Err(LeakError::DidNotFail {
                            call: st.calls,
                            name,
                        });
                    }
                }
            };
        }

        // 1. The first call: fds and threads it opens are reported, not blamed.
        let s0 = sampler.sample()?;
        call_n!(1);
        let s1 = sampler.settled(&s0)?;
        let first_call = (
            s1.v[Metric::Fds.index()] - s0.v[Metric::Fds.index()],
            s1.v[Metric::Threads.index()] - s0.v[Metric::Threads.index()],
        );
        // Not a rate yet: a large first call is as likely lazy initialisation as a leak.
        st.origin = s0;

        // 2. Warm-up, in doubling pieces so that a huge leak cannot run past the memory budget.
        let mut prev = s1;
        let mut left = self.warmup;
        let mut piece = 1u64;
        while left > 0 && !st.over_budget(&prev) {
            let n = piece.min(left).min(st.affordable(&prev));
            call_n!(n);
            let s = sampler.sample_light()?;
            st.observe_rate(&prev, &s, n);
            prev = s;
            left -= n;
            piece = piece.saturating_mul(2);
        }

        // 3. Baselines for naming leaked fds and threads (allocates; outside every window).
        let fds_before = if checked.contains(Metric::Fds) {
            sampler.probe.fd_targets()
        } else {
            Vec::new()
        };
        let threads_before = if checked.contains(Metric::Threads) {
            sampler.probe.thread_names()
        } else {
            Vec::new()
        };
        let warmup_calls = st.calls;
        // Two one-call windows for fds and threads.
        let resources = Checkers::only(&[Metric::Fds, Metric::Threads]);
        let res_mask = checked
            .iter()
            .filter(|&m| resources.contains(m))
            .fold(Checkers::none(), Checkers::with);
        let mut resource_streak = [0usize; N];
        let mut resource_leak = None;
        // Full samples here too: they also let the process settle before the batches' baseline.
        let mut rprev = sampler.sample()?;
        for k in 0..st.probes.len() {
            if st.over_budget(&prev) {
                break;
            }
            call_n!(1);
            let s = sampler.settled(&rprev)?;
            let mut delta = [0i64; N];
            for m in res_mask.iter() {
                let i = m.index();
                delta[i] = s.v[i] - rprev.v[i];
                if delta[i] > self.tolerance[i] {
                    resource_streak[i] += 1;
                    if resource_streak[i] >= 2 {
                        resource_leak = Some(m);
                    }
                } else {
                    resource_streak[i] = 0;
                }
            }
            st.probes[k] = Batch {
                calls: 1,
                delta,
                rust_blocks: 0,
            };
            rprev = s;
        }
        // The baseline of the batches.
        prev = rprev;

        let mut size = self.batch;
        let end: Result<Verdict, Metric> = loop {
            if let Some(m) = resource_leak {
                break Err(m);
            }
            if st.over_budget(&prev) {
                break Ok(Verdict::Leak(LeakReason::MemoryBudget));
            }
            let n = size
                .min(st.affordable(&prev))
                .min(self.call_budget.saturating_sub(st.calls));
            if n == 0 || st.batches.len() == MAX_BATCHES {
                break Ok(st.budget_verdict(&mut notes));
            }
            call_n!(n);
            let s = sampler.settled(&prev)?;
            for m in res_mask.iter() {
                let i = m.index();
                if s.v[i] - prev.v[i] > self.tolerance[i] {
                    resource_streak[i] += 1;
                    if resource_streak[i] >= 2 {
                        resource_leak = Some(m);
                    }
                } else {
                    resource_streak[i] = 0;
                }
            }
            let batch = st.record(&prev, &s, n);
            st.observe_rate(&prev, &s, n);
            prev = s;
            if let Some(m) = resource_leak {
                break Err(m);
            }
            if st.persistent_leak() {
                break Ok(Verdict::Leak(LeakReason::Persistent));
            }
            if st.grew(&batch) {
                // Two growing batches in a row: give a filling cache room to show it stops.
                let n = st.batches.len();
                if n >= 2 && st.grew(&st.batches[n - 2]) {
                    size = size.saturating_mul(2).min(self.max_batch);
                }
            } else {
                let clean_streak = st.clean_streak();
                if clean_streak >= self.clean_batches && !st.pages_grew_throughout(clean_streak) {
                    let grew_before = st.batches.iter().any(|b| st.grew(b));
                    break Ok(if grew_before {
                        Verdict::Bounded
                    } else {
                        Verdict::Clean
                    });
                }
            }
        };

        for m in checked.iter().filter(|&m| st.noisy[m.index()]) {
            notes.push(format!(
                "{m} went down as well as up between batches: judged by its trend, like RSS"
            ));
        }
        let verdict = match end {
            Ok(v) => v,
            Err(_) => Verdict::Leak(LeakReason::Persistent),
        };
        let mut report = st.report(
            name,
            verdict,
            end.err(),
            warmup_calls,
            start.elapsed(),
            first_call,
            tcache,
            notes,
        );
        if matches!(verdict, Verdict::Leak(_))
            && report.metric(Metric::RustHeap).is_some_and(|m| m.leaking)
            && !st.over_budget(&prev)
        {
            // Where do the leaked blocks come from? A few more calls with stacks recorded.
            let n = ATTRIBUTION_CALLS.min(st.affordable(&prev));
            CountingAlloc::start_tracking(4096);
            for _ in 0..n {
                f();
            }
            let live = CountingAlloc::stop_tracking();
            report.allocation_sites = allocation_sites(live);
        }
        match (verdict, end) {
            (_, Err(Metric::Fds)) => {
                let after = sampler.probe.fd_targets();
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
            (_, Err(_)) => {
                let after = sampler.probe.thread_names();
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
            (Verdict::Leak(_), _) => Err(LeakError::Memory(Box::new(report))),
            _ => Ok(report),
        }
    }
}

/// Room for every batch, written once so that its pages are resident before measuring (a page
/// touched for the first time mid-check would show as RSS growth).
fn prefaulted_batches() -> Vec<Batch> {
    let zero = Batch {
        calls: 0,
        delta: [0; N],
        rust_blocks: 0,
    };
    let mut v = vec![zero; MAX_BATCHES];
    for b in &mut v {
        *std::hint::black_box(b) = zero;
    }
    v.clear();
    v
}

/// Waits until other threads stop allocating: the Rust heap of the other threads (process total
/// minus this thread) and glibc's `heap_used` unchanged over 1 ms, polled every 250 µs, at most
/// 50 ms. A test runner's main thread is often still printing and allocating in the first
/// milliseconds of a test. Returns whether the process went quiet.
fn quiesce() -> bool {
    let reading = || {
        let others = CountingAlloc::stats().live_bytes - CountingAlloc::thread_stats().live_bytes;
        let heap = memsight::heap::info().map_or(0, |h| h.heap_used + h.mmap_used);
        (others, heap)
    };
    let start = Instant::now();
    let mut last = reading();
    let mut stable = 0;
    while start.elapsed() < Duration::from_millis(50) {
        std::thread::sleep(Duration::from_micros(250));
        let now = reading();
        if now == last {
            stable += 1;
            if stable >= 4 {
                return true;
            }
        } else {
            stable = 0;
            last = now;
        }
    }
    false
}

/// One reading of every checked metric. Plain data: taking one never allocates.
#[derive(Debug, Clone, Copy, Default)]
struct Sample {
    v: [i64; N],
    rust_blocks: i64,
}

struct Sampler {
    probe: Probe,
    me: memsight::Process,
    checked: Checkers,
    threads: Threads,
    trim: bool,
    settle: bool,
    tcache: crate::tcache::Normalizer,
}

fn setup_err(what: &str, e: impl std::fmt::Display) -> LeakError {
    LeakError::Setup(format!("{what}: {e}"))
}

impl Sampler {
    fn new(
        checked: Checkers,
        threads: Threads,
        trim: bool,
        settle: bool,
    ) -> Result<Self, LeakError> {
        Ok(Sampler {
            probe: Probe::new().map_err(|e| setup_err("/proc/self", e))?,
            me: memsight::Process::current().map_err(|e| setup_err("/proc/self", e))?,
            checked,
            threads,
            trim,
            settle,
            tcache: crate::tcache::Normalizer::new(),
        })
    }

    fn sample(&mut self) -> Result<Sample, LeakError> {
        self.sample_of(self.checked)
    }

    /// The figures the memory budget needs (Rust heap, native heap, statm), for the warm-up:
    /// about a tenth of a full sample's cost (no smaps_rollup, maps or directory listings).
    fn sample_light(&mut self) -> Result<Sample, LeakError> {
        let light = Checkers::only(&[
            Metric::RustHeap,
            Metric::HeapUsed,
            Metric::MmapUsed,
            Metric::Rss,
            Metric::Vms,
        ]);
        let mut mask = Checkers::none();
        for m in self.checked.iter().filter(|&m| light.contains(m)) {
            mask = mask.with(m);
        }
        self.sample_of(mask)
    }

    fn sample_of(&mut self, c: Checkers) -> Result<Sample, LeakError> {
        let mut s = Sample::default();
        if c.contains(Metric::RustHeap) {
            let r = match self.threads {
                Threads::All => CountingAlloc::stats(),
                Threads::Calling => CountingAlloc::thread_stats(),
            };
            s.v[Metric::RustHeap.index()] = r.live_bytes;
            s.rust_blocks = r.live_blocks;
        }
        if c.contains(Metric::HeapUsed) || c.contains(Metric::MmapUsed) {
            self.tcache.run();
        }
        if self.trim && (c.contains(Metric::Rss) || c.contains(Metric::Uss)) {
            let _ = memsight::heap::trim();
        }
        if c.contains(Metric::HeapUsed) || c.contains(Metric::MmapUsed) {
            let h = memsight::heap::info().map_err(|e| setup_err("heap info", e))?;
            s.v[Metric::HeapUsed.index()] = h.heap_used as i64;
            s.v[Metric::MmapUsed.index()] = h.mmap_used as i64;
        }
        if c.contains(Metric::Rss) || c.contains(Metric::Vms) {
            let m = self.me.memory_info().map_err(|e| setup_err("statm", e))?;
            s.v[Metric::Rss.index()] = m.rss as i64;
            s.v[Metric::Vms.index()] = m.vms as i64;
        }
        if c.contains(Metric::Uss) {
            s.v[Metric::Uss.index()] =
                self.probe.uss().map_err(|e| setup_err("smaps_rollup", e))?;
        }
        if c.contains(Metric::Maps) || c.contains(Metric::MapsAnon) {
            let m = self.probe.maps().map_err(|e| setup_err("maps", e))?;
            s.v[Metric::Maps.index()] = m.count;
            s.v[Metric::MapsAnon.index()] = m.anon_bytes;
        }
        if c.contains(Metric::Fds) {
            s.v[Metric::Fds.index()] = self.probe.fds().map_err(|e| setup_err("fd", e))?;
        }
        if c.contains(Metric::Threads) {
            s.v[Metric::Threads.index()] =
                self.probe.threads().map_err(|e| setup_err("task", e))?;
        }
        for m in Metric::ALL {
            if !c.contains(m) {
                s.v[m.index()] = 0;
            }
        }
        Ok(s)
    }

    /// A sample, re-taken with short sleeps while fds or threads are above `prev` (goleak's
    /// settle: up to 20 tries, sleeping 1 µs << i capped at 100 µs).
    fn settled(&mut self, prev: &Sample) -> Result<Sample, LeakError> {
        self.settled_of(prev, self.checked)
    }

    /// [`settled`](Self::settled) for the metrics in `mask` only.
    fn settled_of(&mut self, prev: &Sample, mask: Checkers) -> Result<Sample, LeakError> {
        let mut s = self.sample_of(mask)?;
        if !self.settle {
            return Ok(s);
        }
        let (fd, th) = (Metric::Fds.index(), Metric::Threads.index());
        for i in 0..20 {
            if s.v[fd] <= prev.v[fd] && s.v[th] <= prev.v[th] {
                break;
            }
            std::thread::sleep(Duration::from_micros((1u64 << i).min(100)));
            s = self.sample_of(mask)?;
        }
        Ok(s)
    }
}

/// The metrics whose growth counts against the memory budget (real memory).
const BUDGET: [Metric; 5] = [
    Metric::RustHeap,
    Metric::HeapUsed,
    Metric::MmapUsed,
    Metric::Rss,
    Metric::Uss,
];
/// Address-space metrics, allowed 16 times the budget.
const ADDRESS: [Metric; 2] = [Metric::Vms, Metric::MapsAnon];

struct State<'a> {
    cfg: &'a LeakTest,
    checked: Checkers,
    calls: u64,
    batches: Vec<Batch>,
    /// The fastest growth per call seen in the last window, in budget units (bytes, with address
    /// space scaled down 16 times).
    rate: f64,
    origin: Sample,
    /// Metrics that went down in some batch (see `is_noisy`).
    noisy: [bool; N],
    /// The two one-call windows for fds and threads after the warm-up.
    probes: [Batch; 2],
}

impl State<'_> {
    fn growth(&self, s: &Sample) -> f64 {
        let mut g = 0f64;
        for m in BUDGET {
            if self.checked.contains(m) {
                g = g.max((s.v[m.index()] - self.origin.v[m.index()]) as f64);
            }
        }
        for m in ADDRESS {
            if self.checked.contains(m) {
                g = g.max((s.v[m.index()] - self.origin.v[m.index()]) as f64 / 16.0);
            }
        }
        g
    }

    fn observe_rate(&mut self, a: &Sample, b: &Sample, calls: u64) {
        let mut r = 0f64;
        for m in BUDGET {
            if self.checked.contains(m) {
                r = r.max((b.v[m.index()] - a.v[m.index()]) as f64);
            }
        }
        for m in ADDRESS {
            if self.checked.contains(m) {
                r = r.max((b.v[m.index()] - a.v[m.index()]) as f64 / 16.0);
            }
        }
        self.rate = r / calls.max(1) as f64;
    }

    /// Whether growth so far, plus one more call at the current rate, passes the budget.
    fn over_budget(&self, s: &Sample) -> bool {
        self.growth(s) + self.rate > self.cfg.memory_budget as f64
    }

    /// How many calls fit in a quarter of the budget left at the current growth rate (at least 1).
    fn affordable(&self, s: &Sample) -> u64 {
        if self.rate <= 0.0 {
            return u64::MAX;
        }
        let room = self.cfg.memory_budget as f64 - self.growth(s);
        ((room / self.rate / 4.0).floor() as u64).max(1)
    }

    fn record(&mut self, a: &Sample, b: &Sample, calls: u64) -> Batch {
        let mut delta = [0i64; N];
        for m in self.checked.iter() {
            delta[m.index()] = b.v[m.index()] - a.v[m.index()];
        }
        let batch = Batch {
            calls,
            delta,
            rust_blocks: b.rust_blocks - a.rust_blocks,
        };
        self.batches.push(batch);
        for m in self.checked.iter().filter(|m| !m.is_resource()) {
            if batch.delta(m) < -self.cfg.tolerance[m.index()] {
                self.noisy[m.index()] = true;
            }
        }
        batch
    }

    fn grew_m(&self, b: &Batch, m: Metric) -> bool {
        b.delta(m) > self.cfg.tolerance[m.index()]
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
        self.checked
            .iter()
            .any(|m| !self.is_noisy(m) && self.grew_m(b, m))
    }

    /// Trailing batches in which no metric judged batch by batch grew.
    fn clean_streak(&self) -> usize {
        self.batches
            .iter()
            .rev()
            .take_while(|b| !self.grew(b))
            .count()
    }

    /// Whether RSS or USS grew in every one of the last `n` batches: then the exact metrics'
    /// clean streak is not trusted yet (memory touched inside existing mappings).
    fn pages_grew_throughout(&self, n: usize) -> bool {
        let tail = &self.batches[self.batches.len().saturating_sub(n)..];
        self.checked
            .iter()
            .filter(|&m| self.is_noisy(m))
            .any(|m| tail.iter().all(|b| self.grew_m(b, m)))
    }

    /// Points (cumulative calls, cumulative change) of metric `m` over `batches`.
    fn series(batches: &[Batch], m: Metric) -> (Vec<f64>, Vec<f64>) {
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

    /// Metrics that grew in at least 7 of the last 8 batches with a slope interval above zero.
    /// Runs between batches, so it must not allocate: the window's points live on the stack.
    fn leaking_in_window(&self) -> impl Iterator<Item = Metric> + '_ {
        let n = self.batches.len();
        let window = &self.batches[n.saturating_sub(LEAK_WINDOW)..];
        self.checked.iter().filter(move |&m| {
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

    fn persistent_leak(&self) -> bool {
        self.leaking_in_window().next().is_some()
    }

    /// The verdict when the call budget (or the batch store) runs out before a decision.
    fn budget_verdict(&self, notes: &mut Vec<String>) -> Verdict {
        // Still growing: a slope above zero over the second half of the batches, growth in at
        // least two of them, and some in the last quarter (a cache that filled and stopped fails
        // the last two).
        let half = &self.batches[self.batches.len() / 2..];
        let quarter = &self.batches[self.batches.len() * 3 / 4..];
        let growing = self.checked.iter().any(|m| {
            !m.is_resource()
                && half.iter().filter(|b| self.grew_m(b, m)).count() >= 2
                && quarter.iter().any(|b| self.grew_m(b, m))
                && {
                    let (x, y) = Self::series(half, m);
                    slope_ci(&x, &y).1 > 0.0
                }
        });
        if growing {
            Verdict::Leak(LeakReason::CallBudget)
        } else {
            notes.push(
                "call budget ran out before enough clean batches, but the growth had stopped \
                 or its slope's interval includes zero"
                    .to_owned(),
            );
            Verdict::Bounded
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn report(
        &self,
        name: String,
        verdict: Verdict,
        resource: Option<Metric>,
        warmup_calls: u64,
        elapsed: Duration,
        first_call: (i64, i64),
        tcache: bool,
        notes: Vec<String>,
    ) -> Report {
        let window_leaks: Vec<Metric> = match verdict {
            Verdict::Leak(LeakReason::Persistent) => self.leaking_in_window().collect(),
            _ => Vec::new(),
        };
        let probes: Vec<Batch> = self
            .probes
            .iter()
            .filter(|p| p.calls > 0)
            .copied()
            .collect();
        let with_probes: Vec<Batch> = probes.iter().chain(&self.batches).copied().collect();
        let metrics = self
            .checked
            .iter()
            .map(|m| {
                // Fds and threads are judged from the one-call probe windows on.
                let batches = if m.is_resource() {
                    &with_probes[..]
                } else {
                    &self.batches[..]
                };
                let (x, y) = Self::series(batches, m);
                let (per_call, lo, hi) = slope_ci(&x, &y);
                let blocks_per_call = (m == Metric::RustHeap).then(|| {
                    let yb: Vec<f64> = {
                        let mut c = 0f64;
                        std::iter::once(0.0)
                            .chain(self.batches.iter().map(|b| {
                                c += b.rust_blocks as f64;
                                c
                            }))
                            .collect()
                    };
                    slope_ci(&x, &yb).0
                });
                let grew = batches.iter().filter(|b| self.grew_m(b, m)).count();
                let total = batches.iter().map(|b| b.delta(m)).sum();
                let leaking = match verdict {
                    Verdict::Leak(LeakReason::Persistent) => {
                        window_leaks.contains(&m) || resource == Some(m)
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
            name,
            verdict,
            calls: self.calls,
            warmup_calls,
            elapsed,
            checked: self.checked,
            metrics,
            batches: self.batches.clone(),
            probes,
            first_call,
            tcache,
            notes,
            allocation_sites: Vec::new(),
        }
    }
}
