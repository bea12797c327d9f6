//! The [`Sampler`]: the same loop on every OS; what it reads a process and its children through
//! is the OS's (`linux.rs`: `/proc` shortcuts; `portable.rs`: the neutral [`Process`] API).

use std::time::{Duration, Instant};

use super::os;
use super::{ProcessSample, Sample};
use crate::process::Process;

/// The default time between two samples: 100 ms.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(100);

/// The shortest time between two samples the sampler accepts: 10 ms. Shorter intervals are
/// raised to it, since reading smaps_rollup (Linux) or a working set (Windows) alone can take a
/// millisecond for a large process.
pub const MIN_INTERVAL: Duration = Duration::from_millis(10);

/// A process the sampler follows, with its name as last read. A process may exec another
/// program (a shell script's name becomes the program it runs, and a command memsight started
/// is still a copy of memsight until its exec ends): the name is read again about once a second,
/// and on Linux at once when the kernel's command name changes.
#[derive(Debug)]
pub(super) struct Followed {
    pub(super) process: Process,
    name: String,
    /// The exact bytes of `name` when they are not UTF-8 (Linux only).
    name_bytes: Option<Vec<u8>>,
    /// What tells an exec (Linux: `/proc/PID/comm` as last read; nothing elsewhere).
    exec: os::ExecMark,
}

impl Followed {
    pub(super) fn new(process: Process) -> Followed {
        let mut f = Followed {
            process,
            name: String::new(),
            name_bytes: None,
            exec: os::ExecMark::default(),
        };
        f.reread_name();
        f
    }

    /// Reads the exec mark and the name again (the mark first, so an exec between the two reads
    /// is seen at the next sample). A name that cannot be read keeps the last one.
    fn reread_name(&mut self) {
        os::mark_exec(&self.process, &mut self.exec);
        if let Some((name, bytes)) = os::name(&self.process) {
            self.name = name;
            self.name_bytes = bytes;
        }
    }

    /// Re-reads the name when the process exec'd since the last read, as far as the OS tells
    /// cheaply (Linux); elsewhere it waits for the once-a-second read.
    fn refresh_name(&mut self) {
        if os::exec_seen(&self.process, &self.exec) {
            self.reread_name();
        }
    }
}

/// Follows one process (and with [`Sampler::children`] its descendants) and reads their memory
/// into [`Sample`]s.
///
/// | OS | Descendants | Figures read per process and sample |
/// | --- | --- | --- |
/// | Linux | `/proc/PID/task/TID/children` of every followed process (all threads, since a thread's children are listed under it); where the kernel lacks that file, one [`Process::children`] scan of the root | `/proc/PID/statm`, and `smaps_rollup` unless in fast mode; `comm`, to notice an exec |
/// | Windows, macOS | one [`Process::children`]`(true)` of the root | [`Process::memory_info`], and unless in fast mode [`Process::memory_footprint`] (USS) |
/// | FreeBSD | one [`Process::children`]`(true)` of the root | [`Process::memory_info`] (no USS on FreeBSD) |
///
/// A descendant, once seen, is followed until it exits, even when its parent exits first and it
/// is handed to another parent (outside Linux, only descendants found while the root lives are
/// followed: an orphan's new children are not found through the root). Names are read when a
/// process is first seen and about once a second (on Linux also on an exec); the vectors and
/// name strings of the sample are reused.
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
    /// The OS's scratch space for finding children (Linux: the `children` files' text).
    scratch: os::Scratch,
}

impl Sampler {
    /// A sampler of `root` alone, every [`DEFAULT_INTERVAL`], reading USS (and on Linux PSS and
    /// swap) where the OS has it. Its clock (every [`Sample::time`]) starts now.
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
            scratch: os::Scratch::default(),
        }
    }

    /// Follows every descendant of the root too.
    pub fn children(mut self, yes: bool) -> Sampler {
        self.children = yes;
        self
    }

    /// Reads only RSS and VMS ([`Process::memory_info`]; on Linux `/proc/PID/statm`, not
    /// smaps_rollup: about 10× cheaper): USS, PSS and swap are `None`.
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

    /// Whether the root could still be read at the last sample: false once it has exited or is
    /// exiting (a process whose virtual size reads as zero counts as gone: a Unix zombie, a
    /// Windows process being torn down; on Windows also one whose handle is signalled).
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
            os::discover(&self.root.process, &mut self.followed, &mut self.scratch);
        }
        let names_every = (1.0 / self.interval.as_secs_f64()).round().max(1.0) as u64;
        let all_names = self.taken > 0 && self.taken.is_multiple_of(names_every);
        for f in std::iter::once(&mut self.root).chain(self.followed.iter_mut()) {
            if all_names {
                f.reread_name();
            } else {
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
}

/// Whether `pid` is the root or already followed.
pub(super) fn is_followed(root: &Process, followed: &[Followed], pid: u32) -> bool {
    root.pid() == pid || followed.iter().any(|f| f.process.pid() == pid)
}

/// Follows `process` unless it is already.
pub(super) fn follow(root: &Process, followed: &mut Vec<Followed>, process: Process) {
    if !is_followed(root, followed, process.pid()) {
        followed.push(Followed::new(process));
    }
}

/// Follows every descendant of `root` not followed yet, from one [`Process::children`] scan.
pub(super) fn discover_by_scan(root: &Process, followed: &mut Vec<Followed>) {
    if let Ok(all) = root.children(true) {
        for child in all {
            follow(root, followed, child);
        }
    }
}

/// Reads `f` into `out.processes[*n]` (reusing the slot), advancing `n`; false when it failed.
fn read_into(f: &Followed, fast: bool, out: &mut Sample, n: &mut usize) -> bool {
    let Some(memory) = os::figures(&f.process, fast) else {
        return false;
    };
    if out.processes.len() <= *n {
        out.processes.push(ProcessSample::default());
    }
    let slot = &mut out.processes[*n];
    slot.pid = f.process.pid();
    slot.name.clone_from(&f.name);
    slot.name_bytes.clone_from(&f.name_bytes);
    slot.memory = memory;
    *n += 1;
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn until_next_skips_missed_ticks_without_looping() {
        let me = Process::current().expect("this process");
        let mut sampler = Sampler::new(me).interval(Duration::from_millis(10));
        // As if the sampler had stalled: the next tick is still within one interval.
        sampler.next = sampler.start;
        std::thread::sleep(Duration::from_millis(25));
        let left = sampler.until_next();
        assert!(left <= Duration::from_millis(10), "{left:?}");
    }
}
