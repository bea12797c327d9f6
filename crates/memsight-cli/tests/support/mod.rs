//! What the CLI's integration tests share: the binary, fixture trees, child processes killed on
//! drop, and the skip-or-fail and root rules. Children with hostile names are tests/commands' own
//! (commands/hostile.rs); the HTTP client, `promtool` and Prometheus tests/serve's (serve/scrape.rs).
#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

/// A child process killed (and reaped) on drop.
pub struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The `memsight` binary under test.
pub fn memsight() -> Command {
    Command::new(env!("CARGO_BIN_EXE_memsight"))
}

/// A tree under the repository's `fixtures/`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(name)
}

// Skip-or-fail (fails under CI=true) and root: the same rules as the library's tests.
pub use memsight_test_support::{require_root, skip_or_fail};

/// Copies the directory tree `from` into `to`.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
