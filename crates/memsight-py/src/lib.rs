//! The native part of the `memsight` Python package: thin wrappers over the Rust API that
//! release the GIL while the kernel is read and return plain tuples; `memsight/__init__.py`
//! turns them into psutil's named tuples and exceptions.

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

create_exception!(
    _native,
    NativeError,
    PyException,
    "A memsight error: (kind, pid, name, msg)."
);

/// Maps a memsight error onto `NativeError(kind, pid, name, msg)`.
fn err(e: memsight::Error) -> PyErr {
    let msg = e.to_string();
    let (kind, pid, name) = match e {
        memsight::Error::NoSuchProcess { pid, name } => ("NoSuchProcess", Some(pid), name),
        memsight::Error::ZombieProcess { pid, name } => ("ZombieProcess", Some(pid), name),
        memsight::Error::AccessDenied { pid, .. } => ("AccessDenied", pid, None),
        _ => ("Error", None, None),
    };
    NativeError::new_err((kind, pid, name, msg))
}

type Vm = (u64, u64, f64, u64, u64, u64, u64, u64, u64, u64, u64);

/// `virtual_memory()` as a tuple in psutil's field order.
#[pyfunction]
fn virtual_memory(py: Python<'_>) -> PyResult<Vm> {
    let m = py.allow_threads(memsight::virtual_memory).map_err(err)?;
    Ok((
        m.total,
        m.available,
        m.percent,
        m.used,
        m.free,
        m.active,
        m.inactive,
        m.buffers,
        m.cached,
        m.shared,
        m.slab,
    ))
}

/// `swap_memory()` as a tuple in psutil's field order.
#[pyfunction]
fn swap_memory(py: Python<'_>) -> PyResult<(u64, u64, u64, f64, u64, u64)> {
    let s = py.allow_threads(memsight::swap_memory).map_err(err)?;
    Ok((s.total, s.used, s.free, s.percent, s.sin, s.sout))
}

/// `Process(pid).memory_info()`: rss, vms, shared, text, lib, data, dirty.
#[pyfunction]
fn memory_info(py: Python<'_>, pid: u32) -> PyResult<(u64, u64, u64, u64, u64, u64, u64)> {
    let m = py
        .allow_threads(|| memsight::Process::new(pid)?.memory_info())
        .map_err(err)?;
    Ok((m.rss, m.vms, m.shared, m.text, m.lib, m.data, m.dirty))
}

type Full = (u64, u64, u64, u64, u64, u64, u64, u64, u64, u64);

/// `Process(pid).memory_full_info()`: memory_info's fields, then uss, pss, swap.
#[pyfunction]
fn memory_full_info(py: Python<'_>, pid: u32) -> PyResult<Full> {
    let m = py
        .allow_threads(|| memsight::Process::new(pid)?.memory_full_info())
        .map_err(err)?;
    Ok((
        m.rss, m.vms, m.shared, m.text, m.lib, m.data, m.dirty, m.uss, m.pss, m.swap,
    ))
}

/// Whether a process with this pid exists now.
#[pyfunction]
fn pid_exists(py: Python<'_>, pid: u32) -> bool {
    py.allow_threads(|| memsight::Process::new(pid).is_ok())
}

/// A probe reading an integer from a Python callable looked up once (no import or attribute
/// lookup per read): `sys.getallocatedblocks` (a count: where a missing `Py_DECREF` shows under
/// pymalloc, which the native heap cannot see) or `threading.active_count` (a resource).
struct PyCounter {
    name: &'static str,
    kind: memsight_leak::ProbeKind,
    read: PyObject,
}

impl PyCounter {
    fn new(
        py: Python<'_>,
        name: &'static str,
        kind: memsight_leak::ProbeKind,
        module: &str,
        func: &str,
    ) -> PyResult<PyCounter> {
        Ok(PyCounter {
            name,
            kind,
            read: py.import(module)?.getattr(func)?.unbind(),
        })
    }
}

impl memsight_leak::Probe for PyCounter {
    fn name(&self) -> &'static str {
        self.name
    }
    fn kind(&self) -> memsight_leak::ProbeKind {
        self.kind
    }
    fn read(&mut self) -> Result<i64, String> {
        Python::with_gil(|py| {
            self.read
                .call0(py)
                .and_then(|n| n.extract::<i64>(py))
                .map_err(|e| e.to_string())
        })
    }
}

/// Runs memsight-leak's check on `fun` (called with no arguments) with the Python probes
/// added. Returns `(kind, report)`: kind is `"ok"`, `"memory"`, `"fds"`, `"threads"`,
/// `"py_threads"`, `"children"` or `"error"`; report is the full text. An exception raised by
/// `fun` is re-raised.
#[pyfunction]
fn leak_check(py: Python<'_>, fun: PyObject, name: String) -> PyResult<(String, String)> {
    let mut raised: Option<PyErr> = None;
    let res = memsight_leak::LeakTest::new()
        .name(name)
        .probe(PyCounter::new(
            py,
            "py_blocks",
            memsight_leak::ProbeKind::Count,
            "sys",
            "getallocatedblocks",
        )?)
        .probe(PyCounter::new(
            py,
            "py_threads",
            memsight_leak::ProbeKind::Resource,
            "threading",
            "active_count",
        )?)
        .check(|| {
            if raised.is_none()
                && let Err(e) = fun.call0(py)
            {
                raised = Some(e);
            }
        });
    if let Some(e) = raised {
        return Err(e);
    }
    Ok(match res {
        Ok(r) => ("ok".to_owned(), r.to_string()),
        Err(e) => {
            let kind = match &e {
                memsight_leak::LeakError::Memory(_) => "memory".to_owned(),
                memsight_leak::LeakError::UnclosedFds { .. } => "fds".to_owned(),
                memsight_leak::LeakError::UnclosedThreads { .. } => "threads".to_owned(),
                memsight_leak::LeakError::Unclosed { metric, .. } => metric.name().to_owned(),
                _ => "error".to_owned(),
            };
            (kind, e.to_string())
        }
    })
}

/// The module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("NativeError", m.py().get_type::<NativeError>())?;
    m.add_function(wrap_pyfunction!(virtual_memory, m)?)?;
    m.add_function(wrap_pyfunction!(swap_memory, m)?)?;
    m.add_function(wrap_pyfunction!(memory_info, m)?)?;
    m.add_function(wrap_pyfunction!(memory_full_info, m)?)?;
    m.add_function(wrap_pyfunction!(pid_exists, m)?)?;
    m.add_function(wrap_pyfunction!(leak_check, m)?)?;
    Ok(())
}
