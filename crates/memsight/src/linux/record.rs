//! Memory over time: a [`Sampler`] that follows one process, and optionally all its descendants
//! as they come and go, at a fixed interval, and a [`Summary`] of the peaks it saw.
//!
//! Each [`Sample`] holds, per process, the resident set size and virtual size from
//! `/proc/PID/statm` and (unless the sampler is in fast mode) USS, PSS and swap from
//! `/proc/PID/smaps_rollup`, plus the tree's totals: the tree's PSS sum is its fair share of
//! memory, its USS sum is what killing it would free. Every size is in bytes, every time in
//! seconds since the sampler started.
//!
//! ```
//! use std::time::Duration;
//! let mut sampler = memsight::linux::record::Sampler::new(memsight::Process::current()?)
//!     .interval(Duration::from_millis(10));
//! let mut sample = memsight::linux::record::Sample::default();
//! let mut summary = memsight::linux::record::Summary::default();
//! for _ in 0..3 {
//!     sampler.sample(&mut sample);
//!     summary.add(&sample);
//!     sampler.wait();
//! }
//! assert_eq!(summary.samples, 3);
//! assert!(summary.peak(memsight::linux::record::Metric::Uss).is_some_and(|p| p.bytes > 0));
//! # Ok::<(), memsight::Error>(())
//! ```

use std::ffi::OsString;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::process::Process;

/// The default time between two samples: 100 ms.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(100);

/// The shortest time between two samples the sampler accepts: 10 ms. Shorter intervals are
/// raised to it, since reading smaps_rollup alone can take a millisecond for a large process.
pub const MIN_INTERVAL: Duration = Duration::from_millis(10);

/// One process in one [`Sample`].
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ProcessSample {
    /// The process id.
    pub pid: u32,
    /// The process name ([`Process::name`]), read when the sampler first saw the process, again
    /// whenever its kernel command name (`/proc/PID/comm`, checked every sample) changes, as on
    /// an exec, and about once a second.
    pub name: String,
    /// The exact bytes of the name ([`Process::name_os`]) when they are not UTF-8 (`name` then
    /// holds them with U+FFFD); `None` when `name` is exact. Serialized as `name_bytes`, an
    /// array of integers 0-255, only when present.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub name_bytes: Option<Vec<u8>>,
    /// Its memory figures (`rss` and `vms` from `/proc/PID/statm`, `uss`, `pss` and `swap` from
    /// `/proc/PID/smaps_rollup`).
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub memory: Figures,
}

/// The memory figures of one process, or their sums over a [`Sample`]'s processes (saturating),
/// in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Figures {
    /// Resident set size (`/proc/PID/statm` field 2 × page size). Summed, shared pages count
    /// once per process that maps them.
    pub rss: u64,
    /// Virtual memory size (`/proc/PID/statm` field 1 × page size).
    pub vms: u64,
    /// Unique set size: private pages, from smaps_rollup; summed, what ending the whole tree
    /// would free. `None` in fast mode.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub uss: Option<u64>,
    /// Proportional set size (smaps_rollup `Pss`); summed, the tree's fair share, shared pages
    /// counted once overall. `None` in fast mode.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub pss: Option<u64>,
    /// Swapped-out memory (smaps_rollup `Swap`). `None` in fast mode.
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
    /// process lacks it, as in fast mode, and `Some(0)` for an empty sample outside fast mode).
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

/// A process the sampler follows, with its name. A process may exec another program (a shell
/// script's name becomes the program it runs, and a command memsight started is still a copy of
/// memsight until its exec ends), so its kernel command name is compared every sample and the
/// name re-read when it changed.
#[derive(Debug)]
struct Followed {
    process: Process,
    /// The exact name ([`Process::name_os`]).
    name: OsString,
    /// `/proc/PID/comm` as last read, newline included, to notice an exec at a cost of one
    /// small read a sample.
    comm: Vec<u8>,
}

impl Followed {
    fn new(process: Process) -> Followed {
        let mut f = Followed {
            process,
            name: OsString::new(),
            comm: Vec::new(),
        };
        f.reread_name();
        f
    }

    /// Reads the command name and the name again (the command name first, so an exec between
    /// the two reads is seen at the next sample).
    fn reread_name(&mut self) {
        let mut comm = std::mem::take(&mut self.comm);
        comm.clear();
        let read = self.process.inner.read_file("comm", |d| {
            comm.extend_from_slice(d);
            Ok(())
        });
        if read.is_err() {
            comm.clear();
        }
        self.comm = comm;
        if let Ok(name) = self.process.name_os() {
            self.name = name;
        }
    }

    /// Re-reads the name when the command name changed since the last read.
    fn refresh_name(&mut self) {
        let same = self
            .process
            .inner
            .read_file("comm", |d| Ok(d == self.comm.as_slice()));
        if same.is_ok_and(|same| !same) {
            self.reread_name();
        }
    }
}

/// Follows one process (and with [`Sampler::children`] its descendants) and reads their memory.
///
/// Descendants are found through `/proc/PID/task/TID/children` of every followed process (all
/// threads, since a thread's children are listed under it), falling back to
/// [`Process::children`] (a scan of every `/proc/PID/stat`) where the kernel lacks that file.
/// A descendant, once seen, is followed until it exits, even when its parent exits first and it
/// is handed to another parent. Each process is read once per sample: `statm`, and
/// `smaps_rollup` unless in fast mode, and `comm` to notice an exec (its name is read again
/// then, and about once a second); the vectors and name strings of the sample are reused.
#[derive(Debug)]
pub struct Sampler {
    root: Followed,
    root_running: bool,
    children: bool,
    fast: bool,
    interval: Duration,
    start: Instant,
    next: Instant,
    followed: Vec<Followed>,
    /// Samples taken so far, to re-read the names about once a second.
    taken: u64,
    /// Scratch space for one `children` file.
    text: Vec<u8>,
    /// Scratch space for the pids found in one sample.
    found: Vec<u32>,
    /// Scratch space for the `task/TID/children` paths.
    path: PathBuf,
}

impl Sampler {
    /// A sampler of `root` alone, every [`DEFAULT_INTERVAL`], reading USS, PSS and swap. Its
    /// clock (every [`Sample::time`]) starts now.
    pub fn new(root: Process) -> Sampler {
        let now = Instant::now();
        Sampler {
            root: Followed::new(root),
            root_running: true,
            children: false,
            fast: false,
            interval: DEFAULT_INTERVAL,
            start: now,
            next: now,
            followed: Vec::new(),
            taken: 0,
            text: Vec::new(),
            found: Vec::new(),
            path: PathBuf::new(),
        }
    }

    /// Follows every descendant of the root too.
    pub fn children(mut self, yes: bool) -> Sampler {
        self.children = yes;
        self
    }

    /// Reads only `/proc/PID/statm` (RSS and VMS), not smaps_rollup: about 10× cheaper, and USS,
    /// PSS and swap are `None`.
    pub fn fast(mut self, yes: bool) -> Sampler {
        self.fast = yes;
        self
    }

    /// The time between two samples, raised to [`MIN_INTERVAL`] if shorter.
    pub fn interval(mut self, interval: Duration) -> Sampler {
        self.interval = interval.max(MIN_INTERVAL);
        self
    }

    /// The time between two samples.
    pub fn interval_value(&self) -> Duration {
        self.interval
    }

    /// The root's pid.
    pub fn root_pid(&self) -> u32 {
        self.root.process.pid()
    }

    /// Whether the root could still be read at the last sample (false once it has exited or
    /// become a zombie: a process whose statm reads as zero size counts as gone).
    pub fn root_running(&self) -> bool {
        self.root_running
    }

    /// Seconds since the sampler was created: the clock of [`Sample::time`].
    pub fn elapsed(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    /// Reads every followed process into `out` (its vectors and strings are reused), finding new
    /// descendants first when following children. Processes that vanish or cannot be read are
    /// left out of this sample and no longer followed; the root's failure only clears
    /// [`Sampler::root_running`].
    pub fn sample(&mut self, out: &mut Sample) {
        let began = Instant::now();
        out.time = began.duration_since(self.start).as_secs_f64();
        if self.children {
            self.discover();
        }
        let names_every = (1.0 / self.interval.as_secs_f64()).round().max(1.0) as u64;
        if self.taken > 0 && self.taken.is_multiple_of(names_every) {
            for f in std::iter::once(&mut self.root).chain(self.followed.iter_mut()) {
                f.reread_name();
            }
        } else {
            for f in std::iter::once(&mut self.root).chain(self.followed.iter_mut()) {
                f.refresh_name();
            }
        }
        self.taken += 1;
        let mut n = 0;
        self.root_running = read_into(&self.root, self.fast, out, &mut n);
        let fast = self.fast;
        self.followed.retain(|f| read_into(f, fast, out, &mut n));
        out.processes.truncate(n);
        out.processes.sort_by_key(|p| p.pid);
        out.sum();
        out.duration = began.elapsed().as_secs_f64();
    }

    /// Sleeps until the next tick of the fixed schedule (start + k × interval). Ticks already
    /// missed by a slow sample are skipped, not caught up.
    pub fn wait(&mut self) {
        std::thread::sleep(self.until_next());
    }

    /// The time left until the next tick of the fixed schedule (as [`Sampler::wait`] sleeps),
    /// for a caller that waits on something else at the same time (a signal, a child's exit).
    pub fn until_next(&mut self) -> Duration {
        let now = Instant::now();
        if self.next <= now {
            // Whole intervals at once: a long stall must not cost a loop turn per missed tick.
            let behind = now.duration_since(self.next).as_nanos();
            let step = self.interval.as_nanos().max(1);
            let ticks = u32::try_from(behind / step + 1).unwrap_or(u32::MAX);
            self.next += self.interval.saturating_mul(ticks);
            while self.next <= now {
                self.next += self.interval;
            }
        }
        self.next - now
    }

    /// Adds the not-yet-followed children of every followed process (and theirs, transitively).
    fn discover(&mut self) {
        let mut i = 0;
        loop {
            let parent = match i {
                0 => &self.root.process,
                _ => match self.followed.get(i - 1) {
                    Some(f) => &f.process,
                    None => break,
                },
            };
            i += 1;
            self.found.clear();
            if children_of(parent, &mut self.path, &mut self.text, &mut self.found).is_err() {
                // No `children` file on this kernel: one full scan for the whole tree.
                if let Ok(all) = self.root.process.children(true) {
                    for child in all {
                        self.follow(child);
                    }
                }
                return;
            }
            for k in 0..self.found.len() {
                let pid = self.found[k];
                if self.is_followed(pid) {
                    continue;
                }
                if let Ok(child) = self.root.process.procfs().process(pid) {
                    self.follow(child);
                }
            }
        }
    }

    fn is_followed(&self, pid: u32) -> bool {
        self.root.process.pid() == pid || self.followed.iter().any(|f| f.process.pid() == pid)
    }

    fn follow(&mut self, process: Process) {
        if self.is_followed(process.pid()) {
            return;
        }
        self.followed.push(Followed::new(process));
    }
}

/// Reads `f` into `out.processes[*n]` (reusing the slot), advancing `n`; false when it failed.
fn read_into(f: &Followed, fast: bool, out: &mut Sample, n: &mut usize) -> bool {
    let read = if fast {
        f.process.memory_info().map(|m| (m.rss, m.vms, None))
    } else {
        f.process
            .memory_full_info()
            .map(|m| (m.rss, m.vms, Some((m.uss, m.pss, m.swap))))
    };
    // A zombie's statm reads as zeros (and so does a kernel thread's): it has no memory left
    // to follow, so it counts as gone.
    let Ok((rss, vms, full)) = read else {
        return false;
    };
    if vms == 0 {
        return false;
    }
    if out.processes.len() <= *n {
        out.processes.push(ProcessSample::default());
    }
    let slot = &mut out.processes[*n];
    slot.pid = f.process.pid();
    slot.name.clear();
    slot.name.push_str(&f.name.to_string_lossy());
    slot.name_bytes = f
        .name
        .to_str()
        .is_none()
        .then(|| f.name.as_bytes().to_vec());
    slot.memory = Figures {
        rss,
        vms,
        uss: full.map(|x| x.0),
        pss: full.map(|x| x.1),
        swap: full.map(|x| x.2),
    };
    *n += 1;
    true
}

/// Appends the pids in `/proc/PID/task/*/children` of `parent` to `found`. Fails only when the
/// kernel has no such file (CONFIG_PROC_CHILDREN off); a process gone meanwhile gives none.
fn children_of(
    parent: &Process,
    path: &mut PathBuf,
    text: &mut Vec<u8>,
    found: &mut Vec<u32>,
) -> std::io::Result<()> {
    path.clear();
    path.push(parent.procfs().proc_root());
    path.push(parent.pid().to_string());
    path.push("task");
    let Ok(tasks) = std::fs::read_dir(&*path) else {
        return Ok(());
    };
    let mut any = false;
    let mut missing = false;
    for task in tasks.flatten() {
        path.push(task.file_name());
        path.push("children");
        text.clear();
        match std::fs::File::open(&*path).and_then(|mut f| f.read_to_end(text)) {
            Ok(_) => {
                any = true;
                parse_children(text, found);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => missing = true,
            Err(_) => {}
        }
        path.pop();
        path.pop();
    }
    if missing && !any {
        return Err(std::io::Error::from(std::io::ErrorKind::NotFound));
    }
    Ok(())
}

/// Parses a `/proc/PID/task/TID/children` file: pids separated by spaces. Anything that is not
/// a pid is skipped.
pub fn parse_children(text: &[u8], found: &mut Vec<u32>) {
    for word in text.split(|b| b.is_ascii_whitespace()) {
        if let Some(pid) = std::str::from_utf8(word)
            .ok()
            .and_then(|w| w.parse::<u32>().ok())
        {
            found.push(pid);
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
    fn until_next_skips_missed_ticks_without_looping() {
        let Ok(me) = Process::current() else {
            return;
        };
        let mut sampler = Sampler::new(me).interval(Duration::from_millis(10));
        // As if the sampler had stalled: the next tick is still within one interval.
        sampler.next = sampler.start;
        std::thread::sleep(Duration::from_millis(25));
        let left = sampler.until_next();
        assert!(left <= Duration::from_millis(10), "{left:?}");
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
    fn children_file_parses() {
        let mut found = Vec::new();
        parse_children(b"12 345 6789 ", &mut found);
        parse_children(b"", &mut found);
        parse_children(b"x 7\n", &mut found);
        assert_eq!(found, [12, 345, 6789, 7]);
    }

    #[test]
    fn metric_names_round_trip() {
        for m in Metric::ALL {
            assert_eq!(Metric::from_name(m.name()), Some(m));
        }
        assert_eq!(Metric::from_name("USS"), Some(Metric::Uss));
        assert_eq!(Metric::from_name("heap"), None);
    }

    #[test]
    fn sampler_reads_itself_and_a_child() {
        let Ok(me) = Process::current() else {
            return;
        };
        let mut sampler = Sampler::new(me).children(true);
        let Ok(mut child) = std::process::Command::new("sleep").arg("5").spawn() else {
            return;
        };
        let mut s = Sample::default();
        sampler.sample(&mut s);
        let _ = child.kill();
        let _ = child.wait();
        assert!(sampler.root_running());
        assert!(s.processes.iter().any(|p| p.pid == child.id()));
        assert!(s.total.uss.is_some_and(|u| u > 0));
        sampler.sample(&mut s);
        assert!(!s.processes.iter().any(|p| p.pid == child.id()));
    }
}
