//! The native part of the `memsight` Python package: thin wrappers over the Rust API that
//! release the GIL while the kernel is read. Records become psutil's named tuples through one
//! serde bridge ([`topy`]), errors psutil's exception classes ([`errors`]); the classes are
//! defined in `memsight/__init__.py` and registered at import.

use pyo3::prelude::*;

mod errors;
mod leak;
mod process;
mod pyframes;
mod pymem;
mod system;
mod topy;

/// The module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(errors::register_errors, m)?)?;
    m.add_function(wrap_pyfunction!(topy::register_type, m)?)?;
    m.add_class::<process::PyProcess>()?;
    m.add_function(wrap_pyfunction!(process::prefetch, m)?)?;
    system::register(m)?;
    leak::register(m)?;
    Ok(())
}
