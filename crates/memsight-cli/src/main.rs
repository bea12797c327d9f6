//! The `memsight` command: glue between the command line and the `memsight` library.
//!
//! Exit status: 0 on success, 1 on a runtime error (message on stderr as `memsight: ...`),
//! 2 on a usage error. A closed stdout (`memsight ps | head -1`) ends the command quietly.

#![warn(clippy::unwrap_used, clippy::expect_used)]

mod cgroups;
mod free;
mod info;
mod maps;
mod output;
mod ps;
#[cfg(feature = "serve")]
mod serve;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The truth about memory on Linux.
#[derive(Debug, Parser)]
#[command(name = "memsight", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// System memory and swap, as procps `free` shows them.
    Free(free::Args),
    /// Processes by unique (USS) and proportional (PSS) memory, like smem.
    Ps(ps::Args),
    /// Everything known about one process, like psutil's procinfo.
    Info(info::Args),
    /// A process's memory mappings, like `pmap -x`.
    Maps(maps::Args),
    /// Every memory cgroup's usage, working set and limit, like systemd-cgtop.
    Cgroups(cgroups::Args),
    /// Prometheus exporter: system, cgroup and per-process memory on /metrics.
    #[cfg(feature = "serve")]
    Serve(serve::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut out = io::BufWriter::new(io::stdout().lock());
    let result = match &cli.command {
        Command::Free(args) => free::run(args, &mut out),
        Command::Ps(args) => ps::run(args, &mut out),
        Command::Info(args) => info::run(args, &mut out),
        Command::Maps(args) => maps::run(args, &mut out),
        Command::Cgroups(args) => cgroups::run(args, &args.procfs(), &mut out),
        #[cfg(feature = "serve")]
        Command::Serve(args) => serve::run(args, &mut out),
    }
    .and_then(|()| out.flush().map_err(anyhow::Error::from));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if output::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            let _ = writeln!(io::stderr(), "memsight: {err:#}");
            ExitCode::FAILURE
        }
    }
}
