//! Linux's whole-system memory scan (what `memsight ps` shows): every process's USS, PSS, swap,
//! RSS and VMS with its owner and command line, read as cheaply as the kernel allows and on every
//! core, into the OS-neutral [`ProcessMemory`] records of [`crate::memory_scan`].

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::{Error, Result};
use crate::process::{MemoryScan, ProcessMemory};
use crate::sys::process::{Process, identity};
use crate::sys::procfs::{ProcFs, cmdline, loadavg, statm};
use crate::sys::system::page_size;
use crate::sys::unix::user::UserNames;

enum Outcome {
    Read(ProcessMemory),
    Skipped,
    Denied,
    Failed(Error),
}

/// The most threads an automatic scan starts, however many cores are idle: past a few, the
/// kernel's shared locks on `/proc` lookups (and the scanner's own CPU on a busy host) cost more
/// than the threads save.
const MAX_SCAN_THREADS: usize = 8;

/// The fewest processes worth a scan thread of their own: below that, starting and joining the
/// thread and its cold read buffer cost about what it saves (see BENCHMARKS.md, "Per-process cost against sysinfo, procfs and the floor").
const PIDS_PER_THREAD: usize = 128;

/// The automatic scan parallelism: one thread per idle core (the cores this process may run on,
/// less the other tasks runnable right now), one per [`PIDS_PER_THREAD`] processes, at most
/// [`MAX_SCAN_THREADS`], at least one. A second thread only helps when a second core is free:
/// on a busy host it competes with the work already there and costs CPU for no gain in wall time.
fn auto_threads(cores: usize, others_running: u64, pids: usize) -> usize {
    let idle = cores.saturating_sub(usize::try_from(others_running).unwrap_or(usize::MAX));
    idle.min(pids / PIDS_PER_THREAD).clamp(1, MAX_SCAN_THREADS)
}

/// How many times [`ProcFs::scan_threads`] reads the run queue at most.
const RUN_QUEUE_READS: usize = 3;

/// The other runnable tasks: the fewest of up to [`RUN_QUEUE_READS`] readings (`read`), with
/// `pause` between them, stopping at the first reading that is `enough`.
fn steady_others(
    mut read: impl FnMut() -> u64,
    enough: impl Fn(u64) -> bool,
    mut pause: impl FnMut(),
) -> u64 {
    let mut fewest = read();
    for _ in 1..RUN_QUEUE_READS {
        if enough(fewest) {
            break;
        }
        pause();
        fewest = fewest.min(read());
    }
    fewest
}

impl ProcFs {
    /// Reads the memory of each process in `pids` (pids that do not exist or exit meanwhile are
    /// skipped), on as many threads as [`ProcFs::scan_threads`] chooses. Per process it opens
    /// `/proc/PID` once (`O_PATH`; every read goes through that descriptor, so a reused pid is
    /// never read) and reads `statm` (rss, vms), `smaps_rollup` (or `smaps` when the rollup
    /// answers ESRCH/ENOENT), `cmdline` and `comm`, with the owner from `fstat` of the directory.
    /// Processes with no address space (kernel threads, zombies) cost only the `statm` read;
    /// those this user may not inspect stop at `smaps_rollup`. Each thread reuses one read buffer.
    pub fn memory_scan(&self, pids: &[u32]) -> MemoryScan {
        self.memory_scan_on(pids, 0)
    }

    /// [`ProcFs::memory_scan`] on `threads` threads (never more than there are pids); 0 lets
    /// memsight choose ([`ProcFs::scan_threads`]). `memsight ps --threads N` sets it.
    pub fn memory_scan_on(&self, pids: &[u32], threads: usize) -> MemoryScan {
        let threads = match threads {
            0 => self.scan_threads(pids.len()),
            n => n.min(pids.len().max(1)),
        };
        let next = AtomicUsize::new(0);
        let work = || {
            let mut out = Vec::new();
            let mut names = UserNames::default();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&pid) = pids.get(i) else { break };
                out.push((pid, self.scan_one(pid, &mut names)));
            }
            out
        };
        let mut results: Vec<(u32, Outcome)> = if threads <= 1 {
            work()
        } else {
            std::thread::scope(|s| {
                let handles: Vec<_> = (1..threads).map(|_| s.spawn(work)).collect();
                let mut all = work();
                for h in handles {
                    // A worker cannot panic on kernel input; if it did, its share is lost, not the scan.
                    all.extend(h.join().unwrap_or_default());
                }
                all
            })
        };
        results.sort_unstable_by_key(|(pid, _)| *pid);
        let mut scan = MemoryScan::default();
        for (pid, outcome) in results {
            match outcome {
                Outcome::Read(p) => scan.processes.push(p),
                Outcome::Skipped => {}
                Outcome::Denied => scan.access_denied.push(pid),
                Outcome::Failed(e) => scan.errors.push((pid, e)),
            }
        }
        scan
    }

    /// The threads an automatic scan of `pids` processes uses: one per idle core
    /// (`std::thread::available_parallelism`, which follows the CPU affinity and cgroup quota,
    /// less the other runnable tasks of `/proc/loadavg`), one per 128 processes, at most
    /// 8, at least 1. An unreadable `loadavg` counts every core as idle. When the run queue
    /// leaves fewer threads than the processes would take, it is read again, up to
    /// three times 200 µs apart, and the fewest runnable tasks count: the parent
    /// that has just started this process, or a kernel worker, is runnable for a few hundred
    /// microseconds, a busy task all along (on an idle 2-core machine a single reading chose one
    /// thread in 18 of 40 `memsight ps` runs, three readings in none).
    pub fn scan_threads(&self, pids: usize) -> usize {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let wanted = auto_threads(cores, 0, pids);
        if wanted == 1 {
            return 1;
        }
        let others = steady_others(
            || {
                self.parse_proc("loadavg", loadavg::parse_running)
                    .unwrap_or(1)
                    .saturating_sub(1)
            },
            |others| auto_threads(cores, others, pids) == wanted,
            || std::thread::sleep(std::time::Duration::from_micros(200)),
        );
        auto_threads(cores, others, pids)
    }

    fn scan_one(&self, pid: u32, names: &mut UserNames) -> Outcome {
        match self.try_scan_one(pid, names) {
            Ok(Some(p)) => Outcome::Read(p),
            Ok(None) => Outcome::Skipped,
            Err(Error::NoSuchProcess { .. } | Error::ZombieProcess { .. }) => Outcome::Skipped,
            Err(Error::AccessDenied { .. }) => Outcome::Denied,
            Err(e) => Outcome::Failed(e),
        }
    }

    fn try_scan_one(&self, pid: u32, names: &mut UserNames) -> Result<Option<ProcessMemory>> {
        let process = Process::open_in(self, pid)?;
        // statm, not stat's fields 23-24 with the name (one read less): stat's rss is the
        // approximate per-CPU counter read (seen 59 pages below statm's on kernel 6.18), statm's
        // the one psutil and procps report.
        let statm = process.read_file("statm", statm::parse)?;
        // No address space: a kernel thread or a zombie. Its smaps is empty, so USS is 0.
        if statm.size == 0 {
            return Ok(None);
        }
        let footprint = process.footprint()?;
        if footprint.uss == 0 {
            return Ok(None);
        }
        // The owner of /proc/PID (one fstat of the held descriptor; `status` is not read).
        let uid = process.owner_uid()?;
        let args_os = process.read_file("cmdline", |data| {
            Ok(cmdline::split(data)
                .map(|a| OsStr::from_bytes(a).to_owned())
                .collect::<Vec<_>>())
        })?;
        let comm = process.read_file("comm", |data| Ok(identity::comm_bytes(data).to_vec()))?;
        let name_os = OsString::from_vec(identity::extended_name(comm, &args_os));
        let username = names.name(uid);
        Ok(Some(ProcessMemory {
            pid,
            username,
            name: name_os.to_string_lossy().into_owned(),
            name_os,
            cmdline: args_os
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
            cmdline_os: args_os,
            uss: footprint.uss,
            pss: footprint.pss,
            swap: footprint.swap,
            swap_pss: footprint.swap_pss,
            rss: statm.resident.saturating_mul(page_size()),
            vms: statm.size.saturating_mul(page_size()),
            uid,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn automatic_threads_follow_idle_cores_and_the_number_of_processes() {
        // Two idle cores, 1,000 processes: both cores.
        assert_eq!(auto_threads(2, 0, 1000), 2);
        // The second core busy with another task: one thread.
        assert_eq!(auto_threads(2, 1, 1000), 1);
        // Overloaded: still one.
        assert_eq!(auto_threads(2, 7, 1000), 1);
        // Few processes: one thread, whatever the cores.
        assert_eq!(auto_threads(64, 0, 100), 1);
        assert_eq!(auto_threads(64, 0, 300), 2);
        // A big idle host with many processes: capped.
        assert_eq!(auto_threads(64, 0, 100_000), MAX_SCAN_THREADS);
        // No pids at all.
        assert_eq!(auto_threads(4, 0, 0), 1);
    }

    #[test]
    fn a_task_runnable_for_one_reading_does_not_take_a_core() {
        let run = |readings: &[u64]| {
            let mut it = readings.iter().copied();
            let mut pauses = 0;
            let others = steady_others(|| it.next().unwrap(), |o| o == 0, || pauses += 1);
            (others, pauses)
        };
        // Idle at once: one reading, no pause.
        assert_eq!(run(&[0]), (0, 0));
        // Someone runnable at the first reading only (the parent that started us).
        assert_eq!(run(&[1, 0]), (0, 1));
        assert_eq!(run(&[2, 1, 0]), (0, 2));
        // Busy all along: the fewest of three readings.
        assert_eq!(run(&[1, 1, 1]), (1, 2));
        assert_eq!(run(&[3, 1, 2]), (1, 2));
    }
}
