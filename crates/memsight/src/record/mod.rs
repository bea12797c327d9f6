//! Memory over time, on every OS: a [`Sampler`] that follows one process, and optionally all its
//! descendants as they come and go, at a fixed interval; the [`Sample`]s it reads (per process
//! and the tree's totals, [`Figures`] in bytes), the [`Metric`]s they hold, and a [`Summary`] of
//! the peaks of a recording. The types are the same on every OS (a recording written on one is
//! read on any); which figures a sample holds depends on the OS it was taken on (see
//! [`Figures`]), and how the sampler finds a process's children and notices an exec too (see
//! [`Sampler`]).
//!
//! The tree's PSS sum (Linux) is its fair share of memory, its USS sum (Linux, Windows, macOS) is
//! what killing it would free. Every size is in bytes, every time in seconds since the sampler
//! started.
//!
//! ```
//! use std::time::Duration;
//! use memsight::record::{Metric, Sample, Sampler, Summary};
//! let mut sampler = Sampler::new(memsight::Process::current()?).interval(Duration::from_millis(10));
//! let mut sample = Sample::default();
//! let mut summary = Summary::default();
//! for _ in 0..3 {
//!     sampler.sample(&mut sample);
//!     summary.add(&sample);
//!     sampler.wait();
//! }
//! assert_eq!(summary.samples, 3);
//! assert!(summary.peak(Metric::Rss).is_some_and(|p| p.bytes > 0));
//! // USS where the OS has it (FreeBSD has none; PSS is Linux's only).
//! # #[cfg(not(target_os = "freebsd"))]
//! assert!(summary.peak(Metric::Uss).is_some_and(|p| p.bytes > 0));
//! # Ok::<(), memsight::Error>(())
//! ```

// How the sampler reads a process: through `/proc` shortcuts on Linux, through the neutral
// `Process` API elsewhere; the loop itself is one (sampler.rs).
#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
use linux as os;
#[cfg(not(target_os = "linux"))]
mod portable;
#[cfg(not(target_os = "linux"))]
use portable as os;
mod sampler;

pub use sampler::{DEFAULT_INTERVAL, MIN_INTERVAL, Sampler};

/// One process in one [`Sample`].
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ProcessSample {
    /// The process id.
    pub pid: u32,
    /// The process name ([`Process::name`](crate::Process::name)), read when the sampler first
    /// saw the process and again about once a second; on Linux also whenever its kernel command
    /// name (`/proc/PID/comm`, checked every sample) changes, as on an exec.
    pub name: String,
    /// The exact bytes of the name when they are not UTF-8 (`name` then holds them with
    /// U+FFFD); `None` when `name` is exact. Linux only (the bytes of `Process::name_os`; the
    /// other systems' names are read as text): `None` elsewhere. Serialized as `name_bytes`, an
    /// array of integers 0-255, only when present.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub name_bytes: Option<Vec<u8>>,
    /// Its memory figures.
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub memory: Figures,
}

/// The memory figures of one process, or their sums over a [`Sample`]'s processes (saturating),
/// in bytes. `rss` and `vms` are [`MemoryInfo`](crate::MemoryInfo)'s on every OS; USS, PSS and
/// swap are `None` where the OS (or, in fast mode, the sampler) does not read them:
///
/// | Figure | Linux | Windows | macOS | FreeBSD |
/// | --- | --- | --- | --- | --- |
/// | `rss` | `/proc/PID/statm` resident × page size | working set (`WorkingSetSize`) | resident size (`pti_resident_size`) | `ki_rssize` × page size |
/// | `vms` | `/proc/PID/statm` size × page size | private bytes (`PrivateUsage`) | address space (`pti_virtual_size`) | `ki_size` |
/// | `uss` | smaps_rollup private pages | private working-set pages (`QueryWorkingSet`) | private resident pages per region | `None` |
/// | `pss` | smaps_rollup `Pss` | `None` | `None` | `None` |
/// | `swap` | smaps_rollup `Swap` | `None` | `None` | `None` |
///
/// USS is [`Process::memory_footprint`](crate::Process::memory_footprint)'s `uss`; outside
/// Linux a process whose USS cannot be read (on Windows under Wine, every process but the
/// sampler's own) keeps its RSS and VMS with `uss` `None`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Figures {
    /// Resident set size (see the table above). Summed, shared pages count once per process
    /// that maps them.
    pub rss: u64,
    /// Virtual memory size (Windows: private bytes; see the table above).
    pub vms: u64,
    /// Unique set size: private pages; summed, what ending the whole tree would free. `None` in
    /// fast mode, on FreeBSD, and for a process whose USS could not be read.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub uss: Option<u64>,
    /// Proportional set size (smaps_rollup `Pss`); summed, the tree's fair share, shared pages
    /// counted once overall. Linux only; `None` in fast mode.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub pss: Option<u64>,
    /// Swapped-out memory (smaps_rollup `Swap`). Linux only; `None` in fast mode.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub swap: Option<u64>,
}

/// What the [`Sampler`] read at one instant.
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Sample {
    /// When the sample started, in seconds since the sampler was created (monotonic clock).
    pub time: f64,
    /// How long the sample took to read, in seconds: the sampler's own cost.
    pub duration: f64,
    /// The tree's totals over `processes`.
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub total: Figures,
    /// Every process that could be read, by pid. A process that vanished (or could not be read)
    /// during the sample is left out of it.
    pub processes: Vec<ProcessSample>,
}

impl Sample {
    /// Sets `total` to the sums over `processes` (saturating; a metric is `None` when any
    /// process lacks it, as in fast mode, and `Some(0)` for an empty sample).
    pub fn sum(&mut self) {
        let mut t = Figures {
            uss: Some(0),
            pss: Some(0),
            swap: Some(0),
            ..Figures::default()
        };
        let add = |a: Option<u64>, b: Option<u64>| Some(a?.saturating_add(b?));
        for p in &self.processes {
            let p = &p.memory;
            t.rss = t.rss.saturating_add(p.rss);
            t.vms = t.vms.saturating_add(p.vms);
            t.uss = add(t.uss, p.uss);
            t.pss = add(t.pss, p.pss);
            t.swap = add(t.swap, p.swap);
        }
        self.total = t;
    }
}

/// A memory figure the sampler records, by its psutil name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    /// Resident set size.
    Rss,
    /// Virtual memory size.
    Vms,
    /// Unique set size.
    Uss,
    /// Proportional set size.
    Pss,
    /// Swap.
    Swap,
}

impl Metric {
    /// Every metric, in the order they are written.
    pub const ALL: [Metric; 5] = [
        Metric::Rss,
        Metric::Vms,
        Metric::Uss,
        Metric::Pss,
        Metric::Swap,
    ];

    /// The psutil field name: `rss`, `vms`, `uss`, `pss` or `swap`.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Rss => "rss",
            Metric::Vms => "vms",
            Metric::Uss => "uss",
            Metric::Pss => "pss",
            Metric::Swap => "swap",
        }
    }

    /// The metric named `name` (as [`Metric::name`] spells it, any case).
    pub fn from_name(name: &str) -> Option<Metric> {
        Metric::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(name))
    }

    /// Whether the [`Sampler`] reads this metric (outside fast mode) on the OS memsight was built
    /// for: RSS and VMS everywhere, USS on Linux, Windows and macOS, PSS and swap on Linux only
    /// (see [`Figures`]).
    pub fn is_read_here(self) -> bool {
        match self {
            Metric::Rss | Metric::Vms => true,
            Metric::Uss => !cfg!(target_os = "freebsd"),
            Metric::Pss | Metric::Swap => cfg!(target_os = "linux"),
        }
    }

    /// This metric of a process or a tree total, in bytes (`None` when not recorded, as USS in
    /// fast mode).
    pub fn of(self, f: &Figures) -> Option<u64> {
        match self {
            Metric::Rss => Some(f.rss),
            Metric::Vms => Some(f.vms),
            Metric::Uss => f.uss,
            Metric::Pss => f.pss,
            Metric::Swap => f.swap,
        }
    }
}

/// The highest tree total of one metric over a recording.
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Peak {
    /// The tree's total at its peak, in bytes.
    pub bytes: u64,
    /// The time of the (first) sample holding the peak, in seconds since the sampler started.
    pub time: f64,
    /// The pid of the process holding the largest part of the peak (0 for an empty sample).
    pub pid: u32,
    /// That process's name, the latest it was seen with over the recording (a process that
    /// exec'd is named as the program it became; lossy: U+FFFD for bytes that are not UTF-8).
    pub name: String,
    /// Its exact bytes when they are not UTF-8, as [`ProcessSample::name_bytes`].
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub name_bytes: Option<Vec<u8>>,
    /// That process's own value of the metric in the peak sample, in bytes.
    pub process_bytes: u64,
}

/// The peaks and the sampler's cost over a recording, built one sample at a time.
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Summary {
    /// How many samples were added.
    pub samples: u64,
    /// The time of the first sample, in seconds.
    pub first_time: f64,
    /// The time of the last sample, in seconds.
    pub last_time: f64,
    /// The most processes seen in one sample.
    pub max_processes: usize,
    /// The sum of every sample's `duration`, in seconds.
    pub sampling_seconds: f64,
    /// The sum over samples of the number of processes read, to give a cost per process.
    pub process_samples: u64,
    /// The longest sample's `duration`, in seconds.
    pub max_sample_seconds: f64,
    /// The peaks, in [`Metric::ALL`] order (`None` for a metric never recorded).
    pub peaks: [Option<Peak>; 5],
}

impl Summary {
    /// Takes one sample into account.
    pub fn add(&mut self, s: &Sample) {
        if self.samples == 0 {
            self.first_time = s.time;
        }
        self.samples += 1;
        self.last_time = s.time;
        self.max_processes = self.max_processes.max(s.processes.len());
        self.sampling_seconds += s.duration;
        self.process_samples += s.processes.len() as u64;
        self.max_sample_seconds = self.max_sample_seconds.max(s.duration);
        // A peak's process keeps the latest name it was seen with: one caught before its exec
        // ended (or a wrapper script that exec'd its program) is named as the program it became.
        for peak in self.peaks.iter_mut().flatten() {
            if let Some(p) = s.processes.iter().find(|p| p.pid == peak.pid)
                && p.name != peak.name
            {
                peak.name.clone_from(&p.name);
            }
        }
        for (i, metric) in Metric::ALL.into_iter().enumerate() {
            let Some(bytes) = metric.of(&s.total) else {
                continue;
            };
            if self.peaks[i].as_ref().is_some_and(|p| p.bytes >= bytes) {
                continue;
            }
            let top = s
                .processes
                .iter()
                .filter_map(|p| Some((p, metric.of(&p.memory)?)))
                .max_by_key(|&(p, v)| (v, std::cmp::Reverse(p.pid)));
            self.peaks[i] = Some(Peak {
                bytes,
                time: s.time,
                pid: top.map_or(0, |(p, _)| p.pid),
                name: top.map(|(p, _)| p.name.clone()).unwrap_or_default(),
                name_bytes: top.and_then(|(p, _)| p.name_bytes.clone()),
                process_bytes: top.map_or(0, |(_, v)| v),
            });
        }
    }

    /// The peak of `metric`, if it was recorded.
    pub fn peak(&self, metric: Metric) -> Option<&Peak> {
        let i = Metric::ALL.iter().position(|&m| m == metric)?;
        self.peaks[i].as_ref()
    }

    /// Seconds from the first sample to the last.
    pub fn duration(&self) -> f64 {
        self.last_time - self.first_time
    }

    /// The mean cost of reading one process once, in seconds (0 with no process read).
    pub fn seconds_per_process_sample(&self) -> f64 {
        if self.process_samples == 0 {
            0.0
        } else {
            self.sampling_seconds / self.process_samples as f64
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    fn proc(pid: u32, rss: u64, uss: u64) -> ProcessSample {
        ProcessSample {
            pid,
            name: format!("p{pid}"),
            name_bytes: None,
            memory: Figures {
                rss,
                vms: rss.saturating_mul(2),
                uss: Some(uss),
                pss: Some(uss + 1),
                swap: Some(0),
            },
        }
    }

    fn sample(time: f64, procs: Vec<ProcessSample>) -> Sample {
        let mut s = Sample {
            time,
            duration: 0.001,
            processes: procs,
            ..Sample::default()
        };
        s.sum();
        s
    }

    #[test]
    fn totals_sum_and_fast_mode_leaves_them_out() {
        let s = sample(0.0, vec![proc(1, 10, 4), proc(2, 20, 6)]);
        assert_eq!(s.total.rss, 30);
        assert_eq!(s.total.vms, 60);
        assert_eq!(s.total.uss, Some(10));
        assert_eq!(s.total.pss, Some(12));
        let mut fast = proc(3, 5, 0);
        fast.memory.uss = None;
        fast.memory.pss = None;
        fast.memory.swap = None;
        let s = sample(0.0, vec![fast]);
        assert_eq!((s.total.rss, s.total.uss, s.total.pss), (5, None, None));
        let s = sample(0.0, vec![proc(1, u64::MAX, 1), proc(2, 1, 1)]);
        assert_eq!(s.total.rss, u64::MAX);
    }

    #[test]
    fn peak_is_the_first_highest_total_with_the_largest_process() {
        let mut summary = Summary::default();
        summary.add(&sample(0.0, vec![proc(1, 10, 1)]));
        summary.add(&sample(0.1, vec![proc(1, 10, 5), proc(2, 30, 3)]));
        summary.add(&sample(0.2, vec![proc(1, 40, 8)]));
        summary.add(&sample(0.3, vec![proc(1, 40, 2)]));
        assert_eq!(summary.samples, 4);
        assert!((summary.duration() - 0.3).abs() < 1e-9);
        assert_eq!(summary.max_processes, 2);
        let rss = summary.peak(Metric::Rss).cloned().unwrap_or_default();
        assert_eq!((rss.bytes, rss.time, rss.pid), (40, 0.1, 2));
        assert_eq!((rss.name.as_str(), rss.process_bytes), ("p2", 30));
        let uss = summary.peak(Metric::Uss).cloned().unwrap_or_default();
        assert_eq!((uss.bytes, uss.time, uss.pid), (8, 0.1, 1));
        assert_eq!(summary.process_samples, 5);
        assert!((summary.seconds_per_process_sample() - 0.004 / 5.0).abs() < 1e-12);
    }

    #[test]
    fn peak_takes_the_latest_name_of_its_process() {
        let mut summary = Summary::default();
        let mut first = proc(1, 40, 8);
        first.name = "bash".into();
        summary.add(&sample(0.0, vec![first]));
        summary.add(&sample(0.1, vec![proc(1, 10, 1), proc(2, 5, 1)]));
        let rss = summary.peak(Metric::Rss).cloned().unwrap_or_default();
        assert_eq!((rss.bytes, rss.pid, rss.name.as_str()), (40, 1, "p1"));
        // A process gone from later samples keeps the name it had.
        summary.add(&sample(0.2, vec![proc(2, 5, 1)]));
        assert_eq!(
            summary.peak(Metric::Rss).map(|p| p.name.as_str()),
            Some("p1")
        );
    }

    #[test]
    fn fast_mode_has_no_uss_peak() {
        let mut summary = Summary::default();
        let mut p = proc(1, 10, 0);
        p.memory.uss = None;
        p.memory.pss = None;
        p.memory.swap = None;
        summary.add(&sample(0.0, vec![p]));
        assert!(summary.peak(Metric::Uss).is_none());
        assert_eq!(summary.peak(Metric::Rss).map(|p| p.bytes), Some(10));
    }

    #[test]
    fn empty_summary() {
        let summary = Summary::default();
        assert_eq!(summary.seconds_per_process_sample(), 0.0);
        assert!(summary.peak(Metric::Pss).is_none());
    }

    #[test]
    fn metric_names_round_trip() {
        for m in Metric::ALL {
            assert_eq!(Metric::from_name(m.name()), Some(m));
        }
        assert_eq!(Metric::from_name("USS"), Some(Metric::Uss));
        assert_eq!(Metric::from_name("heap"), None);
    }
}
