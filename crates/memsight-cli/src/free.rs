//! `memsight free` (being built).

use std::io::Write;

/// Options of `memsight free`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `memsight free`.
pub fn run(_args: &Args, _out: &mut impl Write) -> anyhow::Result<()> {
    anyhow::bail!("`memsight free` is not built yet")
}
