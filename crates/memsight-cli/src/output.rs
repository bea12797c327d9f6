//! Output helpers shared by the subcommands.

use std::io;

/// Whether `err` is (or wraps) a write to a closed pipe, which ends the command quietly.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}
