//! `memsight.Process`: one native class over `memsight::Process`, subclassed in Python
//! (`memsight/__init__.py` adds `as_dict`, `oneshot`, `parent`, `children`, `__repr__`).
//!
//! Every getter releases the GIL while it reads `/proc/PID`, converts the record with
//! [`to_py`](crate::topy::to_py) and raises psutil's exceptions. Inside `oneshot()` the getters
//! without arguments keep their first result (psutil's `memoize_when_activated`).
//!
//! `process_iter(attrs)` reads those getters of every process ahead, in parallel without the GIL
//! ([`prefetch`]): each process then answers its next call of a getter from what was read.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use pyo3::prelude::*;
use pyo3::types::PyAny;
use serde::Serialize;

use crate::errors::{IntoPyResult, bad_arg};
use crate::topy::{Fs, FsMap, to_py};

/// Results kept inside a `oneshot()` scope, by getter name; `depth` counts nested scopes.
/// `ahead` holds what [`prefetch`] read, each result given out once, to the getter's next call.
#[derive(Default)]
struct Memo {
    depth: u32,
    values: Vec<(&'static str, PyObject)>,
    ahead: Vec<(&'static str, PyResult<PyObject>)>,
}

/// A process handle (psutil's `Process`). Reads fail with `NoSuchProcess` once the process has
/// exited, even if its pid was reused.
#[pyclass(subclass, frozen, module = "memsight._native", name = "Process")]
pub struct PyProcess {
    inner: memsight::Process,
    memo: Mutex<Memo>,
}

impl PyProcess {
    /// Wraps a handle.
    pub fn wrap(inner: memsight::Process) -> PyProcess {
        PyProcess {
            inner,
            memo: Mutex::new(Memo::default()),
        }
    }

    fn memo(&self) -> std::sync::MutexGuard<'_, Memo> {
        self.memo.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs getter `f` without the GIL and converts its record, through the oneshot memo.
    fn get<T, F>(&self, py: Python<'_>, key: &'static str, f: F) -> PyResult<PyObject>
    where
        T: Serialize + Send,
        F: FnOnce(&memsight::Process) -> memsight::Result<T> + Send,
    {
        let memoize = {
            let mut memo = self.memo();
            if let Some((_, v)) = memo.values.iter().find(|(k, _)| *k == key) {
                return Ok(v.clone_ref(py));
            }
            if let Some(i) = memo.ahead.iter().position(|(k, _)| *k == key) {
                let (_, read) = memo.ahead.swap_remove(i);
                if let (Ok(v), true) = (&read, memo.depth > 0) {
                    let v = v.clone_ref(py);
                    memo.values.push((key, v));
                }
                return read;
            }
            memo.depth > 0
        };
        let record = py.allow_threads(|| f(&self.inner)).py(py)?;
        let value = to_py(py, &record)?;
        if memoize {
            self.memo().values.push((key, value.clone_ref(py)));
        }
        Ok(value)
    }

    /// Runs `f` without the GIL and converts its record, never memoized (getters with arguments).
    fn call<T, F>(&self, py: Python<'_>, f: F) -> PyResult<PyObject>
    where
        T: Serialize + Send,
        F: FnOnce(&memsight::Process) -> memsight::Result<T> + Send,
    {
        let record = py.allow_threads(|| f(&self.inner)).py(py)?;
        to_py(py, &record)
    }
}

/// A getter's result read without the GIL, converted to Python once the GIL is held again.
type Pending = Box<dyn FnOnce(Python<'_>) -> PyResult<PyObject> + Send>;

/// Holds a getter's record until it can be converted ([`Pending`]).
fn pending<T: Serialize + Send + 'static>(read: memsight::Result<T>) -> Pending {
    Box::new(move |py| read.py(py).and_then(|r| to_py(py, &r)))
}

/// A getter without arguments, by name, as a function that reads it.
type Reader = (&'static str, fn(&memsight::Process) -> Pending);

/// Runs every reader on every process in `procs` on `threads` threads without the GIL (each
/// thread takes the next unread process, so one slow process does not hold up a whole share),
/// and keeps each result for that process's next call of the getter.
fn read_ahead(py: Python<'_>, procs: &[&PyProcess], threads: usize, readers: &[Reader]) {
    let next = AtomicUsize::new(0);
    let read = py.allow_threads(|| {
        let work = || {
            let mut mine = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(p) = procs.get(i) else { break mine };
                mine.push((i, readers.iter().map(|(_, r)| r(&p.inner)).collect()));
            }
        };
        // The calling thread is one of the `threads`.
        let mut all: Vec<(usize, Vec<Pending>)> = std::thread::scope(|s| {
            let others: Vec<_> = (1..threads).map(|_| s.spawn(work)).collect();
            let mut all = work();
            for other in others {
                all.extend(
                    other
                        .join()
                        .unwrap_or_else(|e| std::panic::resume_unwind(e)),
                );
            }
            all
        });
        all.sort_unstable_by_key(|(i, _)| *i);
        all
    });
    for (i, results) in read {
        let ahead: Vec<_> = readers
            .iter()
            .zip(results)
            .map(|((key, _), result)| (*key, result(py)))
            .collect();
        procs[i].memo().ahead.extend(ahead);
    }
}

/// psutil's `net_connections(kind)` names.
fn connection_kind(kind: &str) -> PyResult<memsight::process::ConnectionKind> {
    use memsight::process::ConnectionKind as K;
    Ok(match kind {
        "inet" => K::Inet,
        "inet4" => K::Inet4,
        "inet6" => K::Inet6,
        "tcp" => K::Tcp,
        "tcp4" => K::Tcp4,
        "tcp6" => K::Tcp6,
        "udp" => K::Udp,
        "udp4" => K::Udp4,
        "udp6" => K::Udp6,
        "unix" => K::Unix,
        "all" => K::All,
        _ => return Err(bad_arg(format!("invalid kind argument {kind:?}"))),
    })
}

/// The `#[pymethods]` block: the getters without arguments are generated (name, doc), the rest
/// written out.
/// A getter's reading: the library method of the same name, or the one given in brackets.
macro_rules! read_with {
    ($getter:ident) => {
        |p: &memsight::Process| p.$getter()
    };
    ($getter:ident, $read:expr) => {
        $read
    };
}

macro_rules! process_methods {
    ([$($getter:ident $([$read:expr])?: $doc:literal,)*] $($rest:tt)*) => {
        #[pymethods]
        impl PyProcess {
            $(
                #[doc = $doc]
                fn $getter(&self, py: Python<'_>) -> PyResult<PyObject> {
                    self.get(py, stringify!($getter), read_with!($getter $(, $read)?))
                }
            )*
            $($rest)*
        }

        /// The getter without arguments called `name`, if there is one.
        fn reader(name: &str) -> Option<Reader> {
            match name {
                $(stringify!($getter) => Some((stringify!($getter), |p| {
                    pending(read_with!($getter $(, $read)?)(p))
                })),)*
                _ => None,
            }
        }
    };
}

/// The exact bytes of a path or string, for Python's `os.fsdecode` rule ([`Fs`]).
fn fs(value: impl Into<std::ffi::OsString>) -> Fs {
    Fs(value.into())
}

process_methods! {
    [
        name [|p: &memsight::Process| p.name_os().map(fs)]: "The process name: `/proc/PID/stat`'s comm, extended from the command line when the kernel cut it at 15 characters.",
        exe [|p: &memsight::Process| p.exe().map(fs)]: "The executable's path (`/proc/PID/exe`).",
        cmdline [|p: &memsight::Process| p.cmdline_os().map(|a| a.into_iter().map(fs).collect::<Vec<_>>())]: "The command line (`/proc/PID/cmdline`), as a list.",
        cwd [|p: &memsight::Process| p.cwd().map(fs)]: "The working directory (`/proc/PID/cwd`).",
        create_time: "When the process started, seconds since the epoch (boot time + stat's starttime).",
        ppid: "The parent's pid (`/proc/PID/stat`).",
        status: "The state, one of the `STATUS_*` strings (`/proc/PID/stat`).",
        username: "The name of the real user (the uid looked up in the passwd database).",
        uids: "`puids(real, effective, saved)` (`/proc/PID/status`).",
        gids: "`pgids(real, effective, saved)` (`/proc/PID/status`).",
        num_threads: "The number of threads (`/proc/PID/stat`).",
        num_fds: "The number of open file descriptors (`/proc/PID/fd`).",
        cpu_times: "`pcputimes` in seconds (`/proc/PID/stat`).",
        cpu_num: "The CPU the process last ran on (`/proc/PID/stat`).",
        io_counters: "`pio` counts and bytes (`/proc/PID/io`).",
        num_ctx_switches: "`pctxsw(voluntary, involuntary)` (`/proc/PID/status`).",
        nice: "The nice value (`/proc/PID/stat`).",
        cpu_affinity: "The CPUs the process may run on (`sched_getaffinity`).",
        terminal: "The controlling terminal's path, or None.",
        open_files: "`popenfile` for each regular file open (`/proc/PID/fd`, `fdinfo`).",
        threads: "`pthread(id, user_time, system_time)` for each thread (`/proc/PID/task`).",
        page_faults: "`ppagefaults(minor, major)` (`/proc/PID/stat`).",
        environ [|p: &memsight::Process| p.environ_os().map(FsMap)]: "The environment (`/proc/PID/environ`), as a dict.",
        memory_info: "`pmem` in bytes, from `/proc/PID/statm` (pages × page size).",
        memory_info_ex: "psutil 8's `pmem_ex` in bytes (`/proc/PID/status` and statm).",
        memory_footprint: "psutil 8's `pfootprint(uss, pss, swap)` in bytes (`/proc/PID/smaps_rollup`).",
        memory_full_info: "`pfullmem`: memory_info plus uss, pss, swap, in bytes (statm and smaps_rollup).",
    ]

    /// Opens `pid` (the calling process when None) under `procfs_path` (`/proc` when None).
    /// The Python class checks the pid's range first, as psutil does.
    #[new]
    #[pyo3(signature = (pid = None, procfs_path = None))]
    fn new(py: Python<'_>, pid: Option<u32>, procfs_path: Option<PathBuf>) -> PyResult<PyProcess> {
        let procfs = crate::system::procfs(procfs_path);
        let inner = py
            .allow_threads(|| procfs.process(pid.unwrap_or_else(std::process::id)))
            .py(py)?;
        Ok(PyProcess::wrap(inner))
    }

    /// The process id.
    #[getter]
    fn pid(&self) -> u32 {
        self.inner.pid()
    }

    /// Whether the process still runs (a reused pid answers False; a zombie True).
    fn is_running(&self, py: Python<'_>) -> bool {
        py.allow_threads(|| self.inner.is_running())
    }

    /// `pionice(ioclass, value)`, the class as a number (`ioprio_get`).
    fn _ionice(&self, py: Python<'_>) -> PyResult<PyObject> {
        self.get(py, "ionice", |p| p.ionice())
    }

    /// Each mapping's smaps figures in bytes: `pmmap_grouped` per path when `grouped`, else
    /// `pmmap_ext` per mapping (`/proc/PID/smaps`).
    #[pyo3(signature = (grouped = true))]
    fn memory_maps(&self, py: Python<'_>, grouped: bool) -> PyResult<PyObject> {
        self.call(py, |p| p.memory_maps(grouped))
    }

    /// The share of physical memory `memtype` is, in percent (`rss`, `uss`, `pss`, ...).
    #[pyo3(signature = (memtype = "rss"))]
    fn memory_percent(&self, py: Python<'_>, memtype: &str) -> PyResult<f64> {
        let memtype: memsight::MemType = memtype
            .parse()
            .map_err(|e: memsight::Error| bad_arg(e.to_string()))?;
        py.allow_threads(|| self.inner.memory_percent(memtype))
            .py(py)
    }

    /// `(soft, hard)` of one resource by its `/proc/PID/limits` name (`"nofile"`); None is
    /// unlimited.
    fn _rlimit(&self, py: Python<'_>, name: &str) -> PyResult<(Option<u64>, Option<u64>)> {
        let resource = memsight::process::Resource::ALL
            .into_iter()
            .find(|r| r.name() == name)
            .ok_or_else(|| bad_arg(format!("unknown resource {name:?}")))?;
        let l = py.allow_threads(|| self.inner.rlimit(resource)).py(py)?;
        Ok((l.soft, l.hard))
    }

    /// The sockets of one kind (`"inet"`, `"tcp"`, ..., `"all"`): `pconn` tuples.
    #[pyo3(signature = (kind = "inet"))]
    fn net_connections(&self, py: Python<'_>, kind: &str) -> PyResult<PyObject> {
        let kind = connection_kind(kind)?;
        self.call(py, |p| p.net_connections(kind))
    }

    /// The parent's pid when the parent still runs (and started before this process), else None.
    fn _parent_pid(&self, py: Python<'_>) -> PyResult<Option<u32>> {
        let parent = py.allow_threads(|| self.inner.parent()).py(py)?;
        Ok(parent.map(|p| p.pid()))
    }

    /// The children's pids (all descendants when `recursive`).
    fn _children_pids(&self, py: Python<'_>, recursive: bool) -> PyResult<Vec<u32>> {
        let children = py.allow_threads(|| self.inner.children(recursive)).py(py)?;
        Ok(children.iter().map(|c| c.pid()).collect())
    }

    /// Starts a oneshot scope (nested scopes share the outer one's results).
    fn _oneshot_enter(&self) {
        self.memo().depth += 1;
    }

    /// Ends a oneshot scope; the outermost one drops the kept results.
    fn _oneshot_exit(&self) {
        let mut memo = self.memo();
        memo.depth = memo.depth.saturating_sub(1);
        if memo.depth == 0 {
            memo.values.clear();
        }
    }

    /// Whether `other` is a handle on the same process (pid, start time and `/proc/PID` inode).
    fn _same(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .downcast::<PyProcess>()
            .is_ok_and(|o| o.get().inner == self.inner)
    }
}

/// `process_iter(attrs)`'s read-ahead: reads each getter of `attrs` that takes no argument for
/// every process in parallel without the GIL, so that their `as_dict(attrs)` answers from what
/// was read; attributes that are not such getters are left to `as_dict`. On `threads` threads, or
/// when 0 as memsight's scan policy chooses for this many processes (one per idle core, one per
/// 128 processes, at most 8); with one thread nothing is read ahead (there is nothing to gain).
/// Returns the thread count used.
#[pyfunction]
#[pyo3(signature = (processes, attrs, threads = 0))]
pub fn prefetch(
    py: Python<'_>,
    processes: Vec<Bound<'_, PyProcess>>,
    attrs: Vec<String>,
    threads: usize,
) -> PyResult<usize> {
    let threads = match threads {
        0 => memsight::linux::ProcFs::default().scan_threads(processes.len()),
        n => n,
    }
    .min(processes.len());
    if threads < 2 {
        return Ok(1);
    }
    let procs: Vec<&PyProcess> = processes.iter().map(|p| p.get()).collect();
    let mut readers: Vec<Reader> = Vec::new();
    for r in attrs.iter().filter_map(|a| reader(a)) {
        // A getter named twice is read once (a second answer would be left over, stale).
        if !readers.iter().any(|(key, _)| *key == r.0) {
            readers.push(r);
        }
    }
    read_ahead(py, &procs, threads, &readers);
    Ok(threads)
}
