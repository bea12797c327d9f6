//! The `memsight` command: glue between the command line and the `memsight` library.
//!
//! Exit status: 0 on success, 1 on a runtime error (message on stderr as `memsight: ...`),
//! 2 on a usage error; `record` passes its command's status through (3: over a `--max-*` budget).
//! A closed pipe (`memsight ps | head -1`) ends the command quietly; a
//! closed stdout (`memsight ps >&-`) is a write error, as in procps.

#![warn(clippy::unwrap_used, clippy::expect_used)]

mod free;
mod host;
mod info;
mod maps;
mod output;
mod plot;
mod ps;
mod record;
mod recording;
mod size;
mod user;

// `free`, `ps`, `info` and `maps` are written once for every OS, over the library's neutral API
// (psutil's fields for the OS they run on), `record` over the library's sampler, and `plot`
// reads only a recording file; the other commands read Linux's cgroups, `top`'s `/proc` scan or
// serve HTTP, and exist only there, as do `--procfs`/`--sysfs`.
cfg_if::cfg_if! {
    if #[cfg(target_os = "linux")] {
        mod cgroups;
        mod roots;
        #[cfg(feature = "serve")]
        mod serve;
        mod top;
    }
}

use host::Host;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The truth about memory on Linux, Windows, macOS and FreeBSD.
#[derive(Debug, Parser)]
#[command(name = "memsight", version, about, propagate_version = true)]
#[command(after_help = output::JSON_BYTES_RULE)]
struct Cli {
    #[cfg(target_os = "linux")]
    #[command(flatten)]
    roots: roots::Roots,
    #[command(subcommand)]
    command: Command,
}

impl Cli {
    #[cfg(target_os = "linux")]
    fn host(&self) -> Host {
        self.roots.procfs()
    }

    #[cfg(not(target_os = "linux"))]
    fn host(&self) -> Host {
        Host
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// System memory and swap, as procps `free` shows them (elsewhere than Linux: psutil's fields).
    Free(free::Args),
    /// Processes by unique (USS) and proportional (PSS) memory, like smem.
    Ps(ps::Args),
    /// Everything known about one process, like psutil's procinfo.
    Info(info::Args),
    /// A process's memory mappings, like `pmap -x`.
    Maps(maps::Args),
    /// Memory of a process (tree) over time, with a peak budget, like mprof.
    Record(record::Args),
    /// Draws a recording of `memsight record` as SVG or PNG, like `mprof plot`.
    Plot(plot::Args),
    /// Every memory cgroup's usage, working set and limit, like systemd-cgtop (Linux only).
    #[cfg(target_os = "linux")]
    Cgroups(cgroups::Args),
    /// Prometheus exporter: system, cgroup and per-process memory on /metrics (Linux only).
    #[cfg(all(target_os = "linux", feature = "serve"))]
    Serve(serve::Args),
    /// Live view of memory with leak suspects named, like top and htop (Linux only).
    #[cfg(target_os = "linux")]
    Top(top::Args),
}

impl Command {
    /// Runs the command: its exit status, or the error to report.
    fn run(&self, host: &Host, out: &mut impl Write) -> anyhow::Result<u8> {
        match self {
            Command::Free(args) => free::run(args, host, out).map(|()| 0),
            Command::Ps(args) => ps::run(args, host, out).map(|()| 0),
            Command::Info(args) => info::run(args, host, out).map(|()| 0),
            Command::Maps(args) => maps::run(args, host, out).map(|()| 0),
            // The one command with its own exit status (CMD's, or the budget's).
            Command::Record(args) => record::run(args, host, out),
            Command::Plot(args) => plot::run(args, out).map(|()| 0),
            #[cfg(target_os = "linux")]
            Command::Cgroups(args) => cgroups::run(args, host, out).map(|()| 0),
            #[cfg(all(target_os = "linux", feature = "serve"))]
            Command::Serve(args) => serve::run(args, host, out).map(|()| 0),
            #[cfg(target_os = "linux")]
            Command::Top(args) => top::run(args, host, out).map(|()| 0),
        }
    }
}

/// Parses the command line. `--procfs`/`--sysfs` are global (accepted before or after the
/// command, and so listed in every command's help, saying they are not plot's) but mean nothing
/// to `plot`, which reads a recording file: giving them to it is a usage error.
fn parse() -> Cli {
    let cli = Cli::parse();
    #[cfg(target_os = "linux")]
    if matches!(cli.command, Command::Plot(_))
        && (cli.roots.procfs.is_some() || cli.roots.sysfs.is_some())
    {
        use clap::CommandFactory;
        Cli::command()
            .error(
                clap::error::ErrorKind::ArgumentConflict,
                "--procfs and --sysfs mean nothing to plot: it reads a recording file",
            )
            .exit();
    }
    cli
}

fn main() -> ExitCode {
    let cli = parse();
    if !output::stdout_is_open() {
        let _ = writeln!(
            io::stderr(),
            "memsight: write error: standard output is closed"
        );
        return ExitCode::FAILURE;
    }
    let host = cli.host();
    let mut out = io::BufWriter::new(io::stdout().lock());
    let result = cli
        .command
        .run(&host, &mut out)
        .and_then(|code| out.flush().map(|()| code).map_err(anyhow::Error::from));
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) if output::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            let _ = writeln!(io::stderr(), "memsight: {err:#}");
            ExitCode::FAILURE
        }
    }
}
