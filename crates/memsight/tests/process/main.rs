//! One process read from outside: memory, maps, identity, environment, info, errors, bytes that
//! are not UTF-8, a stalled FUSE mount, and the heap of programs memsight's own tests are not;
//! on Windows, macOS and FreeBSD their backends' tests. One test binary for the topic (each file
//! a module): every binary links the whole library with its debug info.
//!
//! Tests here run in parallel threads under `cargo test`; the ones that count this process's own
//! descriptors run in a child process of their own (`memsight_test_support::rerun`). The heap
//! figures of this process are tests/heap.rs's, and the exact allocation counts
//! tests/counting_alloc.rs's: separate binaries.

mod fuse_stalled;
mod heap_foreign;
mod info_fixtures;
mod info_process;
#[cfg(target_os = "linux")]
mod info_support;
mod info_without_task_io;
mod process_bytes;
mod process_environ;
mod process_errors;
mod process_fixtures;
mod process_identity;
mod process_many_maps;
mod process_memory;

#[cfg(target_os = "freebsd")]
mod freebsd;
#[cfg(target_os = "macos")]
mod macos;
#[cfg(windows)]
mod windows;

/// Not a test of its own: the body of the child process the Windows and macOS tests start
/// (this binary again, see `memsight_test_support::self_child`) when `MEMSIGHT_CHILD` is set.
#[cfg(any(windows, target_os = "macos"))]
#[test]
fn child_helper() {
    memsight_test_support::self_child::child_main();
}
