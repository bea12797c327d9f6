//! The native part of the `memsight` Python package: thin wrappers over the Rust API that
//! release the GIL while the kernel is read. Records become psutil's named tuples through one
//! serde bridge ([`topy`]), errors psutil's exception classes ([`errors`]); the classes are
//! defined in `memsight/__init__.py` and registered at import.

use pyo3::prelude::*;

mod errors;
mod process;
mod system;
mod topy;

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
    m.add_function(wrap_pyfunction!(errors::register_errors, m)?)?;
    m.add_function(wrap_pyfunction!(topy::register_type, m)?)?;
    m.add_class::<process::PyProcess>()?;
    system::register(m)?;
    m.add_function(wrap_pyfunction!(leak_check, m)?)?;
    Ok(())
}
