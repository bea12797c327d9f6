//! glibc's `mallinfo2` / `mallinfo` / `malloc_trim`, looked up with `dlsym` at run time.
#![allow(unsafe_code)]

use std::ffi::{CStr, c_int, c_void};
use std::sync::OnceLock;

use crate::error::{Error, Result};
use crate::heap::HeapInfo;

/// glibc's `struct mallinfo2` (2.33+): every field a `size_t`.
#[repr(C)]
#[allow(dead_code)] // the layout must match; only two fields are read
struct Mallinfo2 {
    arena: usize,
    ordblks: usize,
    smblks: usize,
    hblks: usize,
    hblkhd: usize,
    usmblks: usize,
    fsmblks: usize,
    uordblks: usize,
    fordblks: usize,
    keepcost: usize,
}

/// glibc's deprecated `struct mallinfo`: the same fields as `int`s.
#[repr(C)]
#[allow(dead_code)] // the layout must match; only two fields are read
struct Mallinfo {
    arena: c_int,
    ordblks: c_int,
    smblks: c_int,
    hblks: c_int,
    hblkhd: c_int,
    usmblks: c_int,
    fsmblks: c_int,
    uordblks: c_int,
    fordblks: c_int,
    keepcost: c_int,
}

/// The functions found in the running process, or why there are none.
enum Funcs {
    Found {
        mallinfo2: Option<unsafe extern "C" fn() -> Mallinfo2>,
        mallinfo: Option<unsafe extern "C" fn() -> Mallinfo>,
        malloc_trim: unsafe extern "C" fn(usize) -> c_int,
    },
    Missing(&'static str),
}

fn lookup(name: &CStr) -> *mut c_void {
    // SAFETY: dlsym with RTLD_DEFAULT and a NUL-terminated name only reads the loaded symbol tables.
    unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) }
}

fn funcs() -> &'static Funcs {
    static FUNCS: OnceLock<Funcs> = OnceLock::new();
    FUNCS.get_or_init(|| {
        let trim = lookup(c"malloc_trim");
        if trim.is_null() {
            return Funcs::Missing("malloc_trim not found: the C library is not glibc");
        }
        // If `malloc` was interposed (LD_PRELOAD of jemalloc, tcmalloc, ...), glibc's statistics
        // describe an idle heap.
        if malloc_replaced() {
            return Funcs::Missing("malloc is not glibc's (replaced by another allocator)");
        }
        let mi2 = lookup(c"mallinfo2");
        let mi = lookup(c"mallinfo");
        // SAFETY: these symbols are glibc's functions with exactly these C signatures
        // (malloc.h); a null pointer is mapped to None.
        unsafe {
            Funcs::Found {
                mallinfo2: (!mi2.is_null()).then(|| {
                    std::mem::transmute::<*mut c_void, unsafe extern "C" fn() -> Mallinfo2>(mi2)
                }),
                mallinfo: (!mi.is_null()).then(|| {
                    std::mem::transmute::<*mut c_void, unsafe extern "C" fn() -> Mallinfo>(mi)
                }),
                malloc_trim: std::mem::transmute::<
                    *mut c_void,
                    unsafe extern "C" fn(usize) -> c_int,
                >(trim),
            }
        }
    })
}

/// `RTLD_DL_SYMENT` of `<dlfcn.h>`: `dladdr1` also gives the matching symbol table entry.
const RTLD_DL_SYMENT: c_int = 1;

/// `SHN_UNDEF` of `<elf.h>`: the section index of a symbol that is not defined in its object.
const SHN_UNDEF: u16 = 0;

/// An ELF symbol table entry (`Elf32_Sym`/`Elf64_Sym` of `<elf.h>`, by the pointer width).
#[cfg(target_pointer_width = "64")]
type ElfSym = libc::Elf64_Sym;
#[cfg(target_pointer_width = "32")]
type ElfSym = libc::Elf32_Sym;

/// `dladdr1(3)`'s signature (looked up at run time: it is a GNU extension).
type Dladdr1 =
    unsafe extern "C" fn(*const c_void, *mut libc::Dl_info, *mut *mut c_void, c_int) -> c_int;

/// What `dladdr1(addr, RTLD_DL_SYMENT)` says of an address: the file of the object holding it,
/// and whether the symbol found there is defined (`st_shndx != SHN_UNDEF`).
struct Holder {
    file: Vec<u8>,
    defined: Option<bool>,
}

fn holder(addr: *mut c_void) -> Option<Holder> {
    let f = lookup(c"dladdr1");
    if f.is_null() {
        return None;
    }
    // SAFETY: dladdr1 is glibc's function with exactly this signature (dlfcn.h).
    let dladdr1 = unsafe { std::mem::transmute::<*mut c_void, Dladdr1>(f) };
    // SAFETY: Dl_info is a plain C struct of pointers, all-zero is a valid value.
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    let mut sym: *mut c_void = std::ptr::null_mut();
    // SAFETY: valid out-pointers; dladdr1 only reads the loader's tables for `addr`.
    if unsafe { dladdr1(addr, &mut info, &mut sym, RTLD_DL_SYMENT) } == 0 {
        return None;
    }
    let file = if info.dli_fname.is_null() {
        Vec::new()
    } else {
        // SAFETY: dli_fname is the loader's NUL-terminated name of a loaded object, which
        // stays valid while the object is loaded (libc and the program are never unloaded).
        unsafe { CStr::from_ptr(info.dli_fname) }
            .to_bytes()
            .to_vec()
    };
    let defined = (!sym.is_null()).then(|| {
        // SAFETY: with RTLD_DL_SYMENT a non-null `sym` points at the ElfSym that matched.
        let sym = unsafe { &*(sym as *const ElfSym) };
        sym.st_shndx != SHN_UNDEF
    });
    Some(Holder { file, defined })
}

/// Whether the `malloc` this process calls is not glibc's own.
///
/// `dlsym(RTLD_DEFAULT, "malloc")` is not enough: in a non-PIE executable that takes malloc's
/// address (Debian's `/usr/bin/python3`), the executable's dynamic symbol table holds an
/// *undefined* `malloc` with a fixed value, the canonical address of its PLT stub, and the
/// dynamic linker answers with that stub, while the stub jumps to glibc's malloc. So the answer is
/// checked with `dladdr1`: a symbol that is not defined where it was found (`SHN_UNDEF`) is such a
/// stub, and then the objects of the global scope before libc (in load order: the program, the
/// `LD_PRELOAD`ed ones, their dependencies) are asked whether one defines `malloc` itself.
fn malloc_replaced() -> bool {
    // SAFETY: RTLD_NOLOAD only returns a handle if libc.so.6 is already loaded; the handle is
    // closed again below and the name is NUL-terminated.
    let libc_handle =
        unsafe { libc::dlopen(c"libc.so.6".as_ptr(), libc::RTLD_LAZY | libc::RTLD_NOLOAD) };
    if libc_handle.is_null() {
        return false;
    }
    // SAFETY: a valid handle from dlopen and a NUL-terminated name.
    let own = unsafe { libc::dlsym(libc_handle, c"malloc".as_ptr()) };
    // SAFETY: the handle came from the dlopen above and is closed once.
    unsafe { libc::dlclose(libc_handle) };
    let called = lookup(c"malloc");
    if own.is_null() || own == called {
        return false;
    }
    let Some(found) = holder(called) else {
        // No dladdr1: the two addresses differ and nothing tells a stub apart.
        return true;
    };
    if found.defined != Some(false) {
        return true;
    }
    let libc_file = holder(own).map(|h| h.file).unwrap_or_default();
    defined_before(&libc_file, own)
}

/// Whether an object loaded before `libc_file` (skipping the program, whose `malloc` is the
/// undefined stub) defines its own `malloc`, other than `own`.
fn defined_before(libc_file: &[u8], own: *mut c_void) -> bool {
    let mut files: Vec<Vec<u8>> = Vec::new();
    extern "C" fn each(info: *mut libc::dl_phdr_info, _size: usize, data: *mut c_void) -> c_int {
        // SAFETY: `data` is the `files` vector passed below, alive during dl_iterate_phdr, and
        // `info` is the loader's record for one object during this call.
        let (files, info) = unsafe { (&mut *(data as *mut Vec<Vec<u8>>), &*info) };
        let name = if info.dlpi_name.is_null() {
            Vec::new()
        } else {
            // SAFETY: dlpi_name is a NUL-terminated string of the loader.
            unsafe { CStr::from_ptr(info.dlpi_name) }
                .to_bytes()
                .to_vec()
        };
        files.push(name);
        0
    }
    // SAFETY: the callback only reads the records it is given and appends to `files`.
    unsafe { libc::dl_iterate_phdr(Some(each), (&mut files as *mut Vec<Vec<u8>>).cast()) };
    for file in files.iter().skip(1) {
        if file.as_slice() == libc_file {
            return false;
        }
        if file.is_empty() {
            continue;
        }
        let Ok(name) = std::ffi::CString::new(file.clone()) else {
            continue;
        };
        // SAFETY: RTLD_NOLOAD: a handle of an object already loaded, closed again below.
        let handle = unsafe { libc::dlopen(name.as_ptr(), libc::RTLD_LAZY | libc::RTLD_NOLOAD) };
        if handle.is_null() {
            continue;
        }
        // SAFETY: a valid handle and a NUL-terminated name.
        let found = unsafe { libc::dlsym(handle, c"malloc".as_ptr()) };
        // SAFETY: the handle came from the dlopen above and is closed once.
        unsafe { libc::dlclose(handle) };
        if found.is_null() || found == own {
            continue;
        }
        if holder(found).is_some_and(|h| h.file == *file && h.defined == Some(true)) {
            return true;
        }
    }
    false
}

pub(crate) fn info() -> Result<HeapInfo> {
    match funcs() {
        Funcs::Missing(why) => Err(Error::Unsupported((*why).to_owned())),
        Funcs::Found {
            mallinfo2: Some(f), ..
        } => {
            // SAFETY: glibc's mallinfo2 takes no arguments and returns the struct by value.
            let m = unsafe { f() };
            Ok(HeapInfo {
                heap_used: m.uordblks as u64,
                mmap_used: m.hblkhd as u64,
                allocator: "glibc",
                legacy_mallinfo: false,
            })
        }
        Funcs::Found {
            mallinfo: Some(f), ..
        } => {
            // SAFETY: glibc's mallinfo takes no arguments and returns the struct by value.
            let m = unsafe { f() };
            // The int fields wrap past 2 GiB; reading them as u32 keeps up to 4 GiB right.
            Ok(HeapInfo {
                heap_used: u64::from(m.uordblks as u32),
                mmap_used: u64::from(m.hblkhd as u32),
                allocator: "glibc",
                legacy_mallinfo: true,
            })
        }
        Funcs::Found { .. } => Err(Error::Unsupported(
            "neither mallinfo2 nor mallinfo is exported by the C library".to_owned(),
        )),
    }
}

pub(crate) fn trim() -> Result<bool> {
    match funcs() {
        Funcs::Missing(why) => Err(Error::Unsupported((*why).to_owned())),
        // SAFETY: glibc's malloc_trim(size_t pad) is safe to call at any time.
        Funcs::Found { malloc_trim, .. } => Ok(unsafe { malloc_trim(0) } != 0),
    }
}
