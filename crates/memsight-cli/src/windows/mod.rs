//! The commands on Windows: `free`, `ps`, `info` and `maps` from the library's Windows backend,
//! with psutil 8's Windows fields. Their `--json` has the Linux keys where Windows has the figure
//! and leaves the key out (never 0 or null) where it has not: no `pss`, `swap` or `cgroup`, and
//! Windows's own `cached`, `wired`, `num_handles` and the region-based maps instead.
//!
//! `record`, `plot`, `cgroups`, `serve` and `--procfs`/`--sysfs` read Linux's `/proc` and
//! cgroups, so they are not built here.

pub mod free;
pub mod info;
pub mod maps;
pub mod ps;

/// What the commands read the OS through: on Windows there is no root to choose, so nothing.
#[derive(Debug, Clone, Copy)]
pub struct Host;
