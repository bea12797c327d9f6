//! Shared by the integration tests.
#![allow(dead_code)]

pub mod child;
pub mod clib;
pub mod scenarios;

#[global_allocator]
static ALLOC: memsight::heap::CountingAlloc = memsight::heap::CountingAlloc::system();

/// The C test library, built under the test target's scratch directory.
pub fn clib() -> &'static clib::CLib {
    clib::load(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")))
}
