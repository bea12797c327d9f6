//! Normalising the calling thread's glibc tcache before every sample.
//!
//! glibc counts chunks parked in the per-thread tcache as "in use" in `mallinfo2().uordblks`, so
//! a leaking `malloc` served from the tcache does not move `heap_used`, and chunks the function
//! frees into the tcache look like growth. Before every sample the harness mallocs `count + 1`
//! chunks of every tcache size class and frees them again: that leaves every bin holding exactly
//! `count` chunks (the surplus goes to the arena's bins, which mallinfo2 counts as free). With
//! the tcache in the same state at every sample, `heap_used` moves by exactly the live chunks
//! the function added. The calls go straight to libc, never through the Rust allocator.
#![allow(unsafe_code)]

use std::ffi::c_void;

/// tcache bins cover chunk sizes 32..=1040 in steps of 16 (requests up to 1032 bytes).
const CLASSES: usize = 64;

pub(crate) struct Normalizer {
    per_class: usize,
    slots: Box<[*mut c_void]>,
}

/// glibc's per-bin limit: `glibc.malloc.tcache_count` from GLIBC_TUNABLES, 7 by default.
fn tcache_count() -> usize {
    std::env::var("GLIBC_TUNABLES")
        .ok()
        .and_then(|t| {
            t.split(':').find_map(|kv| {
                kv.trim()
                    .strip_prefix("glibc.malloc.tcache_count=")
                    .and_then(|v| v.parse::<usize>().ok())
            })
        })
        .unwrap_or(7)
        .min(1024)
}

impl Normalizer {
    pub(crate) fn new() -> Normalizer {
        let per_class = tcache_count() + 1;
        Normalizer {
            per_class,
            slots: vec![std::ptr::null_mut(); per_class].into_boxed_slice(),
        }
    }

    /// Fills every tcache bin of this thread to exactly its limit. Allocation-free apart from the
    /// libc chunks it hands straight back.
    pub(crate) fn run(&mut self) {
        if self.per_class <= 1 {
            return; // tcache off
        }
        for class in 1..=CLASSES {
            // A request of 16k + 8 bytes is exactly a (16k + 16)-byte chunk.
            let size = 16 * class + 8;
            for slot in self.slots.iter_mut() {
                // SAFETY: plain malloc; every pointer is freed once in the loop below.
                *slot = unsafe { libc::malloc(size) };
            }
            for slot in self.slots.iter_mut() {
                // SAFETY: from malloc above (free(NULL) is a no-op), freed exactly once.
                unsafe { libc::free(*slot) };
                *slot = std::ptr::null_mut();
            }
        }
    }
}
