//! Taking samples: one reading of every checked metric, into plain preallocated data.
//!
//! The built-in metrics are read here (the counting allocator, glibc, `/proc/self`); a front end
//! adds its own figures through the [`Probe`] trait, read at the same points.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use memsight::heap::CountingAlloc;

use crate::metric::{Checkers, Metric, ProbeKind, ProbeMetric, SLOTS, Threads};
use crate::proc_self::ProcSelf;
use crate::report::LeakError;

/// A figure of a front end's own, sampled with the built-in metrics and judged by the same
/// policy: how a Python front end adds the interpreter's allocated blocks, gc garbage and
/// Python threads. Add one with [`LeakTest::probe`](crate::LeakTest::probe).
///
/// ```
/// use std::sync::atomic::{AtomicI64, Ordering};
/// use memsight_leak::{LeakTest, Probe, ProbeKind};
///
/// static OPEN: AtomicI64 = AtomicI64::new(0);
///
/// struct Handles;
/// impl Probe for Handles {
///     fn name(&self) -> &'static str { "handles" }
///     fn kind(&self) -> ProbeKind { ProbeKind::Resource }
///     fn read(&mut self) -> Result<i64, String> { Ok(OPEN.load(Ordering::Relaxed)) }
/// }
///
/// let err = LeakTest::new()
///     .probe(Handles)
///     .check(|| { OPEN.fetch_add(1, Ordering::Relaxed); })
///     .unwrap_err();
/// assert!(matches!(err, memsight_leak::LeakError::Unclosed { .. }), "{err}");
/// ```
pub trait Probe: Send {
    /// The short name used in reports (`py_blocks`, `gc_garbage`, ...).
    fn name(&self) -> &'static str;
    /// How the figure is judged.
    fn kind(&self) -> ProbeKind;
    /// The current figure. Called before and after every batch, outside the calls; it should
    /// not allocate on the Rust heap (or the Rust heap figures include it).
    fn read(&mut self) -> Result<i64, String>;
    /// For a [`ProbeKind::Resource`]: one line per item held now, to name the new ones in a
    /// failure report (called only outside measured windows). Default: none.
    fn items(&mut self) -> Vec<String> {
        Vec::new()
    }
    /// Called at the start of every sample, before any figure (built-in or probe) is read: a
    /// front end's chance to settle its own state first (Python collects its cyclic garbage,
    /// runs the user's trim callback). Default: nothing.
    fn prepare(&mut self) {}
    /// Growth per batch of this figure that still counts as none (default 0: exact). Set by a
    /// front end that maps a user's allowance onto its probes (psleak's `tolerance`).
    fn tolerance(&self) -> u64 {
        0
    }
}

/// A shared handle on a probe, so [`LeakTest`](crate::LeakTest) stays `Clone`.
#[derive(Clone)]
pub(crate) struct ProbeHandle(pub(crate) Arc<Mutex<dyn Probe>>);

impl ProbeHandle {
    pub(crate) fn new(p: impl Probe + 'static) -> ProbeHandle {
        ProbeHandle(Arc::new(Mutex::new(p)))
    }

    fn with<T>(&self, f: impl FnOnce(&mut dyn Probe) -> T) -> T {
        let mut p = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut *p)
    }

    pub(crate) fn name(&self) -> &'static str {
        self.with(|p| p.name())
    }

    pub(crate) fn kind(&self) -> ProbeKind {
        self.with(|p| p.kind())
    }

    pub(crate) fn items(&self) -> Vec<String> {
        self.with(|p| p.items())
    }

    pub(crate) fn tolerance(&self) -> u64 {
        self.with(|p| p.tolerance())
    }
}

impl fmt::Debug for ProbeHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Probe({})", self.name())
    }
}

/// One reading of every checked metric. Plain data: taking one never allocates.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Sample {
    pub(crate) v: [i64; SLOTS],
    pub(crate) rust_blocks: i64,
}

pub(crate) fn setup_err(what: &str, e: impl fmt::Display) -> LeakError {
    LeakError::Setup(format!("{what}: {e}"))
}

/// Reads samples: the built-in metrics in `checked`, then every probe.
pub(crate) struct Sampler {
    pub(crate) proc_self: ProcSelf,
    /// This process, for statm. `None` once the tested function closed the harness's
    /// descriptors: its O_PATH descriptor is then forgotten, never closed (see `Drop`).
    me: Option<memsight::Process>,
    pub(crate) checked: Checkers,
    probes: Vec<(ProbeMetric, ProbeHandle)>,
    threads: Threads,
    trim: bool,
    settle: bool,
    #[cfg(not(windows))]
    tcache: crate::tcache::Normalizer,
}

impl Sampler {
    pub(crate) fn new(
        checked: Checkers,
        probes: Vec<(ProbeMetric, ProbeHandle)>,
        threads: Threads,
        trim: bool,
        settle: bool,
    ) -> Result<Self, LeakError> {
        Ok(Sampler {
            proc_self: ProcSelf::new().map_err(|e| setup_err("/proc/self", e))?,
            me: Some(memsight::Process::current().map_err(|e| setup_err("/proc/self", e))?),
            checked,
            probes,
            threads,
            trim,
            settle,
            #[cfg(not(windows))]
            tcache: crate::tcache::Normalizer::new(),
        })
    }

    /// A sample of every checked metric.
    pub(crate) fn sample(&mut self) -> Result<Sample, LeakError> {
        self.sample_of(self.checked)
    }

    /// The figures the memory budget needs (Rust heap, native heap, statm), for the warm-up:
    /// about a tenth of a full sample's cost (no smaps_rollup, maps or directory listings).
    pub(crate) fn sample_light(&mut self) -> Result<Sample, LeakError> {
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

    /// Drops the process handle without closing what it holds (the tested function may have
    /// closed or replaced its descriptor). The macOS and FreeBSD handles hold nothing.
    #[cfg_attr(
        any(target_os = "macos", target_os = "freebsd"),
        allow(clippy::forget_non_drop)
    )]
    fn give_up_process(&mut self) {
        std::mem::forget(self.me.take());
    }

    fn sample_of(&mut self, c: Checkers) -> Result<Sample, LeakError> {
        if let Err(lost) = self.proc_self.verify() {
            // The function closes descriptors it does not own: the process handle's is as
            // likely gone or replaced as ours. Forget it rather than close someone else's.
            self.give_up_process();
            return Err(LeakError::FdClosedUnderHarness {
                fd: lost.fd,
                now: lost.now,
                after_call: 0,
            });
        }
        for (m, p) in &self.probes {
            if c.contains(Metric::Probe(*m)) {
                p.with(|p| p.prepare());
            }
        }
        let mut s = Sample::default();
        if c.contains(Metric::RustHeap) {
            let r = match self.threads {
                Threads::All => CountingAlloc::stats(),
                Threads::Calling => CountingAlloc::thread_stats(),
            };
            s.v[Metric::RustHeap.index()] = r.live_bytes;
            s.rust_blocks = r.live_blocks;
        }
        #[cfg(not(windows))]
        if c.contains(Metric::HeapUsed) || c.contains(Metric::MmapUsed) {
            self.tcache.run();
        }
        if self.trim && (c.contains(Metric::Rss) || c.contains(Metric::Uss)) {
            let _ = memsight::heap::trim();
        }
        if c.contains(Metric::HeapUsed) || c.contains(Metric::MmapUsed) || heap_count(c) {
            let h = memsight::heap::info().map_err(|e| setup_err("heap info", e))?;
            s.v[Metric::HeapUsed.index()] = h.heap_used as i64;
            s.v[Metric::MmapUsed.index()] = h.mmap_used as i64;
            #[cfg(windows)]
            {
                s.v[Metric::HeapCount.index()] = h.heap_count as i64;
            }
        }
        if c.contains(Metric::Rss) || c.contains(Metric::Vms) {
            let m = self
                .me
                .as_ref()
                .ok_or_else(|| setup_err("statm", "process handle given up"))?
                .memory_info()
                .map_err(|e| setup_err("statm", e))?;
            s.v[Metric::Rss.index()] = m.rss as i64;
            s.v[Metric::Vms.index()] = m.vms as i64;
        }
        #[cfg(not(windows))]
        if c.contains(Metric::Uss) {
            s.v[Metric::Uss.index()] = self
                .proc_self
                .uss()
                .map_err(|e| setup_err("smaps_rollup", e))?;
        }
        #[cfg(not(windows))]
        if c.contains(Metric::Maps) || c.contains(Metric::MapsAnon) {
            let m = self.proc_self.maps().map_err(|e| setup_err("maps", e))?;
            s.v[Metric::Maps.index()] = m.count;
            s.v[Metric::MapsAnon.index()] = m.anon_bytes;
        }
        if c.contains(Metric::Fds) {
            s.v[Metric::Fds.index()] = self.proc_self.fds().map_err(|e| setup_err("fd", e))?;
        }
        if c.contains(Metric::Threads) {
            s.v[Metric::Threads.index()] =
                self.proc_self.threads().map_err(|e| setup_err("task", e))?;
        }
        if c.contains(Metric::Children) {
            s.v[Metric::Children.index()] = self
                .proc_self
                .children()
                .map_err(|e| setup_err("task/*/children", e))?;
        }
        for m in Metric::ALL {
            if !c.contains(m) {
                s.v[m.index()] = 0;
            }
        }
        for (m, p) in &self.probes {
            if c.contains(Metric::Probe(*m)) {
                s.v[Metric::Probe(*m).index()] =
                    p.with(|p| p.read()).map_err(|e| setup_err(m.name, e))?;
            }
        }
        Ok(s)
    }

    /// A sample, re-taken with short sleeps while a resource (fds, threads, resource probes) is
    /// above `prev` (goleak's settle: up to 20 tries, sleeping 1 µs << i capped at 100 µs). The
    /// retries read the resources only (a full sample costs milliseconds: gc, smaps, maps); a
    /// full sample is taken again once they settle, or after the last try.
    pub(crate) fn settled(&mut self, prev: &Sample) -> Result<Sample, LeakError> {
        let s = self.sample()?;
        if !self.settle {
            return Ok(s);
        }
        let mut resources = Checkers::none();
        let mut mask = [false; SLOTS];
        let probes = self.probes.iter().map(|(m, _)| Metric::Probe(*m));
        for m in self.checked.iter().chain(probes) {
            if m.is_resource() && self.checked.contains(m) {
                resources = resources.with(m);
                mask[m.index()] = true;
            }
        }
        let settled = |s: &Sample| (0..SLOTS).all(|k| !mask[k] || s.v[k] <= prev.v[k]);
        if settled(&s) {
            return Ok(s);
        }
        for i in 0..20 {
            std::thread::sleep(Duration::from_micros((1u64 << i).min(100)));
            if settled(&self.sample_of(resources)?) {
                break;
            }
        }
        self.sample()
    }

    /// The current items of every resource probe, for naming the new ones in a report.
    pub(crate) fn probe_items(&self, m: Metric) -> Vec<String> {
        self.probes
            .iter()
            .find(|(pm, _)| Metric::Probe(*pm) == m)
            .map(|(_, p)| p.items())
            .unwrap_or_default()
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        // A last check (the attribution calls, or a call that ended the check early, may have
        // closed descriptors too): never close a descriptor that is no longer ours.
        if self.proc_self.verify().is_err() {
            self.give_up_process();
        }
    }
}

/// Whether `c` holds the Windows heap count (read with the native heap).
fn heap_count(c: Checkers) -> bool {
    #[cfg(windows)]
    return c.contains(Metric::HeapCount);
    #[cfg(not(windows))]
    {
        let _ = c;
        false
    }
}

/// Waits until other threads stop allocating: the Rust heap of the other threads (process total
/// minus this thread) and glibc's `heap_used` unchanged over 1 ms, polled every 250 µs, at most
/// 50 ms. A test runner's main thread is often still printing and allocating in the first
/// milliseconds of a test. Returns whether the process went quiet.
pub(crate) fn quiesce() -> bool {
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
