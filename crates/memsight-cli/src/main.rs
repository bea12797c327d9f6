//! The `memsight` command: glue between the command line and the `memsight` library.
//!
//! Exit status: 0 on success, 1 on a runtime error (message on stderr as `memsight: ...`),
//! 2 on a usage error; `record` passes its command's status through (3: over a `--max-*` budget).
//! A closed pipe (`memsight ps | head -1`) ends the command quietly; a
//! closed stdout (`memsight ps >&-`) is a write error, as in procps.

#![warn(clippy::unwrap_used, clippy::expect_used)]

mod output;

// Each OS's commands, chosen here once. Linux has them all; Windows, macOS and FreeBSD have `free`,
// `ps`, `info` and `maps` (src/portable/, written once over the library's neutral API), with
// psutil's fields for that OS and no `--procfs`/`--sysfs`.
cfg_if::cfg_if! {
    if #[cfg(target_os = "linux")] {
        mod cgroups;
        mod free;
        mod info;
        mod maps;
        mod plot;
        mod ps;
        mod record;
        mod recording;
        mod roots;
        mod size;
        #[cfg(feature = "serve")]
        mod serve;
        mod top;
        mod user;
        /// What every command reads the OS through: the `/proc` and `/sys` roots.
        type Host = memsight::linux::ProcFs;
    } else if #[cfg(any(windows, target_os = "macos", target_os = "freebsd"))] {
        mod portable;
        use portable::{free, info, maps, ps};
        /// What every command reads the OS through: nothing to choose outside Linux.
        type Host = portable::Host;
    }
}

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
        portable::Host
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
    #[cfg(target_os = "linux")]
    #[command(flatten)]
    Linux(LinuxCommand),
}

/// The commands that exist only on Linux (they read cgroups, `/proc` sampling or serve HTTP).
#[cfg(target_os = "linux")]
#[derive(Debug, Subcommand)]
enum LinuxCommand {
    /// Memory of a process (tree) over time, with a peak budget, like mprof (Linux only).
    Record(record::Args),
    /// Draws a recording of `memsight record` as SVG or PNG, like `mprof plot` (Linux only).
    Plot(plot::Args),
    /// Every memory cgroup's usage, working set and limit, like systemd-cgtop (Linux only).
    Cgroups(cgroups::Args),
    /// Prometheus exporter: system, cgroup and per-process memory on /metrics (Linux only).
    #[cfg(feature = "serve")]
    Serve(serve::Args),
    /// Live view of memory with leak suspects named, like top and htop (Linux only).
    Top(top::Args),
}

#[cfg(target_os = "linux")]
impl LinuxCommand {
    fn run(&self, procfs: &Host, out: &mut impl Write) -> anyhow::Result<u8> {
        match self {
            // The one command with its own exit status (CMD's, or the budget's).
            LinuxCommand::Record(args) => record::run(args, procfs, out),
            LinuxCommand::Plot(args) => plot::run(args, out).map(|()| 0),
            LinuxCommand::Cgroups(args) => cgroups::run(args, procfs, out).map(|()| 0),
            #[cfg(feature = "serve")]
            LinuxCommand::Serve(args) => serve::run(args, procfs, out).map(|()| 0),
            LinuxCommand::Top(args) => top::run(args, procfs, out).map(|()| 0),
        }
    }
}

/// Parses the command line. `--procfs`/`--sysfs` are global (accepted before or after the
/// command, and so listed in every command's help, saying they are not plot's) but mean nothing
/// to `plot`, which reads a recording file: giving them to it is a usage error.
fn parse() -> Cli {
    let cli = Cli::parse();
    #[cfg(target_os = "linux")]
    if matches!(cli.command, Command::Linux(LinuxCommand::Plot(_)))
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
    let result = match &cli.command {
        Command::Free(args) => free::run(args, &host, &mut out).map(|()| 0),
        Command::Ps(args) => ps::run(args, &host, &mut out).map(|()| 0),
        Command::Info(args) => info::run(args, &host, &mut out).map(|()| 0),
        Command::Maps(args) => maps::run(args, &host, &mut out).map(|()| 0),
        #[cfg(target_os = "linux")]
        Command::Linux(command) => command.run(&host, &mut out),
    }
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
