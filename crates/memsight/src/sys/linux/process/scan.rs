//! A whole-system memory scan (what `memsight ps` shows): every process's USS, PSS, swap, RSS and
//! VMS with its owner and command line, read as cheaply as the kernel allows and on every core.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::{Error, Result};
use crate::sys::process::{Process, identity, user};
use crate::sys::procfs::{ProcFs, cmdline, statm};
use crate::sys::system::page_size;

/// One process's memory in a [`MemoryScan`]. Sizes in bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ProcessMemory {
    /// The process id.
    pub pid: u32,
    /// The owner: the login name of the uid that owns `/proc/PID` (see
    /// [`Process::owner_uid`]), or that uid as decimal text when it has no name.
    pub username: String,
    /// The process name, as [`Process::name`] gives it.
    pub name: String,
    /// The command line, as [`Process::cmdline`] gives it.
    pub cmdline: Vec<String>,
    /// Unique set size (smaps_rollup `Private_*`), as in [`MemoryFullInfo::uss`](crate::MemoryFullInfo::uss).
    pub uss: u64,
    /// Proportional set size (smaps_rollup `Pss`).
    pub pss: u64,
    /// Swapped-out memory (smaps_rollup `Swap`).
    pub swap: u64,
    /// Resident set size (statm `resident` × page size), as in [`MemoryInfo::rss`](crate::MemoryInfo::rss).
    pub rss: u64,
    /// Virtual memory size (statm `size` × page size), as in [`MemoryInfo::vms`](crate::MemoryInfo::vms).
    pub vms: u64,
    /// The uid that owns `/proc/PID` (the effective uid; 0 for non-dumpable processes).
    #[cfg_attr(feature = "serde", serde(skip))]
    pub uid: u32,
}

/// The result of [`memory_scan`]: the processes read, in pid order, and those that could not be.
#[derive(Debug, Default)]
pub struct MemoryScan {
    /// Every process with user memory (USS > 0), in pid order. Kernel threads, zombies and
    /// processes whose memory is all shared are left out, as psutil's procsmem does.
    pub processes: Vec<ProcessMemory>,
    /// Pids whose `smaps_rollup` this user may not read (another user's process, or one holding
    /// capabilities the caller lacks), ascending.
    pub access_denied: Vec<u32>,
    /// Pids that failed for another reason (an unparsable file), with the error.
    pub errors: Vec<(u32, Error)>,
}

/// Scans every process under `/proc` on every core; see [`ProcFs::memory_scan`].
pub fn memory_scan() -> Result<MemoryScan> {
    let procfs = ProcFs::default();
    let pids = procfs.pids()?;
    Ok(procfs.memory_scan(&pids))
}

enum Outcome {
    Read(ProcessMemory),
    Skipped,
    Denied,
    Failed(Error),
}

impl ProcFs {
    /// Reads the memory of each process in `pids` (pids that do not exist or exit meanwhile are
    /// skipped). Per process it opens `/proc/PID` once (`O_PATH`; every read goes through that
    /// descriptor, so a reused pid is never read) and reads `statm` (rss, vms), `smaps_rollup`
    /// (or `smaps` when the rollup answers ESRCH/ENOENT), `cmdline` and `comm`, with the owner
    /// from `fstat` of the directory. Processes with no address space (kernel threads, zombies)
    /// cost only the `statm` read; those this user may not inspect stop at `smaps_rollup`. The work is spread over the available cores
    /// (`std::thread::available_parallelism`), each thread reusing one read buffer.
    pub fn memory_scan(&self, pids: &[u32]) -> MemoryScan {
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(pids.len().max(1));
        let next = AtomicUsize::new(0);
        let work = || {
            let mut out = Vec::new();
            let mut names: HashMap<u32, String> = HashMap::new();
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

    fn scan_one(&self, pid: u32, names: &mut HashMap<u32, String>) -> Outcome {
        match self.try_scan_one(pid, names) {
            Ok(Some(p)) => Outcome::Read(p),
            Ok(None) => Outcome::Skipped,
            Err(Error::NoSuchProcess { .. } | Error::ZombieProcess { .. }) => Outcome::Skipped,
            Err(Error::AccessDenied { .. }) => Outcome::Denied,
            Err(e) => Outcome::Failed(e),
        }
    }

    fn try_scan_one(
        &self,
        pid: u32,
        names: &mut HashMap<u32, String>,
    ) -> Result<Option<ProcessMemory>> {
        let process = Process::open_in(self, pid)?;
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
        let args = process.read_file("cmdline", cmdline::parse)?;
        let comm = process.read_file("comm", |data| {
            let comm = data.strip_suffix(b"\n").unwrap_or(data);
            Ok(String::from_utf8_lossy(comm).into_owned())
        })?;
        let name = if comm.chars().count() >= 15 {
            identity::extended_name(comm, &args)
        } else {
            comm
        };
        let username = names
            .entry(uid)
            .or_insert_with(|| user::user_name(uid).unwrap_or_else(|| uid.to_string()))
            .clone();
        Ok(Some(ProcessMemory {
            pid,
            username,
            name,
            cmdline: args,
            uss: footprint.uss,
            pss: footprint.pss,
            swap: footprint.swap,
            rss: statm.resident.saturating_mul(page_size()),
            vms: statm.size.saturating_mul(page_size()),
            uid,
        }))
    }
}
