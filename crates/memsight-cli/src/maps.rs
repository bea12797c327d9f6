//! `memsight maps` (being built).

use std::io::Write;

/// Options of `memsight maps`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `memsight maps`.
pub fn run(_args: &Args, _out: &mut impl Write) -> anyhow::Result<()> {
    anyhow::bail!("`memsight maps` is not built yet")
}
