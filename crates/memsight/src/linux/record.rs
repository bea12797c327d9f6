//! Memory over time: a [`Sampler`] that follows one process, and optionally all its descendants
//! as they come and go, at a fixed interval, into the [`Sample`]s of [`crate::record`].
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
//! let mut sample = memsight::record::Sample::default();
//! let mut summary = memsight::record::Summary::default();
//! for _ in 0..3 {
//!     sampler.sample(&mut sample);
//!     summary.add(&sample);
//!     sampler.wait();
//! }
//! assert_eq!(summary.samples, 3);
//! assert!(summary.peak(memsight::record::Metric::Uss).is_some_and(|p| p.bytes > 0));
//! # Ok::<(), memsight::Error>(())
//! ```

use std::ffi::OsString;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::process::Process;
use crate::record::{Figures, ProcessSample, Sample};

/// The default time between two samples: 100 ms.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(100);

/// The shortest time between two samples the sampler accepts: 10 ms. Shorter intervals are
/// raised to it, since reading smaps_rollup alone can take a millisecond for a large process.
pub const MIN_INTERVAL: Duration = Duration::from_millis(10);

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
    fn children_file_parses() {
        let mut found = Vec::new();
        parse_children(b"12 345 6789 ", &mut found);
        parse_children(b"", &mut found);
        parse_children(b"x 7\n", &mut found);
        assert_eq!(found, [12, 345, 6789, 7]);
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
