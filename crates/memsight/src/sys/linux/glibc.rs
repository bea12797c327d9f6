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
        // describe an idle heap: compare the `malloc` everyone calls with libc.so.6's own.
        // SAFETY: RTLD_NOLOAD only returns a handle if libc.so.6 is already loaded; the handle is
        // closed again below and the name is NUL-terminated.
        let libc_handle = unsafe {
            libc::dlopen(
                c"libc.so.6".as_ptr(),
                libc::RTLD_LAZY | libc::RTLD_NOLOAD,
            )
        };
        if !libc_handle.is_null() {
            // SAFETY: a valid handle from dlopen and a NUL-terminated name.
            let own = unsafe { libc::dlsym(libc_handle, c"malloc".as_ptr()) };
            // SAFETY: the handle came from the dlopen above and is closed once.
            unsafe { libc::dlclose(libc_handle) };
            if !own.is_null() && own != lookup(c"malloc") {
                return Funcs::Missing("malloc is not glibc's (replaced by another allocator)");
            }
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
