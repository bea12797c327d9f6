//! `memsight serve`, the Prometheus exporter, end to end: the real binary on loopback scraped by
//! plain HTTP, `promtool` and a real Prometheus; hostile clients and local users; the per-cgroup
//! series; the shipped rules, dashboard and alerts. One test binary for the topic (each file a
//! module), since every binary links the whole CLI with its debug info.
//!
//! Every test starts its own exporter (and Prometheus) in child processes on ports of their own,
//! and names the cgroups it makes after its file and this process: they run side by side under
//! `cargo test` as under nextest (one process per test, as CI runs them).

#![cfg(target_os = "linux")]
#![cfg(feature = "serve")]

#[path = "../support/mod.rs"]
mod support;

mod scrape;

mod serve;
mod serve_abuse;
mod serve_cgroups;
mod serve_fleet;
