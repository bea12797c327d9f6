//! Shared by the integration tests.
#![allow(dead_code)]

pub mod child;
mod settle;
// tests/windows.rs never calls it.
#[allow(unused_imports)]
pub use settle::settle_harness;
#[cfg(not(windows))]
pub mod clib;
#[cfg(not(windows))]
pub mod scenarios;

#[global_allocator]
static ALLOC: memsight::heap::CountingAlloc = memsight::heap::CountingAlloc::system();

/// The C test library, built under the test target's scratch directory. Every C scenario starts
/// here, so this also lets the test harness settle first (see [`settle_harness`]).
#[cfg(not(windows))]
pub fn clib() -> &'static clib::CLib {
    settle_harness();
    clib::load(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")))
}
