//! The leak harness on leaks that must be caught and clean functions that must pass, with
//! `CountingAlloc` as the global allocator: one test binary (each file a module), since every
//! binary links memsight, the harness and their debug info. Run it under nextest, which gives each
//! test a process of its own: a check measures the whole process. The binaries beside it differ in
//! process-wide state: tests/no_counting_alloc.rs runs without `CountingAlloc`, tests/windows.rs
//! serializes its tests for `cargo test` under Wine.
//!
//! glibc's tcache is switched off per test (`disable_glibc_tcache` re-executes the test's own
//! process, which under nextest runs that test alone), so its tests live here too.

#[cfg(not(windows))]
mod common;

mod attribution;
mod caught;
mod dogfood;
mod false_positives;
mod fds_closed;
mod limits;
mod options;
mod passed;
mod plot;
mod sites;
mod sweep;
mod tcache_off;

#[global_allocator]
static ALLOC: memsight::heap::CountingAlloc = memsight::heap::CountingAlloc::system();
