//! The C test library and the scenarios built on it (Linux, macOS, FreeBSD: loaded with dlopen).
//! `examples/scenarios.rs` includes the two files as well.

pub mod clib;
pub mod scenarios;

/// The C test library, built under the test target's scratch directory. Every C scenario starts
/// here, so this also lets the test harness settle first (see
/// [`memsight_test_support::settle_harness`]).
pub fn clib() -> &'static clib::CLib {
    memsight_test_support::settle_harness();
    clib::load(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")))
}
