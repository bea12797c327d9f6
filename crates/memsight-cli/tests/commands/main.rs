//! The commands run as a user runs them (free, ps, info, maps, cgroups, record, plot, top, the
//! help text, JSON of bytes that are not UTF-8) and `scripts/test.sh`: one test binary for the
//! topic (each file a module), since every binary links the whole CLI with its debug info.
//! `memsight serve` has its own binary (tests/serve), the Windows build tests/windows.rs.
//!
//! Every test drives the `memsight` binary or a script in child processes of its own: none
//! changes this process's environment, cwd or signal dispositions, and none reads this process's
//! threads or memory, so they run side by side under `cargo test` as under nextest (one process
//! per test, as CI runs them). Paths come from `CARGO_MANIFEST_DIR` (the crate's root).

#![cfg(target_os = "linux")]

#[path = "../support/mod.rs"]
mod support;

mod hostile;

mod cgroups;
mod free;
mod help;
mod info;
mod json_bytes;
mod maps;
mod plot;
mod ps;
mod record;
mod test_script;
mod top;
