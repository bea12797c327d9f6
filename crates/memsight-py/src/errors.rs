//! memsight's one error type raised as psutil's exception classes.
//!
//! The classes themselves are defined in Python (`memsight/__init__.py`, psutil's `__init__` and
//! `__str__`) and handed over once with [`register_errors`]; every native call raises them
//! directly, so the Python layer needs no `try`/`except` per call.

use pyo3::exceptions::{PyNotImplementedError, PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::PyType;

/// psutil's classes: `Error`, `NoSuchProcess`, `ZombieProcess`, `AccessDenied`.
struct Classes {
    error: Py<PyType>,
    no_such_process: Py<PyType>,
    zombie_process: Py<PyType>,
    access_denied: Py<PyType>,
}

static CLASSES: GILOnceCell<Classes> = GILOnceCell::new();

/// `_native.register_errors(Error, NoSuchProcess, ZombieProcess, AccessDenied)`, called once at
/// import.
#[pyfunction]
pub fn register_errors(
    py: Python<'_>,
    error: Py<PyType>,
    no_such_process: Py<PyType>,
    zombie_process: Py<PyType>,
    access_denied: Py<PyType>,
) -> PyResult<()> {
    CLASSES
        .set(
            py,
            Classes {
                error,
                no_such_process,
                zombie_process,
                access_denied,
            },
        )
        .map_err(|_| PyRuntimeError::new_err("memsight's error classes are already registered"))
}

/// The Python exception for a memsight error: `NoSuchProcess(pid, name)` and
/// `ZombieProcess(pid, name)` with psutil's messages, `AccessDenied(pid, None, msg)` with
/// memsight's (which names the file); `Unsupported` is
/// `NotImplementedError` (what psutil raises for a figure the platform lacks), an I/O error
/// `OSError`, a parse error `memsight.Error`.
pub fn to_pyerr(py: Python<'_>, e: memsight::Error) -> PyErr {
    let msg = e.to_string();
    let Some(c) = CLASSES.get(py) else {
        return PyRuntimeError::new_err(msg);
    };
    let made = match e {
        memsight::Error::NoSuchProcess { pid, name } => {
            c.no_such_process.bind(py).call1((pid, name))
        }
        memsight::Error::ZombieProcess { pid, name } => {
            c.zombie_process.bind(py).call1((pid, name))
        }
        memsight::Error::AccessDenied { pid, .. } => {
            c.access_denied.bind(py).call1((pid, None::<String>, msg))
        }
        memsight::Error::Unsupported(_) => return PyNotImplementedError::new_err(msg),
        memsight::Error::Io { source, .. } => {
            return PyOSError::new_err((source.raw_os_error().unwrap_or(0), msg));
        }
        _ => c.error.bind(py).call1((msg,)),
    };
    match made {
        Ok(exc) => PyErr::from_value(exc),
        Err(e) => e,
    }
}

/// Shorthand for `map_err`: a memsight result to a Python one.
pub trait IntoPyResult<T> {
    /// Raises the psutil exception for an error (see [`to_pyerr`]).
    fn py(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for memsight::Result<T> {
    fn py(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_pyerr(py, e))
    }
}

/// A `ValueError` for a bad argument.
pub fn bad_arg(msg: String) -> PyErr {
    PyValueError::new_err(msg)
}
