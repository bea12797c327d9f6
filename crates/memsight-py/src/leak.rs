//! The native part of `memsight.leak`: runs memsight-leak's check on a Python callable, with
//! figures of the interpreter's own (allocated blocks, Python threads, gc garbage) added as
//! [`memsight_leak::Probe`]s read through Python callables. `memsight/leak.py` maps psleak's
//! API onto it and turns the returned dict into psleak's exceptions.
//!
//! The check runs with the GIL released, taking it for each call and each probe read, so
//! threads the tested function starts (and joins) can finish while the harness settles.

use std::sync::{Arc, Mutex, PoisonError};

use memsight_leak::{Checkers, LeakError, LeakTest, Metric, Probe, ProbeKind, Report, Verdict};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

/// An error raised by a probe's Python callable, kept to be re-raised after the check.
type Raised = Arc<Mutex<Option<PyErr>>>;

fn keep(raised: &Raised, e: PyErr) {
    let mut r = raised.lock().unwrap_or_else(PoisonError::into_inner);
    if r.is_none() {
        *r = Some(e);
    }
}

/// A probe whose figure comes from a Python callable returning an int (looked up once by
/// `leak.py`: no import or attribute lookup per read), with an optional callable run before
/// every sample (gc.collect, the user's trim callback).
struct PyProbe {
    name: &'static str,
    kind: ProbeKind,
    read: PyObject,
    prepare: Option<PyObject>,
    tolerance: u64,
    raised: Raised,
}

impl Probe for PyProbe {
    fn name(&self) -> &'static str {
        self.name
    }
    fn kind(&self) -> ProbeKind {
        self.kind
    }
    fn read(&mut self) -> Result<i64, String> {
        if let Some(e) = self
            .raised
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
        {
            return Err(e.to_string());
        }
        Python::with_gil(|py| {
            self.read
                .call0(py)
                .and_then(|n| n.extract::<i64>(py))
                .map_err(|e| {
                    let msg = e.to_string();
                    keep(&self.raised, e);
                    msg
                })
        })
    }
    fn prepare(&mut self) {
        if let Some(f) = &self.prepare {
            Python::with_gil(|py| {
                if let Err(e) = f.call0(py) {
                    keep(&self.raised, e);
                }
            });
        }
    }
    fn tolerance(&self) -> u64 {
        self.tolerance
    }
}

/// The probe names `leak.py` uses (a probe's name is `&'static str`).
fn probe_name(name: &str) -> PyResult<&'static str> {
    Ok(match name {
        "py_blocks" => "py_blocks",
        "py_threads" => "py_threads",
        "gc_garbage" => "gc_garbage",
        _ => return Err(PyValueError::new_err(format!("unknown probe {name:?}"))),
    })
}

fn probe_kind(kind: &str) -> PyResult<ProbeKind> {
    Ok(match kind {
        "bytes" => ProbeKind::Bytes,
        "count" => ProbeKind::Count,
        "resource" => ProbeKind::Resource,
        _ => {
            return Err(PyValueError::new_err(format!(
                "unknown probe kind {kind:?}"
            )));
        }
    })
}

/// A built-in metric by its report name (`rust_heap` is left out: the extension does not
/// install memsight's counting allocator).
fn metric(name: &str) -> PyResult<Metric> {
    Ok(match name {
        "heap" => Metric::HeapUsed,
        "mmap" => Metric::MmapUsed,
        "uss" => Metric::Uss,
        "rss" => Metric::Rss,
        "vms" => Metric::Vms,
        "maps" => Metric::Maps,
        "maps_anon" => Metric::MapsAnon,
        "fds" => Metric::Fds,
        "threads" => Metric::Threads,
        "children" => Metric::Children,
        _ => return Err(PyValueError::new_err(format!("unknown metric {name:?}"))),
    })
}

/// A probe as `leak.py` describes it: `(name, kind, read, prepare, tolerance)`.
type ProbeSpec = (String, String, PyObject, Option<PyObject>, u64);

/// Runs memsight-leak's check on `call` (no arguments; raising stops the check and the
/// exception is re-raised) and returns a dict: `verdict` (`clean`, `bounded`, `leak`),
/// `error` (`None`, `memory`, `unclosed`, `did_not_fail`, `setup`, `fd_closed`), `metric` and
/// `count` and `items` for an unclosed resource, `text` (the full report), `calls`,
/// `warmup_calls`, `elapsed` (s), `metrics` (`(name, per_call, ci_lo, ci_hi, total, grew,
/// batches, leaking, is_bytes)`), `batches` (`(calls, [(name, delta)])`), `notes`, `sites`
/// (the leaking allocation sites as dicts: memsight-leak's `LeakSite`, frames included) and
/// `site_lines` (each as the report prints it). `sites=False` skips the attribution phase.
#[pyfunction]
#[pyo3(signature = (call, name, *, warmup, batch, max_batch, call_budget, checkers, tolerance, probes, verbosity, plot_dir = None, sites = true))]
#[allow(clippy::too_many_arguments)]
fn leak_check<'py>(
    py: Python<'py>,
    call: PyObject,
    name: String,
    warmup: u64,
    batch: u64,
    max_batch: u64,
    call_budget: u64,
    checkers: Vec<String>,
    tolerance: Vec<(String, u64)>,
    probes: Vec<ProbeSpec>,
    verbosity: u8,
    plot_dir: Option<std::path::PathBuf>,
    sites: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let mut checked = Checkers::none();
    for c in &checkers {
        checked = checked.with(metric(c)?);
    }
    let raised: Raised = Arc::new(Mutex::new(None));
    let mut test = LeakTest::new()
        .name(name)
        .warmup(warmup)
        .batch(batch, max_batch)
        .call_budget(call_budget)
        .checkers(checked)
        .verbosity(verbosity);
    for (m, t) in &tolerance {
        test = test.tolerance(metric(m)?, *t);
    }
    if let Some(dir) = plot_dir {
        test = test.plot_dir(dir);
    }
    for (pname, kind, read, prepare, tol) in probes {
        test = test.probe(PyProbe {
            name: probe_name(&pname)?,
            kind: probe_kind(&kind)?,
            read,
            prepare,
            tolerance: tol,
            raised: raised.clone(),
        });
    }
    if sites {
        test = test.site_hooks(crate::pymem::PyAllocatorHooks);
    } else {
        test = test.sites(false);
    }
    let stop: Raised = Arc::new(Mutex::new(None));
    // An exception raised by a call of the attribution phase (after the verdict): the phase
    // ends, the verdict stands, and the report says what was raised.
    let late: Raised = Arc::new(Mutex::new(None));
    let res = py.allow_threads(|| {
        // check_err: a call that "succeeds" (returns Ok) ends the check; here that is a call
        // that raised.
        test.check_err(|| {
            Python::with_gil(|py| match call.call0(py) {
                Ok(_) => Err(()),
                Err(e) if crate::pymem::installed() => {
                    keep(&late, e);
                    // The phase ends on a call that did not fail (the `false` of check_err).
                    Err(())
                }
                Err(e) => {
                    keep(&stop, e);
                    Ok(())
                }
            })
        })
    });
    crate::pyframes::clear(py);
    let late = late.lock().unwrap_or_else(PoisonError::into_inner).take();
    let taken = stop.lock().unwrap_or_else(PoisonError::into_inner).take();
    if let Some(e) = taken {
        return Err(e);
    }
    let taken = raised.lock().unwrap_or_else(PoisonError::into_inner).take();
    if let Some(e) = taken {
        return Err(e);
    }
    let d = PyDict::new(py);
    let text = match &res {
        Ok(r) => r.to_string(),
        Err(e) => e.to_string(),
    };
    d.set_item("text", text)?;
    let (error, metric_name, count, items): (Option<&str>, Option<&str>, i64, Vec<String>) =
        match &res {
            Ok(_) => (None, None, 0, Vec::new()),
            Err(LeakError::Memory(_)) => (Some("memory"), None, 0, Vec::new()),
            Err(LeakError::UnclosedFds { count, fds, .. }) => {
                (Some("unclosed"), Some("fds"), *count, fds.clone())
            }
            Err(LeakError::UnclosedThreads { count, threads, .. }) => {
                (Some("unclosed"), Some("threads"), *count, threads.clone())
            }
            Err(LeakError::Unclosed {
                metric,
                count,
                items,
                ..
            }) => (Some("unclosed"), Some(metric.name()), *count, items.clone()),
            Err(LeakError::DidNotFail { .. }) => (Some("did_not_fail"), None, 0, Vec::new()),
            Err(LeakError::FdClosedUnderHarness { .. }) => (Some("fd_closed"), None, 0, Vec::new()),
            Err(_) => (Some("setup"), None, 0, Vec::new()),
        };
    d.set_item("error", error)?;
    d.set_item("metric", metric_name)?;
    d.set_item("count", count)?;
    d.set_item("items", items)?;
    let report = match &res {
        Ok(r) => Some(r),
        Err(e) => e.report(),
    };
    if let Some(r) = report {
        fill(py, &d, r)?;
    } else {
        d.set_item("verdict", "leak")?;
    }
    if let Some(e) = late {
        let note = format!(
            "a call of the attribution phase raised {}; the sites come from the calls before it",
            e.value(py)
                .repr()
                .map_or_else(|_| "an exception".into(), |r| r.to_string())
        );
        match d.get_item("notes")? {
            Some(notes) => notes.call_method1("append", (note,))?,
            None => {
                d.set_item("notes", vec![note])?;
                d.as_any().clone()
            }
        };
    }
    Ok(d)
}

/// The report's figures into `d`.
fn fill(py: Python<'_>, d: &Bound<'_, PyDict>, r: &Report) -> PyResult<()> {
    let verdict = match r.verdict {
        Verdict::Clean => "clean",
        Verdict::Bounded => "bounded",
        Verdict::Leak(_) => "leak",
    };
    d.set_item("verdict", verdict)?;
    d.set_item("calls", r.calls)?;
    d.set_item("warmup_calls", r.warmup_calls)?;
    d.set_item("elapsed", r.elapsed.as_secs_f64())?;
    let metrics = PyList::empty(py);
    for m in &r.metrics {
        metrics.append((
            m.metric.name(),
            m.per_call,
            m.ci.0,
            m.ci.1,
            m.total,
            m.grew,
            m.batches,
            m.leaking,
            m.metric.is_bytes(),
        ))?;
    }
    d.set_item("metrics", metrics)?;
    let batches = PyList::empty(py);
    for b in &r.batches {
        let deltas: Vec<(&str, i64)> = r
            .metrics
            .iter()
            .map(|m| (m.metric.name(), b.delta(m.metric)))
            .filter(|&(_, v)| v != 0)
            .collect();
        batches.append((b.calls, deltas))?;
    }
    d.set_item("batches", batches)?;
    d.set_item("notes", r.notes.clone())?;
    d.set_item("sites", crate::topy::to_py(py, &r.leak_sites)?)?;
    let lines: Vec<String> = r.leak_sites.iter().map(|s| s.to_string()).collect();
    d.set_item("site_lines", lines)?;
    Ok(())
}

/// The allocator each Python allocator domain (RAW, MEM, OBJ) has now, as the five addresses of
/// its `PyMemAllocatorEx` (`ctx`, `malloc`, `calloc`, `realloc`, `free`): for tests that the
/// attribution phase set them back.
#[pyfunction]
fn pymem_allocators(_py: Python<'_>) -> Vec<[usize; 5]> {
    crate::pymem::DOMAINS
        .iter()
        // SAFETY: the GIL is held (the `Python` token).
        .map(|&d| unsafe { crate::pymem::current(d) }.addresses())
        .collect()
}

/// Whether memsight's allocator wrappers are set now (only inside an attribution phase).
#[pyfunction]
fn pymem_wrapped() -> bool {
    crate::pymem::installed()
}

/// Adds `memsight._native.leak_check` and the allocator test hooks.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    crate::pyframes::register();
    m.add_function(wrap_pyfunction!(pymem_allocators, m)?)?;
    m.add_function(wrap_pyfunction!(pymem_wrapped, m)?)?;
    m.add_function(wrap_pyfunction!(leak_check, m)?)
}
