//! The system-wide functions: psutil's memory, disk, network and boot figures, the native heap,
//! and memsight's own cgroup and whole-system scan. Each releases the GIL while it reads.

use std::path::PathBuf;

use memsight::linux::ProcFs;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::errors::IntoPyResult;
use crate::topy::to_py;

/// Runs `f` without the GIL and converts its record.
fn read<T, F>(py: Python<'_>, f: F) -> PyResult<PyObject>
where
    T: serde::Serialize + Send,
    F: FnOnce() -> memsight::Result<T> + Send,
{
    let record = py.allow_threads(f).py(py)?;
    to_py(py, &record)
}

/// The procfs root a call reads: psutil's `PROCFS_PATH` as the Python layer passes it at call
/// time (`/proc` when not given).
pub fn procfs(root: Option<PathBuf>) -> ProcFs {
    root.map_or_else(ProcFs::default, ProcFs::new)
}

/// `svmem`: system memory in bytes, as procps `free` (`PROCFS/meminfo`).
#[pyfunction]
#[pyo3(signature = (procfs_path = None))]
fn virtual_memory(py: Python<'_>, procfs_path: Option<PathBuf>) -> PyResult<PyObject> {
    read(py, || procfs(procfs_path).virtual_memory())
}

/// `sswap`: swap in bytes (`PROCFS/meminfo`, `PROCFS/vmstat` for sin/sout).
#[pyfunction]
#[pyo3(signature = (procfs_path = None))]
fn swap_memory(py: Python<'_>, procfs_path: Option<PathBuf>) -> PyResult<PyObject> {
    read(py, || procfs(procfs_path).swap_memory())
}

/// `pheap(heap_used, mmap_used)`: the C allocator's figures for this process, in bytes
/// (glibc `mallinfo2`).
#[pyfunction]
fn heap_info(py: Python<'_>) -> PyResult<PyObject> {
    read(py, memsight::heap::info)
}

/// Hands free heap memory back to the OS (glibc `malloc_trim(0)`); whether any was released.
#[pyfunction]
fn heap_trim(py: Python<'_>) -> PyResult<bool> {
    py.allow_threads(memsight::heap::trim).py(py)
}

/// Every pid, ascending (`PROCFS`).
#[pyfunction]
#[pyo3(signature = (procfs_path = None))]
fn pids(py: Python<'_>, procfs_path: Option<PathBuf>) -> PyResult<Vec<u32>> {
    py.allow_threads(|| procfs(procfs_path).pids()).py(py)
}

/// Whether a process with this pid exists now (a zombie does; a thread id does not). A pid
/// outside the kernel's range (negative, or above `u32::MAX`) does not exist.
#[pyfunction]
#[pyo3(signature = (pid, procfs_path = None))]
fn pid_exists(py: Python<'_>, pid: &Bound<'_, PyAny>, procfs_path: Option<PathBuf>) -> bool {
    pid.extract::<u32>()
        .is_ok_and(|pid| py.allow_threads(|| procfs(procfs_path).process(pid).is_ok()))
}

/// When the system booted, seconds since the epoch (`PROCFS/stat` btime).
#[pyfunction]
#[pyo3(signature = (procfs_path = None))]
fn boot_time(py: Python<'_>, procfs_path: Option<PathBuf>) -> PyResult<f64> {
    py.allow_threads(|| procfs(procfs_path).boot_time()).py(py)
}

/// `sdiskio` for all disks, or a dict of them by name when `perdisk` (`PROCFS/diskstats`).
#[pyfunction]
#[pyo3(signature = (perdisk = false, nowrap = true, procfs_path = None))]
fn disk_io_counters(
    py: Python<'_>,
    perdisk: bool,
    nowrap: bool,
    procfs_path: Option<PathBuf>,
) -> PyResult<PyObject> {
    read(py, || procfs(procfs_path).disk_io_counters(perdisk, nowrap))
}

/// `{nic: [snicaddr, ...]}`, the family as a number (`getifaddrs`).
#[pyfunction]
fn net_if_addrs(py: Python<'_>) -> PyResult<PyObject> {
    read(py, memsight::net_if_addrs)
}

/// The calling process's memory cgroup, or None when there is none (`/sys/fs/cgroup`).
#[pyfunction]
fn cgroup_memory(py: Python<'_>) -> PyResult<PyObject> {
    read(py, memsight::linux::cgroup_memory)
}

/// What `memsight ps` shows, read on every core: `(processes, access_denied, errors)`, where
/// processes is a list of `pscan` tuples, access_denied the pids this user may not read and
/// errors `(pid, message)` pairs.
#[pyfunction]
fn memory_scan(py: Python<'_>) -> PyResult<Py<PyTuple>> {
    let scan = py.allow_threads(memsight::memory_scan).py(py)?;
    let errors: Vec<(u32, String)> = scan
        .errors
        .iter()
        .map(|(pid, e)| (*pid, e.to_string()))
        .collect();
    let processes = to_py(py, &scan.processes)?;
    Ok(PyTuple::new(
        py,
        [
            processes,
            to_py(py, &scan.access_denied)?,
            to_py(py, &errors)?,
        ],
    )?
    .unbind())
}

/// Adds the functions and psutil's OS constants to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(virtual_memory, m)?)?;
    m.add_function(wrap_pyfunction!(swap_memory, m)?)?;
    m.add_function(wrap_pyfunction!(heap_info, m)?)?;
    m.add_function(wrap_pyfunction!(heap_trim, m)?)?;
    m.add_function(wrap_pyfunction!(pids, m)?)?;
    m.add_function(wrap_pyfunction!(pid_exists, m)?)?;
    m.add_function(wrap_pyfunction!(boot_time, m)?)?;
    m.add_function(wrap_pyfunction!(disk_io_counters, m)?)?;
    m.add_function(wrap_pyfunction!(net_if_addrs, m)?)?;
    m.add_function(wrap_pyfunction!(cgroup_memory, m)?)?;
    m.add_function(wrap_pyfunction!(memory_scan, m)?)?;
    use memsight::constants as c;
    for (name, value) in [
        ("POSIX", c::POSIX),
        ("WINDOWS", c::WINDOWS),
        ("LINUX", c::LINUX),
        ("MACOS", c::MACOS),
        ("FREEBSD", c::FREEBSD),
        ("OPENBSD", c::OPENBSD),
        ("NETBSD", c::NETBSD),
        ("BSD", c::BSD),
        ("SUNOS", c::SUNOS),
        ("AIX", c::AIX),
    ] {
        m.add(name, value)?;
    }
    m.add("AF_LINK", c::AF_LINK)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
