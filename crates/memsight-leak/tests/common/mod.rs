//! Shared by the integration tests.
#![allow(dead_code)]

pub mod child;
#[cfg(not(windows))]
pub mod clib;
#[cfg(not(windows))]
pub mod scenarios;

#[global_allocator]
static ALLOC: memsight::heap::CountingAlloc = memsight::heap::CountingAlloc::system();

/// The C test library, built under the test target's scratch directory.
#[cfg(not(windows))]
pub fn clib() -> &'static clib::CLib {
    clib::load(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")))
}
