//! What a report says about one leaking allocation site: its stack, resolved, and its growth.

use std::fmt;

use super::Domain;

/// What a frame belongs to. Only [`FrameKind::User`] frames can be "the site"; the others are
/// kept (in JSON, in [`LeakSite::frames`]) but skipped or shortened when printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FrameKind {
    /// The code under test: the leak is placed at the innermost one.
    User,
    /// libc and the dynamic loader (`strdup`, `__libc_start_main`).
    System,
    /// A language runtime the allocation passed through: CPython (`PyList_New`, the eval
    /// loop), Rust's standard library and allocator.
    Runtime,
    /// memsight's own hooks and harness, the test runner around it.
    Harness,
}

/// One frame of an allocation stack (an inlined call is a frame of its own, at the same
/// address).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SiteFrame {
    /// The function, demangled, when the symbol table or debug info names it.
    pub function: Option<String>,
    /// The source file, full path as the debug info has it.
    pub file: Option<String>,
    /// The 1-based source line of the call (of the allocating call, in the innermost frame).
    pub line: Option<u32>,
    /// The loaded object (shared library or program) holding the code, full path.
    pub object: Option<String>,
    /// The instruction's offset in `object`, in bytes (for `addr2line -e OBJECT`).
    pub offset: u64,
    /// What the frame belongs to.
    pub kind: FrameKind,
}

impl SiteFrame {
    /// `function (file.c:LINE)` with the file's base name; `function (libx.so+0x1a2b)` without
    /// debug info; `libx.so+0x1a2b` without a symbol either.
    pub fn short(&self) -> String {
        let base = |p: &str| p.rsplit('/').next().unwrap_or(p).to_owned();
        let place = match (&self.file, self.line) {
            (Some(file), Some(line)) => format!("{}:{line}", base(file)),
            (Some(file), None) => base(file),
            _ => format!(
                "{}+{:#x}",
                self.object.as_deref().map(base).unwrap_or_default(),
                self.offset
            ),
        };
        match &self.function {
            Some(f) => format!("{f} ({place})"),
            None => place,
        }
    }

    /// Whether debug info gave this frame a file and line.
    pub fn has_line(&self) -> bool {
        self.file.is_some() && self.line.is_some()
    }
}

/// An allocation stack whose live bytes grew with the number of calls during the attribution
/// phase: where a leak is.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LeakSite {
    /// Growth of this stack's live bytes per call: least-squares slope over the attribution
    /// batches, in requested bytes (glibc's chunks are larger: the `heap` figure is).
    pub bytes_per_call: f64,
    /// The 95% confidence interval of `bytes_per_call`.
    pub bytes_per_call_ci: (f64, f64),
    /// Growth of this stack's live blocks per call (same fit).
    pub blocks_per_call: f64,
    /// Attribution batches in which its live bytes grew, and batches measured.
    pub grew: usize,
    /// Batches measured.
    pub batches: usize,
    /// Calls made in the attribution phase.
    pub calls: u64,
    /// Bytes from this stack still live at the end of the attribution phase.
    pub live_bytes: u64,
    /// Blocks from this stack still live at the end of the attribution phase.
    pub live_blocks: u64,
    /// The allocator the blocks came from.
    pub domain: Domain,
    /// The hooked function that handed the blocks out (`malloc`, `calloc`, `strdup`, `mmap`,
    /// `PyObject_Malloc`, ...).
    pub allocator: String,
    /// The whole stack, innermost first, hooks and runtime frames included.
    pub frames: Vec<SiteFrame>,
    /// The index in `frames` of the site: the innermost [`FrameKind::User`] frame (`None` when
    /// every frame belongs to a runtime, libc or the harness).
    pub site: Option<usize>,
}

impl LeakSite {
    /// The site's frame (see [`LeakSite::site`]).
    pub fn site_frame(&self) -> Option<&SiteFrame> {
        self.site.and_then(|i| self.frames.get(i))
    }

    /// The call chain as printed: the runtime or libc function the user code called (`strdup`,
    /// `PyList_New`) when there is one, the site, then up to `outer` more user frames, joined by
    /// ` <- `.
    pub fn chain(&self, outer: usize) -> String {
        let mut parts = Vec::new();
        let Some(at) = self.site else {
            // No user frame: the outermost frames that are not the harness's.
            return self
                .frames
                .iter()
                .filter(|f| f.kind != FrameKind::Harness)
                .take(outer + 1)
                .map(SiteFrame::short)
                .collect::<Vec<_>>()
                .join(" <- ");
        };
        // The entry point the user called: the outermost non-user, non-harness frame inside
        // the site; for hooked functions that are entry points themselves, the hook's name.
        // A front end's frame (a Python line: no loaded object) called no native function of
        // its own: the native frames inside it are the interpreter running it, up to where the
        // harness called in (`PyObject_CallObject`), which is no entry of the user's.
        let entry = if self.frames[at].object.is_none() {
            None
        } else {
            self.frames[..at]
                .iter()
                .rev()
                .find(|f| matches!(f.kind, FrameKind::System | FrameKind::Runtime))
                .and_then(|f| f.function.clone())
                .or_else(|| {
                    matches!(self.allocator.as_str(), "strdup" | "strndup")
                        .then(|| self.allocator.clone())
                })
        };
        parts.extend(entry);
        parts.push(self.frames[at].short());
        parts.extend(
            self.frames[at + 1..]
                .iter()
                .filter(|f| f.kind == FrameKind::User)
                .take(outer)
                .map(SiteFrame::short),
        );
        parts.join(" <- ")
    }
}

impl fmt::Display for LeakSite {
    /// `+1,024 B/call, 1 block/call   leak_helper (myext.c:41) <- build (myext.c:77)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let blocks = if (self.blocks_per_call - 1.0).abs() < 0.005 {
            "1 block/call".to_owned()
        } else {
            format!("{} blocks/call", trim_float(self.blocks_per_call))
        };
        let head = format!("+{} B/call, {blocks}", group_thousands(self.bytes_per_call));
        write!(f, "{head:<27}   {}", self.chain(3))
    }
}

/// `1024.0` as `1,024`, `3.25` as `3.25`.
fn group_thousands(v: f64) -> String {
    let s = trim_float(v);
    let (int, frac) = s.split_once('.').map_or((&s[..], ""), |(a, b)| (a, b));
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    out
}

/// A figure with at most 2 decimals, trailing zeros dropped.
fn trim_float(v: f64) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(function: &str, file: Option<&str>, line: Option<u32>, kind: FrameKind) -> SiteFrame {
        SiteFrame {
            function: Some(function.to_owned()),
            file: file.map(str::to_owned),
            line,
            object: Some("/tmp/libmyext.so".to_owned()),
            offset: 0x1a2b,
            kind,
        }
    }

    fn site(frames: Vec<SiteFrame>, at: Option<usize>, allocator: &str) -> LeakSite {
        LeakSite {
            bytes_per_call: 1024.0,
            bytes_per_call_ci: (1024.0, 1024.0),
            blocks_per_call: 1.0,
            grew: 8,
            batches: 8,
            calls: 1024,
            live_bytes: 1 << 20,
            live_blocks: 1024,
            domain: Domain::Malloc,
            allocator: allocator.to_owned(),
            frames,
            site: at,
        }
    }

    #[test]
    fn line_names_the_site_then_its_callers() {
        let s = site(
            vec![
                frame("malloc_hook", None, None, FrameKind::Harness),
                frame(
                    "leak_helper",
                    Some("/src/myext.c"),
                    Some(41),
                    FrameKind::User,
                ),
                frame("build", Some("/src/myext.c"), Some(77), FrameKind::User),
                frame("_PyEval_EvalFrameDefault", None, None, FrameKind::Runtime),
                frame("main_test", Some("/src/t.c"), Some(3), FrameKind::User),
            ],
            Some(1),
            "malloc",
        );
        assert_eq!(
            s.to_string(),
            "+1,024 B/call, 1 block/call   leak_helper (myext.c:41) <- build (myext.c:77) \
             <- main_test (t.c:3)"
        );
    }

    #[test]
    fn runtime_entry_point_is_shown_before_the_site() {
        let s = site(
            vec![
                frame("PyObject_Malloc", None, None, FrameKind::Runtime),
                frame("PyList_New", None, None, FrameKind::Runtime),
                frame(
                    "list_leak",
                    Some("/src/myext.c"),
                    Some(120),
                    FrameKind::User,
                ),
            ],
            Some(2),
            "PyObject_Malloc",
        );
        assert_eq!(s.chain(3), "PyList_New <- list_leak (myext.c:120)");
        // strdup is hooked itself: no libc frame inside the site, the hook names it.
        let s = site(
            vec![frame(
                "dup_leak",
                Some("/src/a.c"),
                Some(9),
                FrameKind::User,
            )],
            Some(0),
            "strdup",
        );
        assert_eq!(s.chain(3), "strdup <- dup_leak (a.c:9)");
    }

    #[test]
    fn a_python_line_site_has_no_runtime_entry() {
        // A Python line that allocates: the interpreter's frames (the eval loop, the harness's
        // PyObject_CallObject) sit inside it in the stack; the chain starts at the line itself.
        let py = |function: &str, line: u32| SiteFrame {
            object: None,
            offset: 0,
            ..frame(
                function,
                Some("/src/test_x.py"),
                Some(line),
                FrameKind::User,
            )
        };
        let s = site(
            vec![
                frame("PyObject_Malloc", None, None, FrameKind::Runtime),
                frame("_PyEval_EvalFrameDefault", None, None, FrameKind::Runtime),
                frame("PyObject_CallObject", None, None, FrameKind::Runtime),
                py("keep", 65),
                py("test_x", 70),
            ],
            Some(3),
            "PyObject_Malloc",
        );
        assert_eq!(s.chain(3), "keep (test_x.py:65) <- test_x (test_x.py:70)");
        // Its frames are all kept for JSON.
        assert_eq!(s.frames.len(), 5);
    }

    #[test]
    fn without_debug_info_the_object_and_offset_are_shown() {
        let f = SiteFrame {
            function: Some("leak_helper".to_owned()),
            file: None,
            line: None,
            object: Some("/usr/lib/libx.so.1".to_owned()),
            offset: 0x1139,
            kind: FrameKind::User,
        };
        assert_eq!(f.short(), "leak_helper (libx.so.1+0x1139)");
        assert!(!f.has_line());
    }

    #[test]
    fn figures_are_grouped_and_trimmed() {
        assert_eq!(group_thousands(1024.0), "1,024");
        assert_eq!(group_thousands(1234567.5), "1,234,567.5");
        assert_eq!(group_thousands(32.0), "32");
        assert_eq!(group_thousands(3.25), "3.25");
    }
}
