//! Stacks made readable, after the attribution phase and outside every hook: return addresses
//! to objects and offsets (the loader's list), to functions, files and lines (the object's own
//! DWARF, or a build-id debug file, read with `addr2line`; inlined calls are frames of their
//! own), and to what each frame belongs to.
//!
//! The `backtrace` crate is not used here: it lists the loaded objects once per process, so a
//! library opened after its first use (a test's C library, a Python extension) would have no
//! names.
//!
//! Object files are mapped read-only, not read into the heap (a test binary's debug info is
//! tens of megabytes), only while a report is made: the parsed DWARF and the pages go when the
//! [`Symboliser`] drops. Keeping them for the next failed check would save its parse (about a
//! quarter of a second for a test binary) but leave megabytes in RSS, which a check with a
//! memory budget must not do. What is kept is the answer: the frames of each return address
//! already resolved, a few hundred bytes each and at most [`FRAME_CACHE`] of them, so the
//! next failed check reads no object whose addresses it has all seen (a test suite's failed
//! checks share the interpreter's and the runner's frames).
#![allow(unsafe_code)]

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use addr2line::gimli;
use object::{Object as _, ObjectSection as _};

use super::{FrameKind, SiteFrame};

/// Slices of a [`Mapping`]: `'static` within this module only, where every borrower is
/// dropped before its mapping (see [`Debug`]).
type Reader = gimli::EndianSlice<'static, gimli::RunTimeEndian>;

/// A file mapped read-only, unmapped on drop.
struct Mapping {
    ptr: *mut libc::c_void,
    len: usize,
}

impl Mapping {
    fn open(path: &str) -> Option<Mapping> {
        let file = std::fs::File::open(path).ok()?;
        let len = usize::try_from(file.metadata().ok()?.len()).ok()?;
        if len == 0 {
            return None;
        }
        use std::os::fd::AsRawFd as _;
        // SAFETY: a private read-only mapping of a file we opened; checked before use. The
        // descriptor may close afterwards: the mapping keeps the file.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                file.as_raw_fd(),
                0,
            )
        };
        (ptr != libc::MAP_FAILED).then_some(Mapping { ptr, len })
    }

    /// The bytes, for as long as the owner of this mapping keeps it.
    fn bytes(&self) -> &'static [u8] {
        // SAFETY: `len` readable bytes at `ptr` until drop; callers keep every borrow inside a
        // `Debug` that drops its borrowers before this mapping.
        unsafe { std::slice::from_raw_parts(self.ptr.cast::<u8>(), self.len) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: our own mapping, no longer borrowed (see `Debug`'s field order).
        unsafe { libc::munmap(self.ptr, self.len) };
    }
}

/// What one object file gives: its DWARF (if any) and its symbols (address, name), sorted.
/// Fields drop in order: the DWARF context, the symbols and the parsed file, which borrow the
/// mappings, before them.
struct Debug {
    dwarf: Option<addr2line::Context<Reader>>,
    /// Read the first time DWARF names no function: reading an interpreter's ten thousand
    /// symbols costs more than its DWARF lookups.
    symbols: Option<Vec<(u64, &'static str)>>,
    file: object::File<'static>,
    _maps: Vec<Mapping>,
}

impl Debug {
    /// The function containing `addr` by the symbol table.
    fn nearest(&mut self, addr: u64) -> Option<String> {
        let file = &self.file;
        let symbols = self.symbols.get_or_insert_with(|| {
            let mut v: Vec<(u64, &'static str)> = file
                .symbol_map()
                .symbols()
                .iter()
                .map(|s| (s.address(), s.name()))
                .collect();
            v.sort_unstable_by_key(|s| s.0);
            v
        });
        nearest(symbols, addr)
    }
}

/// How many resolved return addresses are kept between checks.
const FRAME_CACHE: usize = 4096;

/// The frames of return addresses resolved before, by object path, load address and address:
/// an object unloaded and another loaded at the same place under the same name is the same
/// file (a shared object cannot be reloaded changed within one process).
static RESOLVED: Mutex<Option<Resolved>> = Mutex::new(None);

/// Frames by (object path, load address, return address).
type Resolved = HashMap<(String, usize, usize), Vec<SiteFrame>>;

/// Turns return addresses into frames; caches every object file it reads.
pub(crate) struct Symboliser {
    /// Loaded objects: path, load bias, mapped ranges.
    objects: Vec<super::got::Segments>,
    debug: HashMap<String, Option<Debug>>,
}

impl Symboliser {
    /// Lists the objects loaded now.
    pub(crate) fn new() -> Symboliser {
        let exe = std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let objects = super::got::segments()
            .into_iter()
            .map(|(name, base, ranges)| {
                let name = if name.is_empty() { exe.clone() } else { name };
                (name, base, ranges)
            })
            .collect();
        Symboliser {
            objects,
            debug: HashMap::new(),
        }
    }

    /// The frames of one return address, innermost (inlined) first.
    pub(crate) fn frames(&mut self, ip: usize) -> Vec<SiteFrame> {
        // A return address points after the call: look the call itself up.
        let probe = ip.saturating_sub(1);
        let Some((path, base)) = self
            .objects
            .iter()
            .find(|(_, _, r)| r.iter().any(|&(a, b)| a <= probe && probe < b))
            .map(|(p, b, _)| (p.clone(), *b))
        else {
            return vec![SiteFrame {
                function: None,
                file: None,
                line: None,
                object: None,
                offset: ip as u64,
                kind: FrameKind::User,
            }];
        };
        let key = (path, base, ip);
        let mut resolved = RESOLVED.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(frames) = resolved.as_ref().and_then(|r| r.get(&key)) {
            return frames.clone();
        }
        let frames = self.resolve(&key.0, base, probe);
        let cache = resolved.get_or_insert_with(HashMap::new);
        if cache.len() < FRAME_CACHE {
            cache.insert(key, frames.clone());
        }
        frames
    }

    /// The frames of the call before return address `probe + 1` in the object at `path`
    /// loaded at `base`, from its debug info or else its symbols.
    fn resolve(&mut self, path: &str, base: usize, probe: usize) -> Vec<SiteFrame> {
        let svma = probe.wrapping_sub(base) as u64;
        let mut debug = self
            .debug
            .entry(path.to_owned())
            .or_insert_with(|| load(path))
            .as_mut();
        let mut out = Vec::new();
        if let Some(Debug {
            dwarf: Some(ctx), ..
        }) = debug.as_deref()
            && let Ok(mut it) = ctx.find_frames(svma).skip_all_loads()
        {
            while let Ok(Some(f)) = it.next() {
                let function = f
                    .function
                    .as_ref()
                    .and_then(|n| n.raw_name().ok())
                    .map(|n| demangle(n.as_ref()));
                let (file, line) = f
                    .location
                    .map(|l| (l.file.map(str::to_owned), l.line))
                    .unwrap_or((None, None));
                out.push(SiteFrame {
                    function,
                    file,
                    line,
                    object: Some(path.to_owned()),
                    offset: svma + 1,
                    kind: FrameKind::User,
                });
            }
        }
        if out.is_empty() {
            let function = debug.as_mut().and_then(|d| d.nearest(svma));
            out.push(SiteFrame {
                function,
                file: None,
                line: None,
                object: Some(path.to_owned()),
                offset: svma + 1,
                kind: FrameKind::User,
            });
        }
        // Names from the symbol table win for the outermost frame of an address when DWARF
        // has none (a function without debug info of its own).
        if let Some(last) = out.last_mut()
            && last.function.is_none()
        {
            last.function = debug.as_mut().and_then(|d| d.nearest(svma));
        }
        for f in &mut out {
            f.kind = classify(f);
        }
        out
    }
}

/// The function containing `addr`: the nearest symbol at or below it.
fn nearest(symbols: &[(u64, &str)], addr: u64) -> Option<String> {
    let i = symbols.partition_point(|(a, _)| *a <= addr);
    (i > 0).then(|| demangle(symbols[i - 1].1))
}

/// A Rust name without its hash; other names as they are.
fn demangle(name: &str) -> String {
    match rustc_demangle::try_demangle(name) {
        Ok(d) => format!("{d:#}"),
        Err(_) => name.to_owned(),
    }
}

/// Reads an object file's DWARF (its build-id debug file's DWARF when it has none
/// of its own). `None` when the file cannot be read.
fn load(path: &str) -> Option<Debug> {
    let map = Mapping::open(path)?;
    let file = object::File::parse(map.bytes()).ok()?;
    let mut maps = vec![];
    let mut dwarf = dwarf_of(&file);
    if dwarf.is_none()
        && let Ok(Some(id)) = file.build_id()
        && id.len() > 1
    {
        let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
        let debug_path = format!("/usr/lib/debug/.build-id/{}/{}.debug", &hex[..2], &hex[2..]);
        if let Some(m) = Mapping::open(&debug_path)
            && let Ok(f) = object::File::parse(m.bytes())
        {
            dwarf = dwarf_of(&f);
            maps.push(m);
        }
    }
    maps.push(map);
    Some(Debug {
        dwarf,
        symbols: None,
        file,
        _maps: maps,
    })
}

/// The DWARF of `file`, when it has line tables that are not compressed.
fn dwarf_of(file: &object::File<'static>) -> Option<addr2line::Context<Reader>> {
    let info = file.section_by_name(".debug_info")?;
    if info
        .compressed_data()
        .is_ok_and(|c| c.format != object::CompressionFormat::None)
    {
        return None;
    }
    let endian = if file.is_little_endian() {
        gimli::RunTimeEndian::Little
    } else {
        gimli::RunTimeEndian::Big
    };
    let dwarf = gimli::Dwarf::load(|id| -> Result<Reader, gimli::Error> {
        let data = file
            .section_by_name(id.name())
            .and_then(|s| s.data().ok())
            .unwrap_or(&[]);
        Ok(Reader::new(data, endian))
    })
    .ok()?;
    addr2line::Context::from_dwarf(dwarf).ok()
}

/// Prefixes of functions that belong to memsight's hooks and harness, or the test runner.
const HARNESS: [&str; 9] = [
    "memsight_leak::",
    "<memsight_leak::",
    "memsight::heap::",
    "<memsight::heap::",
    "backtrace::",
    "<backtrace::",
    "_Unwind_",
    "test::",
    "<test::",
];

/// Prefixes of functions of Rust's runtime and allocator.
const RUST: [&str; 12] = [
    "std::",
    "<std::",
    "core::",
    "<core::",
    "alloc::",
    "<alloc::",
    "__rust",
    "__rdl",
    "__rg_",
    "<F as",
    "<&F as",
    "<&mut F as",
];

/// What a frame belongs to, from its function, file and object.
pub(crate) fn classify(f: &SiteFrame) -> FrameKind {
    let object = f.object.as_deref().unwrap_or("");
    let base = object.rsplit('/').next().unwrap_or(object);
    let func = f.function.as_deref().unwrap_or("");
    let file = f.file.as_deref().unwrap_or("");
    if HARNESS.iter().any(|p| func.starts_with(p))
        || (base.starts_with("_native") && object.contains("memsight"))
    {
        return FrameKind::Harness;
    }
    if [
        "libc.so",
        "libc-",
        "ld-linux",
        "ld64.so",
        "ld-musl",
        "libpthread",
        "libdl.so",
        "libm.so",
    ]
    .iter()
    .any(|p| base.starts_with(p))
    {
        return FrameKind::System;
    }
    if base.starts_with("python")
        || base.starts_with("libpython")
        || base.starts_with("libstdc++")
        || RUST.iter().any(|p| func.starts_with(p))
        || file.starts_with("/rustc/")
        || file.contains("/library/std/")
        || file.contains("/library/core/")
        || file.contains("/library/alloc/")
        || file.contains("/.cargo/registry/")
    {
        return FrameKind::Runtime;
    }
    FrameKind::User
}

/// Marks the harness around the tested function: every frame outer to the first harness frame
/// that follows a frame of another kind (the driver calling the function, and the test runner
/// beyond it) is the harness's too.
pub(crate) fn cut_at_harness(frames: &mut [SiteFrame]) {
    let mut seen_other = false;
    let mut cut = None;
    for (i, f) in frames.iter().enumerate() {
        if f.kind == FrameKind::Harness {
            if seen_other {
                cut = Some(i);
                break;
            }
        } else {
            seen_other = true;
        }
    }
    if let Some(i) = cut {
        for f in &mut frames[i..] {
            f.kind = FrameKind::Harness;
        }
    }
}

/// Whether the stack went through Rust's global allocator (a Rust allocation: its sites come
/// from `CountingAlloc` when that is installed).
pub(crate) fn via_rust_allocator(frames: &[SiteFrame]) -> bool {
    frames.iter().any(|f| {
        f.function.as_deref().is_some_and(|n| {
            n.starts_with("__rust_alloc")
                || n.starts_with("__rust_realloc")
                || n.starts_with("__rdl_")
                || n.starts_with("alloc::alloc::")
                || n.contains("GlobalAlloc")
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(function: &str, file: &str, object: &str) -> SiteFrame {
        SiteFrame {
            function: Some(function.to_owned()),
            file: (!file.is_empty()).then(|| file.to_owned()),
            line: Some(1),
            object: Some(object.to_owned()),
            offset: 0,
            kind: FrameKind::User,
        }
    }

    #[inline(never)]
    fn a_known_function() -> usize {
        a_known_function as fn() -> usize as usize
    }

    /// A second check resolving an address already resolved reads no object file: the frames
    /// come from the cache, equal to the first answer.
    #[test]
    fn resolved_addresses_are_remembered_across_symbolisers() {
        // An address inside the function, as a return address would be.
        let ip = a_known_function() + 1;
        let mut first = Symboliser::new();
        let frames = first.frames(ip);
        assert!(
            frames.iter().any(|f| f
                .function
                .as_deref()
                .is_some_and(|n| n.contains("a_known_function"))),
            "{frames:?}"
        );
        assert!(
            !first.debug.is_empty(),
            "the first answer reads the test binary"
        );
        let mut second = Symboliser::new();
        assert_eq!(second.frames(ip), frames);
        assert!(second.debug.is_empty(), "the second read an object again");
    }

    #[test]
    fn frames_are_classified_by_function_file_and_object() {
        let k = |f, file, o| classify(&frame(f, file, o));
        assert_eq!(
            k("malloc", "", "/lib/x86_64-linux-gnu/libc.so.6"),
            FrameKind::System
        );
        assert_eq!(
            k("PyList_New", "", "/usr/bin/python3.11"),
            FrameKind::Runtime
        );
        assert_eq!(
            k(
                "memsight_leak::sites::recorder::hooks::malloc",
                "src/sites/recorder/hooks.rs",
                "/t/caught"
            ),
            FrameKind::Harness
        );
        assert_eq!(
            k(
                "alloc::vec::Vec<T>::push",
                "/rustc/abc/library/alloc/src/vec.rs",
                "/t/caught"
            ),
            FrameKind::Runtime
        );
        assert_eq!(
            k("leak_helper", "/src/sites.c", "/tmp/libsites.so"),
            FrameKind::User
        );
        assert_eq!(
            k(
                "leak_check",
                "src/leak.rs",
                "/venv/memsight/_native.abi3.so"
            ),
            FrameKind::Harness
        );
    }

    #[test]
    fn everything_outside_the_driver_is_the_harness() {
        let mut frames = vec![
            frame("memsight_leak::sites::recorder::hooks::malloc", "", "/t/x"),
            frame("leak_helper", "/src/a.c", "/tmp/liba.so"),
            frame("caught::test::{{closure}}", "tests/caught.rs", "/t/x"),
            frame("memsight_leak::driver::LeakTest::run", "", "/t/x"),
            frame("caught::test", "tests/caught.rs", "/t/x"),
        ];
        for f in &mut frames {
            f.kind = classify(f);
        }
        cut_at_harness(&mut frames);
        let kinds: Vec<FrameKind> = frames.iter().map(|f| f.kind).collect();
        assert_eq!(
            kinds,
            [
                FrameKind::Harness,
                FrameKind::User,
                FrameKind::User,
                FrameKind::Harness,
                FrameKind::Harness
            ]
        );
    }

    #[test]
    fn nearest_symbol_names_an_address_inside_a_function() {
        let syms = [(0x1000, "a"), (0x1100, "b")];
        assert_eq!(nearest(&syms, 0x10ff).as_deref(), Some("a"));
        assert_eq!(nearest(&syms, 0x1100).as_deref(), Some("b"));
        assert_eq!(nearest(&syms, 0x0fff), None);
    }
}
