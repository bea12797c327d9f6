//! The native part of the `memsight` Python package: thin wrappers over the Rust API that
//! release the GIL while the kernel is read and return plain tuples; `memsight/__init__.py`
//! turns them into psutil's named tuples and exceptions.

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

mod leak;

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

/// The module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("NativeError", m.py().get_type::<NativeError>())?;
    m.add_function(wrap_pyfunction!(virtual_memory, m)?)?;
    m.add_function(wrap_pyfunction!(swap_memory, m)?)?;
    m.add_function(wrap_pyfunction!(memory_info, m)?)?;
    m.add_function(wrap_pyfunction!(memory_full_info, m)?)?;
    m.add_function(wrap_pyfunction!(pid_exists, m)?)?;
    leak::register(m)?;
    Ok(())
}
