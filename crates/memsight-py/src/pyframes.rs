//! Python frames in allocation stacks: the `file:line` of the Python code that called the C
//! function that allocated, appended to each native stack recorded in the attribution phase
//! (memsight-leak's [`ExtraFrames`]).
//!
//! Capture runs inside an allocator hook: it reads the calling thread's frames only when that
//! thread holds the GIL (`PyGILState_Check`), with recording off on the thread
//! ([`sites::untracked`]: materialising a frame object allocates, and that allocation must
//! neither be recorded nor recurse), and keeps each `(code object, line)` as a token: an index
//! into a table that holds a strong reference to the code object until [`clear`], so `resolve`
//! (run after the phase, outside every hook) can read the file and function names.
//!
//! On CPython 3.11+ reading a frame may create its frame object, and creating an object may start
//! a cyclic collection, which runs finalizers: Python code inside an allocator, in the middle
//! of whatever C code allocated. The collector is switched off around the walk
//! (`PyGC_Disable`/`PyGC_Enable`, 3.10+, looked up at import; 3.9 creates no frame objects
//! there).
//!
//! The frame functions used (`PyFrame_GetCode`, `PyFrame_GetBack`) are exported by CPython
//! 3.9+, in the limited API since 3.10 and 3.11; they are declared here.

use std::collections::{HashMap, HashSet};
use std::os::raw::c_int;
use std::sync::{Mutex, OnceLock, PoisonError};

use memsight_leak::sites::{self, ExtraFrames, FrameKind, SiteFrame};
use pyo3::ffi;
use pyo3::prelude::*;

unsafe extern "C" {
    fn PyEval_GetFrame() -> *mut ffi::PyObject;
    fn PyFrame_GetCode(frame: *mut ffi::PyObject) -> *mut ffi::PyObject;
    fn PyFrame_GetBack(frame: *mut ffi::PyObject) -> *mut ffi::PyObject;
    fn PyFrame_GetLineNumber(frame: *mut ffi::PyObject) -> c_int;
    fn PyGILState_Check() -> c_int;
}

/// Python frames kept per allocation, innermost first: the caller of the C function and a few
/// of its callers (the harness's own frames among them, marked and skipped when printed).
const DEPTH: usize = 6;

/// Where in a code object a frame is: its line, or (CPython 3.11+) the offset of its last
/// instruction, turned into a line only when a token is resolved: computing a line walks the
/// code's location table, the largest cost of a capture.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Pos {
    Line(u32),
    Lasti(i32),
}

/// Interned `(code object address, position)`s: a token is an index into `frames`.
struct Table {
    frames: Vec<(usize, Pos)>,
    index: HashMap<(usize, Pos), usize>,
    /// The code objects referred to, each with one strong reference (owned: released by
    /// `clear`, with the GIL held), so an address is never reused while its token lives.
    codes: HashSet<usize>,
}

static TABLE: Mutex<Option<Table>> = Mutex::new(None);

/// `PyGC_Disable` and `PyGC_Enable` (CPython 3.10+), looked up once at import (not inside a
/// hook: the lookup may allocate).
#[derive(Clone, Copy)]
struct GcSwitch {
    disable: GcFlag,
    enable: GcFlag,
}

static GC_SWITCH: OnceLock<Option<GcSwitch>> = OnceLock::new();

/// `PyFrame_GetLasti` (3.11+) and `PyCode_Addr2Line`, looked up once at import: with both, a
/// capture keeps the instruction offset and the line is computed at resolve time.
#[derive(Clone, Copy)]
struct Lasti {
    get: GetLasti,
    line: Addr2Line,
}

static LASTI: OnceLock<Option<Lasti>> = OnceLock::new();

/// The address of an interpreter function by name, or null.
#[cfg(target_os = "linux")]
fn lookup(name: &std::ffi::CStr) -> *mut std::ffi::c_void {
    unsafe extern "C" {
        fn dlsym(
            handle: *mut std::ffi::c_void,
            symbol: *const std::ffi::c_char,
        ) -> *mut std::ffi::c_void;
    }
    // SAFETY: RTLD_DEFAULT (null on glibc and musl) searches the loaded objects; the name is
    // NUL-terminated.
    unsafe { dlsym(std::ptr::null_mut(), name.as_ptr()) }
}

type GetLasti = unsafe extern "C" fn(*mut ffi::PyObject) -> c_int;
type Addr2Line = unsafe extern "C" fn(*mut ffi::PyObject, c_int) -> c_int;
type GcFlag = unsafe extern "C" fn() -> c_int;

#[cfg(target_os = "linux")]
fn find_lasti() -> Option<Lasti> {
    let (g, l) = (lookup(c"PyFrame_GetLasti"), lookup(c"PyCode_Addr2Line"));
    if g.is_null() || l.is_null() {
        return None;
    }
    // SAFETY: CPython's `int PyFrame_GetLasti(PyFrameObject *)` and
    // `int PyCode_Addr2Line(PyCodeObject *, int)`.
    unsafe {
        Some(Lasti {
            get: std::mem::transmute::<*mut std::ffi::c_void, GetLasti>(g),
            line: std::mem::transmute::<*mut std::ffi::c_void, Addr2Line>(l),
        })
    }
}

/// Elsewhere allocation sites are not recorded, so frames are never captured.
#[cfg(not(target_os = "linux"))]
fn find_lasti() -> Option<Lasti> {
    None
}

#[cfg(target_os = "linux")]
fn find_gc_switch() -> Option<GcSwitch> {
    let (d, e) = (lookup(c"PyGC_Disable"), lookup(c"PyGC_Enable"));
    if d.is_null() || e.is_null() {
        return None;
    }
    // SAFETY: both are CPython's `int PyGC_Disable(void)` and `int PyGC_Enable(void)`.
    unsafe {
        Some(GcSwitch {
            disable: std::mem::transmute::<*mut std::ffi::c_void, GcFlag>(d),
            enable: std::mem::transmute::<*mut std::ffi::c_void, GcFlag>(e),
        })
    }
}

/// Elsewhere allocation sites are not recorded, so frames are never captured.
#[cfg(not(target_os = "linux"))]
fn find_gc_switch() -> Option<GcSwitch> {
    None
}

/// The token for `(code, pos)`; `code` is a new reference, given to the table or released.
///
/// # Safety
/// The GIL is held; `code` is a valid new reference.
unsafe fn intern(code: *mut ffi::PyObject, pos: Pos) -> usize {
    let mut t = TABLE.lock().unwrap_or_else(PoisonError::into_inner);
    let t = t.get_or_insert_with(|| Table {
        frames: Vec::new(),
        index: HashMap::new(),
        codes: HashSet::new(),
    });
    let addr = code as usize;
    if !t.codes.insert(addr) {
        // SAFETY: the table already holds a reference to this code object; drop this one.
        unsafe { ffi::Py_DECREF(code) };
    }
    let next = t.frames.len();
    *t.index.entry((addr, pos)).or_insert_with(|| {
        t.frames.push((addr, pos));
        next
    })
}

/// Writes the tokens of the calling thread's Python frames, innermost first.
fn capture(out: &mut [usize]) -> usize {
    // SAFETY: PyGILState_Check only reads this thread's state; it is safe without the GIL.
    if unsafe { PyGILState_Check() } == 0 {
        return 0;
    }
    let gc = GC_SWITCH.get().copied().flatten();
    let lasti = LASTI.get().copied().flatten();
    sites::untracked(|| {
        let mut n = 0;
        // SAFETY: the GIL is held; PyGC_Disable only clears a flag and returns the old one.
        let was_on = gc.is_some_and(|g| unsafe { (g.disable)() } != 0);
        // SAFETY: the GIL is held (checked above); PyEval_GetFrame returns a borrowed frame or
        // null, PyFrame_GetBack and PyFrame_GetCode new references, each released below or
        // handed to the table.
        unsafe {
            let mut frame = PyEval_GetFrame();
            ffi::Py_XINCREF(frame);
            while !frame.is_null() && n < out.len().min(DEPTH) {
                let pos = match lasti {
                    Some(l) => Pos::Lasti((l.get)(frame)),
                    None => Pos::Line(u32::try_from(PyFrame_GetLineNumber(frame)).unwrap_or(0)),
                };
                let code = PyFrame_GetCode(frame);
                if !code.is_null() {
                    out[n] = intern(code, pos);
                    n += 1;
                }
                let back = PyFrame_GetBack(frame);
                ffi::Py_DECREF(frame);
                frame = back;
            }
            ffi::Py_XDECREF(frame);
        }
        if let (true, Some(g)) = (was_on, gc) {
            // SAFETY: the GIL is held; the collector was on before the walk.
            unsafe { (g.enable)() };
        }
        n
    })
}

/// The frame a token stands for, read with the GIL (taken here).
fn resolve(token: usize) -> Option<SiteFrame> {
    let (addr, pos) = {
        let t = TABLE.lock().unwrap_or_else(PoisonError::into_inner);
        *t.as_ref()?.frames.get(token)?
    };
    Python::with_gil(|py| {
        // SAFETY: the table holds a strong reference to the code object at `addr` until
        // `clear`, which needs the GIL we hold.
        let code = unsafe { Bound::from_borrowed_ptr(py, addr as *mut ffi::PyObject) };
        let line = match (pos, LASTI.get().copied().flatten()) {
            (Pos::Line(line), _) => line,
            // SAFETY: the GIL is held; `code` is a live code object; a negative offset (a frame
            // not started) gives the first line or -1, mapped to no line.
            (Pos::Lasti(i), Some(l)) => {
                u32::try_from(unsafe { (l.line)(addr as _, i) }).unwrap_or(0)
            }
            (Pos::Lasti(_), None) => 0,
        };
        let file: Option<String> = code.getattr("co_filename").ok()?.extract().ok();
        let function: Option<String> = code
            .getattr("co_qualname")
            .or_else(|_| code.getattr("co_name"))
            .ok()?
            .extract()
            .ok();
        let kind = file.as_deref().map_or(FrameKind::Runtime, |f| kind(py, f));
        Some(SiteFrame {
            function,
            file,
            line: (line > 0).then_some(line),
            object: None,
            offset: 0,
            kind,
        })
    })
}

/// Whose a Python source file is: memsight's own package and the test runners (pytest,
/// pluggy, unittest) are the harness, the standard library the runtime, the rest the user's.
fn kind(py: Python<'_>, file: &str) -> FrameKind {
    let harness = [
        "/memsight/leak.py",
        "/memsight/pytest_plugin.py",
        "/_pytest/",
        "/pluggy/",
        "/unittest/",
        "<frozen ",
    ];
    if harness.iter().any(|h| file.contains(h)) {
        return FrameKind::Harness;
    }
    static STDLIB: OnceLock<Option<String>> = OnceLock::new();
    let stdlib = STDLIB.get_or_init(|| {
        py.import("sysconfig")
            .and_then(|m| m.call_method1("get_path", ("stdlib",)))
            .and_then(|p| p.extract::<String>())
            .ok()
    });
    match stdlib {
        Some(dir) if file.starts_with(dir.as_str()) && !file.contains("/site-packages/") => {
            FrameKind::Runtime
        }
        _ => FrameKind::User,
    }
}

/// Releases the code objects the tokens hold (after a report is made); tokens become unknown.
pub(crate) fn clear(_py: Python<'_>) {
    let taken = TABLE.lock().unwrap_or_else(PoisonError::into_inner).take();
    if let Some(t) = taken {
        for addr in t.codes {
            // SAFETY: the GIL is held (the argument); the table owned one reference each.
            unsafe { ffi::Py_DECREF(addr as *mut ffi::PyObject) };
        }
    }
}

/// Makes memsight-leak add Python frames to every recorded stack.
pub(crate) fn register() {
    GC_SWITCH.get_or_init(find_gc_switch);
    LASTI.get_or_init(find_lasti);
    sites::set_extra_frames(Some(ExtraFrames { capture, resolve }));
}
