//! `memsight info` (being built).

use std::io::Write;

/// Options of `memsight info`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `memsight info`.
pub fn run(_args: &Args, _out: &mut impl Write) -> anyhow::Result<()> {
    anyhow::bail!("`memsight info` is not built yet")
}
