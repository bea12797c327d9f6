//! `memsight serve`: a Prometheus exporter for system, cgroup and per-process memory.
//!
//! The pieces, each with one job:
//! - [`collect`] reads everything from the `memsight` library into a [`collect::Snapshot`];
//! - [`group`] folds processes into bounded groups (by name or user) and picks the top ones;
//! - [`exposition`] renders a snapshot in OpenMetrics (through `prometheus-client`) and in the
//!   classic Prometheus text format;
//! - [`labels`] bounds every label value taken from a process or the kernel;
//! - [`scan`] makes concurrent scrapes share one scan;
//! - [`conns`] bounds the connections and evicts the longest-idle one when they are all taken;
//! - [`http`] is the HTTP/1.1 server (hyper on a single-threaded tokio runtime): routing, content
//!   negotiation, timeouts and the connection limit.

mod cgroups;
mod collect;
mod conns;
mod exposition;
mod group;
mod gzip;
mod http;
mod labels;
mod listen;
mod scan;

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;

/// How processes are folded into the bounded `memsight_group_*` series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GroupBy {
    /// One group per process name (`/proc/PID/stat` comm), like process-exporter's default.
    Name,
    /// One group per user owning the process.
    User,
    /// No group series at all.
    None,
}

/// How many processes get their own `memsight_process_memory_bytes` series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Top {
    /// The N processes with the largest PSS (RSS where PSS cannot be read).
    Count(usize),
    /// Every process.
    All,
}

impl std::str::FromStr for Top {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "all" {
            return Ok(Top::All);
        }
        s.parse::<usize>()
            .map(Top::Count)
            .map_err(|_| format!("expected a number or `all`, got `{s}`"))
    }
}

/// Options of `memsight serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Address to listen on: `IP:PORT`, `[IPv6]:PORT`, `localhost:PORT` or `:PORT` (all
    /// interfaces). Loopback unless told otherwise: exposing process names and memory to the
    /// network is a decision to make explicitly (e.g. `--listen :9477`).
    #[arg(long, default_value = "127.0.0.1:9477", value_name = "ADDR:PORT", value_parser = listen::parse_listen)]
    pub listen: SocketAddr,

    /// Fold processes into `memsight_group_memory_bytes{groupname,memtype}` by process name, by
    /// user, or not at all. Groups keep label cardinality bounded on busy hosts.
    #[arg(long, value_enum, default_value = "name")]
    pub group_by: GroupBy,

    /// Export `memsight_process_memory_bytes{pid,name,memtype}` for the N processes with the
    /// largest PSS, or for `all` of them (one series per pid and memtype: mind the cardinality).
    #[arg(long, default_value = "50", value_name = "N|all")]
    pub top: Top,

    /// Also label per-process series with the command line (cut to 256 bytes). Off by default:
    /// command lines can carry secrets. Environment variables are never exported. Other label
    /// values are bounded too: name 128 bytes, user 64, cgroup path 256 (a longer path ends in `~`
    /// and a hash of the whole, so two stay distinct).
    #[arg(long)]
    pub cmdline: bool,

    /// Seconds a client may take to send its request headers before the connection is closed
    /// (slowloris protection); also the longest a keep-alive connection may sit idle.
    #[arg(long, default_value = "10", value_name = "SECONDS", value_parser = parse_seconds)]
    pub header_timeout: Duration,

    /// Longest a scrape waits for its scan, in seconds, before answering 503. Lowered to the
    /// scraper's own deadline when it sends `X-Prometheus-Scrape-Timeout-Seconds`.
    #[arg(long, default_value = "30", value_name = "SECONDS", value_parser = parse_seconds)]
    pub scrape_timeout: Duration,

    /// Seconds a finished scan is served again to scrapes that arrive after it, instead of starting
    /// a new one (0 scans afresh for every scrape that finds no scan running). Bounds the cost of
    /// many scrapers, and the latency tail of a busy machine, at the price of that much staleness.
    #[arg(long, default_value = "1", value_name = "SECONDS", value_parser = parse_seconds_or_zero)]
    pub max_age: Duration,

    /// Most client connections open at once. When all are taken, the one idle longest (between
    /// keep-alive requests, or not done sending its request) is closed to admit the newcomer;
    /// only when every one is being answered is the newcomer closed on accept.
    #[arg(long, default_value = "64", value_name = "N", value_parser = clap::value_parser!(u32).range(1..=65536))]
    pub max_connections: u32,

    /// Which cgroups get `memsight_cgroup_*` series.
    #[command(flatten)]
    pub cgroups: cgroups::CgroupArgs,
}

fn parse_seconds(s: &str) -> Result<Duration, String> {
    seconds_in(s, 0.001)
}

/// Like [`parse_seconds`], but 0 (never reuse a scan) is allowed.
fn parse_seconds_or_zero(s: &str) -> Result<Duration, String> {
    seconds_in(s, 0.0)
}

fn seconds_in(s: &str, least: f64) -> Result<Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("expected seconds, got `{s}`"))?;
    if !(least..=86_400.0).contains(&secs) {
        return Err(format!("expected {least} to 86400 seconds, got `{s}`"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Runs `memsight serve` until SIGINT or SIGTERM. Prints the bound address on `out` once the
/// socket listens (so `--listen 127.0.0.1:0` can be used to pick a free port).
pub fn run(
    args: &Args,
    procfs: &memsight::linux::ProcFs,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        // Scans run on the blocking pool; the coalescing in `scan` keeps it to one at a time.
        .max_blocking_threads(4)
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        // Signal handlers first, so a SIGTERM sent once "listening" is printed ends us cleanly.
        let shutdown = http::Shutdown::new().context("cannot install signal handlers")?;
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let addr = listener.local_addr()?;
        writeln!(out, "memsight serve: listening on http://{addr}/metrics")?;
        out.flush()?;
        if !addr.ip().is_loopback() {
            eprintln!(
                "memsight serve: warning: {addr} is reachable from other hosts; process names and memory are visible to them"
            );
        }
        let scanner = scan::Scanner::new(collect::Options::new(args, procfs.clone()));
        http::serve(listener, scanner, http::Limits::from(args), shutdown).await
    })
}
