//! Emptying the calling thread's glibc tcache before measuring.
//!
//! glibc counts chunks parked in the per-thread tcache as "in use" in `mallinfo2().uordblks`, so a
//! leaking `malloc` served from the tcache does not move `heap_used`. Anything the harness or the
//! test runner freed before the check can sit there (up to 7 chunks per size class). Holding 8
//! chunks of every tcache size class for the duration of the check empties every bin, so the
//! function's mallocs come from the arena and show, unless the function itself frees chunks of
//! the same size (then at most 7 per size class stay hidden: use `disable_glibc_tcache`).
#![allow(unsafe_code)]

use std::ffi::c_void;

/// glibc's default `tcache_count` is 7; one more guarantees the bin is empty.
const PER_CLASS: usize = 8;
/// tcache bins cover chunk sizes 32..=1040 in steps of 16 (requests up to 1032 bytes).
const CLASSES: usize = 64;

pub(crate) struct Drain {
    held: Vec<*mut c_void>,
}

impl Drain {
    /// Takes every tcache bin of the calling thread empty. Allocates its own list first.
    pub(crate) fn new() -> Drain {
        let mut held = Vec::with_capacity(PER_CLASS * CLASSES);
        for class in 1..=CLASSES {
            // A request of 16k + 8 bytes is exactly a (16k + 16)-byte chunk.
            let size = 16 * class + 8;
            for _ in 0..PER_CLASS {
                // SAFETY: plain malloc; every non-null pointer is freed once, in Drop.
                let p = unsafe { libc::malloc(size) };
                if !p.is_null() {
                    held.push(p);
                }
            }
        }
        Drain { held }
    }
}

impl Drop for Drain {
    fn drop(&mut self) {
        for &p in &self.held {
            // SAFETY: each pointer came from malloc in `new` and is freed exactly once.
            unsafe { libc::free(p) };
        }
    }
}
