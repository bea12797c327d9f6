//! `memsight ps` (being built).

use std::io::Write;

/// Options of `memsight ps`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `memsight ps`.
pub fn run(_args: &Args, _out: &mut impl Write) -> anyhow::Result<()> {
    anyhow::bail!("`memsight ps` is not built yet")
}
