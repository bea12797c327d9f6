//! A C-callable probe of `memsight::heap::info()`, built as a shared library so that the heap
//! tests can load it into programs memsight cannot otherwise be in: a non-PIE executable built
//! by the test, the distribution's own `python3` (through ctypes), a program with a replaced
//! `malloc`. `memsight_heap_probe()` returns 0 when `heap::info()` and `heap::trim()` answer,
//! 1 when they say the allocator is unsupported, 2 on another error; the message is on stderr.
// `no_mangle` is an unsafe attribute: the exported name must not clash, and it is unique here.
#![allow(unsafe_code)]

/// Runs `heap::info()` and `heap::trim()` in the calling process; see the file's doc.
#[unsafe(no_mangle)]
pub extern "C" fn memsight_heap_probe() -> i32 {
    let outcome = memsight::heap::info().and_then(|info| memsight::heap::trim().map(|_| info));
    match outcome {
        Ok(info) => {
            eprintln!("heap: {} {} bytes in use", info.allocator, info.heap_used);
            0
        }
        Err(memsight::Error::Unsupported(why)) => {
            eprintln!("heap: unsupported: {why}");
            1
        }
        Err(e) => {
            eprintln!("heap: error: {e}");
            2
        }
    }
}
