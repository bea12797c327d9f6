//! GOT rewriting: the entries through which loaded objects call the allocators are pointed at
//! the hooks for the attribution phase, and put back afterwards.
//!
//! Objects are walked with `dl_iterate_phdr`; each one's dynamic section gives its PLT
//! relocations (`DT_JMPREL`, `DT_PLTRELSZ`) and other relocations (`DT_RELA`, `DT_RELASZ`),
//! whose `JUMP_SLOT` and `GLOB_DAT` entries against the hooked symbols are the GOT entries to
//! rewrite. Entries inside `PT_GNU_RELRO` are read-only after relocation: their page is made
//! writable for the store and read-only again right after. libc, the dynamic loader, the
//! unwinder and the vDSO are left alone (libc's calls to its own `malloc` are internal anyway).
#![allow(unsafe_code)]

use std::ffi::{CStr, c_int, c_void};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Mutex, PoisonError};

use super::GotEntry;

/// An ELF64 dynamic entry (`Elf64_Dyn`).
#[repr(C)]
#[derive(Clone, Copy)]
struct Dyn {
    tag: i64,
    val: u64,
}

/// An ELF64 relocation with addend (`Elf64_Rela`).
#[repr(C)]
#[derive(Clone, Copy)]
struct Rela {
    offset: u64,
    info: u64,
    addend: i64,
}

/// An ELF64 symbol (`Elf64_Sym`).
#[repr(C)]
#[derive(Clone, Copy)]
struct Sym {
    name: u32,
    info: u8,
    other: u8,
    shndx: u16,
    value: u64,
    size: u64,
}

const _: () = assert!(std::mem::size_of::<Dyn>() == 16);
const _: () = assert!(std::mem::size_of::<Rela>() == 24);
const _: () = assert!(std::mem::offset_of!(Rela, info) == 8);
const _: () = assert!(std::mem::size_of::<Sym>() == 24);
const _: () = assert!(std::mem::offset_of!(Sym, value) == 8);

const DT_NULL: i64 = 0;
const DT_PLTRELSZ: i64 = 2;
const DT_STRTAB: i64 = 5;
const DT_SYMTAB: i64 = 6;
const DT_RELA: i64 = 7;
const DT_RELASZ: i64 = 8;
const DT_STRSZ: i64 = 10;
const DT_PLTREL: i64 = 20;
const DT_JMPREL: i64 = 23;
const PT_DYNAMIC: u32 = 2;
const PT_GNU_RELRO: u32 = 0x6474_e552;

#[cfg(target_arch = "x86_64")]
const JUMP_SLOT: u32 = 7;
#[cfg(target_arch = "x86_64")]
const GLOB_DAT: u32 = 6;
#[cfg(target_arch = "aarch64")]
const JUMP_SLOT: u32 = 1026;
#[cfg(target_arch = "aarch64")]
const GLOB_DAT: u32 = 1025;

/// What the dynamic section says about an object's relocations, addresses made absolute.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Dynamic {
    pub(crate) symtab: usize,
    pub(crate) strtab: usize,
    pub(crate) strsz: usize,
    pub(crate) jmprel: usize,
    pub(crate) pltrelsz: usize,
    pub(crate) rela: usize,
    pub(crate) relasz: usize,
}

/// Reads a dynamic section's entries (`(tag, value)` pairs, up to `DT_NULL`). Addresses below
/// `base` are file-relative (the loader did not relocate them: musl, read-only dynamic
/// sections) and get `base` added; glibc stores them relocated.
pub(crate) fn parse_dynamic(
    entries: impl IntoIterator<Item = (i64, u64)>,
    base: usize,
) -> Option<Dynamic> {
    let mut d = Dynamic::default();
    let mut pltrel_is_rela = true;
    let abs = |v: u64| -> usize {
        let v = v as usize;
        if v < base { v.wrapping_add(base) } else { v }
    };
    for (tag, val) in entries {
        match tag {
            DT_NULL => break,
            DT_SYMTAB => d.symtab = abs(val),
            DT_STRTAB => d.strtab = abs(val),
            DT_STRSZ => d.strsz = val as usize,
            DT_JMPREL => d.jmprel = abs(val),
            DT_PLTRELSZ => d.pltrelsz = val as usize,
            DT_RELA => d.rela = abs(val),
            DT_RELASZ => d.relasz = val as usize,
            DT_PLTREL => pltrel_is_rela = val == DT_RELA as u64,
            _ => {}
        }
    }
    if !pltrel_is_rela {
        d.jmprel = 0;
        d.pltrelsz = 0;
    }
    (d.symtab != 0 && d.strtab != 0).then_some(d)
}

/// One rewritten entry, to be put back.
#[derive(Debug, Clone)]
struct Patched {
    slot: usize,
    original: usize,
    hook: usize,
    relro: bool,
}

/// An object whose entries were rewritten: identified by its load address and dynamic section
/// (a later object loaded at the same address after a `dlclose` has another dynamic section).
#[derive(Debug)]
struct Object {
    base: usize,
    dynamic: usize,
    patched: Vec<Patched>,
}

/// The hooks to install: `(symbol, hook address)`, set by [`install`].
static HOOKS: Mutex<Vec<(&'static str, usize)>> = Mutex::new(Vec::new());
/// Objects patched so far and their entries.
static PATCHED: Mutex<Vec<Object>> = Mutex::new(Vec::new());
/// The system page size.
static PAGE: AtomicUsize = AtomicUsize::new(0);

fn page() -> usize {
    let p = PAGE.load(Relaxed);
    if p != 0 {
        return p;
    }
    // SAFETY: sysconf has no preconditions.
    let p = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) })
        .ok()
        .filter(|&p| p > 0)
        .unwrap_or(4096);
    PAGE.store(p, Relaxed);
    p
}

/// Objects left alone: the C library and loader (their allocator calls are internal), the
/// unwinder the hooks use, the vDSO.
fn skipped(name: &str) -> bool {
    let base = name.rsplit('/').next().unwrap_or(name);
    [
        "libc.so",
        "libc-",
        "ld-linux",
        "ld64.so",
        "ld-musl",
        "libgcc_s",
        "libunwind",
        "linux-vdso",
        "linux-gate",
        "libpthread.so",
        "libdl.so",
    ]
    .iter()
    .any(|p| base.starts_with(p))
}

/// A loaded object as `dl_iterate_phdr` shows it.
struct Loaded<'a> {
    base: usize,
    name: &'a str,
    dynamic: usize,
    relro: (usize, usize),
    phdrs: &'a [libc::Elf64_Phdr],
}

/// Calls `f` for every loaded object with a dynamic section, under the loader's lock (no
/// object is unmapped meanwhile).
fn for_each_object(mut f: impl FnMut(&Loaded<'_>)) {
    unsafe extern "C" fn cb(
        info: *mut libc::dl_phdr_info,
        _size: libc::size_t,
        data: *mut c_void,
    ) -> c_int {
        // SAFETY: dl_iterate_phdr passes a valid info for the duration of the call, and `data`
        // is the `&mut dyn FnMut` passed below, alive for the whole iteration.
        unsafe {
            let f = &mut *data.cast::<&mut dyn FnMut(&Loaded<'_>)>();
            let info = &*info;
            let name = if info.dlpi_name.is_null() {
                ""
            } else {
                CStr::from_ptr(info.dlpi_name).to_str().unwrap_or("")
            };
            let base = info.dlpi_addr as usize;
            let phdrs = std::slice::from_raw_parts(info.dlpi_phdr, usize::from(info.dlpi_phnum));
            let mut dynamic = 0;
            let mut relro = (0, 0);
            for ph in phdrs {
                if ph.p_type == PT_DYNAMIC {
                    dynamic = base.wrapping_add(ph.p_vaddr as usize);
                } else if ph.p_type == PT_GNU_RELRO {
                    let p = page();
                    let start = base.wrapping_add(ph.p_vaddr as usize);
                    // As the loader protects it: whole pages from the start, the partial last
                    // page left writable.
                    relro = (start & !(p - 1), (start + ph.p_memsz as usize) & !(p - 1));
                }
            }
            if dynamic != 0 {
                f(&Loaded {
                    base,
                    name,
                    dynamic,
                    relro,
                    phdrs,
                });
            }
        }
        0
    }
    let mut f: &mut dyn FnMut(&Loaded<'_>) = &mut f;
    // SAFETY: the callback only reads what the loader hands it; `f` outlives the call.
    unsafe {
        libc::dl_iterate_phdr(Some(cb), std::ptr::from_mut(&mut f).cast());
    }
}

/// One GOT entry: the symbol it is for, its address, and the relocation that names it.
#[derive(Debug, Clone, Copy)]
struct Slot<'a> {
    symbol: &'a str,
    slot: usize,
    rela: usize,
}

/// The dynamic section of `obj`, parsed.
///
/// # Safety
/// `obj` must describe an object loaded now (called inside `for_each_object`).
unsafe fn dynamic_of(obj: &Loaded<'_>) -> Option<Dynamic> {
    // SAFETY: PT_DYNAMIC of a loaded object points at its mapped, DT_NULL-terminated dynamic
    // section.
    let entries = (0..).map_while(|i| {
        let d = unsafe { *(obj.dynamic as *const Dyn).add(i) };
        (d.tag != DT_NULL).then_some((d.tag, d.val))
    });
    parse_dynamic(entries, obj.base)
}

/// The GOT entry relocation `rela` of `obj` sets, if it is a `JUMP_SLOT` or `GLOB_DAT` one.
///
/// # Safety
/// `obj` must be loaded now and `rela` point into one of the relocation tables `d` (its parsed
/// dynamic section) names.
unsafe fn slot_of<'a>(obj: &Loaded<'a>, d: &Dynamic, rela: usize) -> Option<Slot<'a>> {
    // SAFETY: the relocation tables the dynamic section names are mapped (the loader just
    // applied them).
    let r = unsafe { *(rela as *const Rela) };
    let kind = (r.info & 0xffff_ffff) as u32;
    if kind != JUMP_SLOT && kind != GLOB_DAT {
        return None;
    }
    let sym = (r.info >> 32) as usize;
    // SAFETY: the symbol index of a relocation the loader applied is within the object's
    // dynamic symbol table, mapped.
    let s = unsafe { *(d.symtab as *const Sym).add(sym) };
    if d.strsz != 0 && s.name as usize >= d.strsz {
        return None;
    }
    // SAFETY: st_name is an offset into the mapped, NUL-terminated string table.
    let name = unsafe { CStr::from_ptr((d.strtab + s.name as usize) as *const libc::c_char) };
    Some(Slot {
        symbol: name.to_str().ok()?,
        slot: obj.base.wrapping_add(r.offset as usize),
        rela,
    })
}

/// The GOT entries of `obj` (`JUMP_SLOT` and `GLOB_DAT` relocations).
///
/// # Safety
/// `obj` must describe an object loaded now (called inside `for_each_object`).
unsafe fn slots<'a>(obj: &Loaded<'a>) -> Vec<Slot<'a>> {
    // SAFETY: as this function's.
    let Some(d) = (unsafe { dynamic_of(obj) }) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (table, size) in [(d.jmprel, d.pltrelsz), (d.rela, d.relasz)] {
        if table == 0 {
            continue;
        }
        for i in 0..size / std::mem::size_of::<Rela>() {
            let rela = table + i * std::mem::size_of::<Rela>();
            // SAFETY: entry `i` of a table of `size` bytes the dynamic section names.
            out.extend(unsafe { slot_of(obj, &d, rela) });
        }
    }
    out
}

/// The entries against hooked symbols found in one object before.
struct Scanned {
    base: usize,
    dynamic: usize,
    tables: Dynamic,
    hooked: Vec<&'static str>,
    slots: Vec<Slot<'static>>,
}

/// Every object's entries against hooked symbols, from earlier sessions: a Python process has
/// tens of thousands of relocations, and reading each one's symbol name costs about a
/// millisecond per session. An entry is used again only after its relocation was read again
/// and still names the same symbol and slot.
static SCANNED: Mutex<Vec<Scanned>> = Mutex::new(Vec::new());

/// The entries of `obj` against the symbols in `hooked`.
///
/// # Safety
/// `obj` must describe an object loaded now (called inside `for_each_object`).
unsafe fn hooked_slots(obj: &Loaded<'_>, hooked: &[&'static str]) -> Vec<Slot<'static>> {
    // SAFETY: as this function's.
    let Some(d) = (unsafe { dynamic_of(obj) }) else {
        return Vec::new();
    };
    let mut scanned = SCANNED.lock().unwrap_or_else(PoisonError::into_inner);
    let known = scanned.iter().position(|o| {
        o.base == obj.base && o.dynamic == obj.dynamic && o.tables == d && o.hooked == hooked
    });
    if let Some(i) = known {
        let still = scanned[i].slots.iter().all(|was| {
            // SAFETY: `was.rela` was read in this object's relocation tables, at the same
            // addresses with the same sizes now.
            unsafe { slot_of(obj, &d, was.rela) }
                .is_some_and(|s| s.symbol == was.symbol && s.slot == was.slot)
        });
        if still {
            return scanned[i].slots.clone();
        }
        scanned.swap_remove(i);
    }
    // SAFETY: as this function's.
    let found: Vec<Slot<'static>> = unsafe { slots(obj) }
        .into_iter()
        .filter_map(|s| {
            let &symbol = hooked.iter().find(|&&h| h == s.symbol)?;
            Some(Slot { symbol, ..s })
        })
        .collect();
    scanned.push(Scanned {
        base: obj.base,
        dynamic: obj.dynamic,
        tables: d,
        hooked: hooked.to_vec(),
        slots: found.clone(),
    });
    found
}

/// Stores `value` in the GOT entry at `slot`, making its page writable for the store when it is
/// in the object's RELRO range. Returns false when the page could not be made writable.
///
/// # Safety
/// `slot` must be a GOT entry of a loaded object.
unsafe fn store(slot: usize, value: usize, relro: bool) -> bool {
    let p = page();
    let pg = (slot & !(p - 1)) as *mut c_void;
    if relro {
        // SAFETY: a page of a loaded object's RELRO range.
        if unsafe { libc::mprotect(pg, p, libc::PROT_READ | libc::PROT_WRITE) } != 0 {
            return false;
        }
    }
    // SAFETY: a mapped, aligned, writable pointer-sized entry; an atomic store, so a thread
    // calling through it at the same time sees the old or the new address, never a mix.
    unsafe { (*(slot as *const AtomicUsize)).store(value, Relaxed) };
    if relro {
        // SAFETY: as above; back to read-only as the loader left it.
        unsafe { libc::mprotect(pg, p, libc::PROT_READ) };
    }
    true
}

/// Sets the hooks ([`install`] uses them, and [`patch_new`] for objects loaded later).
pub(crate) fn set_hooks(hooks: Vec<(&'static str, usize)>) {
    *HOOKS.lock().unwrap_or_else(PoisonError::into_inner) = hooks;
}

/// Rewrites the entries of every loaded object not yet patched; returns how many.
pub(crate) fn patch_new() -> usize {
    let hooks = HOOKS.lock().unwrap_or_else(PoisonError::into_inner).clone();
    if hooks.is_empty() {
        return 0;
    }
    let hooked: Vec<&'static str> = hooks.iter().map(|h| h.0).collect();
    let mut n = 0;
    let mut loaded = Vec::new();
    for_each_object(|obj| {
        if skipped(obj.name) {
            return;
        }
        loaded.push((obj.base, obj.dynamic));
        let mut patched = PATCHED.lock().unwrap_or_else(PoisonError::into_inner);
        if patched
            .iter()
            .any(|o| o.base == obj.base && o.dynamic == obj.dynamic)
        {
            return;
        }
        let mut object = Object {
            base: obj.base,
            dynamic: obj.dynamic,
            patched: Vec::new(),
        };
        // SAFETY: inside for_each_object: the object is loaded.
        for Slot { symbol, slot, .. } in unsafe { hooked_slots(obj, &hooked) } {
            let Some(&(_, hook)) = hooks.iter().find(|(h, _)| *h == symbol) else {
                continue;
            };
            // SAFETY: a GOT entry of a loaded object: mapped, aligned, readable.
            let original = unsafe { (*(slot as *const AtomicUsize)).load(Relaxed) };
            if original == hook {
                continue;
            }
            let relro = obj.relro.0 <= slot && slot < obj.relro.1;
            // SAFETY: as above.
            if unsafe { store(slot, hook, relro) } {
                object.patched.push(Patched {
                    slot,
                    original,
                    hook,
                    relro,
                });
                n += 1;
            }
        }
        patched.push(object);
    });
    // Objects unloaded since are forgotten.
    SCANNED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .retain(|o| loaded.contains(&(o.base, o.dynamic)));
    n
}

/// Puts back every rewritten entry of the objects still loaded (those unloaded meanwhile took
/// their entries with them); returns how many.
pub(crate) fn restore() -> usize {
    let mut n = 0;
    for_each_object(|obj| {
        let mut patched = PATCHED.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(i) = patched
            .iter()
            .position(|o| o.base == obj.base && o.dynamic == obj.dynamic)
        {
            let o = patched.swap_remove(i);
            for p in o.patched.iter().rev() {
                // SAFETY: the entry of an object still loaded (we are inside
                // for_each_object), patched by us.
                let now = unsafe { (*(p.slot as *const AtomicUsize)).load(Relaxed) };
                // Someone else rewrote it since (another tool): theirs now, leave it.
                if now == p.hook {
                    // SAFETY: as above.
                    unsafe { store(p.slot, p.original, p.relro) };
                    n += 1;
                }
            }
        }
    });
    PATCHED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clear();
    n
}

/// A loaded object: path (`""` for the program), load bias, mapped address ranges.
pub(crate) type Segments = (String, usize, Vec<(usize, usize)>);

/// Every loaded object as [`Segments`].
pub(crate) fn segments() -> Vec<Segments> {
    const PT_LOAD: u32 = 1;
    let mut out = Vec::new();
    for_each_object(|obj| {
        let ranges = obj
            .phdrs
            .iter()
            .filter(|ph| ph.p_type == PT_LOAD)
            .map(|ph| {
                let start = obj.base.wrapping_add(ph.p_vaddr as usize);
                (start, start.wrapping_add(ph.p_memsz as usize))
            })
            .collect();
        out.push((obj.name.to_owned(), obj.base, ranges));
    });
    out
}

/// The GOT entries for `symbol` in every loaded object, as they are now.
pub(crate) fn entries(symbol: &str) -> Vec<GotEntry> {
    let mut out = Vec::new();
    for_each_object(|obj| {
        // SAFETY: inside for_each_object: the object is loaded.
        for s in unsafe { slots(obj) } {
            if s.symbol == symbol {
                out.push(GotEntry {
                    object: obj.name.to_owned(),
                    symbol: s.symbol.to_owned(),
                    slot: s.slot,
                    // SAFETY: a GOT entry of a loaded object: mapped, aligned, readable.
                    value: unsafe { (*(s.slot as *const AtomicUsize)).load(Relaxed) },
                });
            }
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dynamic_entries_are_made_absolute_and_stop_at_null() {
        let base = 0x7f00_0000_0000;
        let d = parse_dynamic(
            [
                (DT_SYMTAB, 0x300),
                (DT_STRTAB, base as u64 + 0x400),
                (DT_STRSZ, 99),
                (DT_JMPREL, 0x500),
                (DT_PLTRELSZ, 48),
                (DT_PLTREL, DT_RELA as u64),
                (DT_NULL, 0),
                (DT_RELA, 0x600),
            ],
            base,
        )
        .unwrap();
        assert_eq!(d.symtab, base + 0x300);
        assert_eq!(d.strtab, base + 0x400);
        assert_eq!(d.jmprel, base + 0x500);
        assert_eq!(d.pltrelsz, 48);
        assert_eq!(d.rela, 0, "after DT_NULL");
    }

    #[test]
    fn rel_plt_tables_and_missing_symtab_are_refused() {
        let d = parse_dynamic(
            [
                (DT_SYMTAB, 0x300),
                (DT_STRTAB, 0x400),
                (DT_JMPREL, 0x500),
                (DT_PLTREL, 17),
            ],
            0,
        )
        .unwrap();
        assert_eq!((d.jmprel, d.pltrelsz), (0, 0));
        assert_eq!(parse_dynamic([(DT_STRTAB, 0x400)], 0), None);
    }

    #[test]
    fn libc_and_the_loader_are_left_alone() {
        assert!(skipped("/lib/x86_64-linux-gnu/libc.so.6"));
        assert!(skipped("/lib64/ld-linux-x86-64.so.2"));
        assert!(skipped("linux-vdso.so.1"));
        assert!(!skipped(""));
        assert!(!skipped("/tmp/libmyext.so"));
        assert!(!skipped("/usr/lib/libcurl.so.4"));
    }
}
