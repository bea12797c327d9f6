//! The commands outside Linux (Windows, macOS, FreeBSD): `info`, written
//! once over the library's OS-neutral API, with psutil 8's fields for the OS they run on. Their
//! `--json` has the Linux keys where the OS has the figure and leaves the key out (never 0 or
//! null) where it has not: no `pss`, `swap` or `cgroup` anywhere here; Windows's `num_handles`,
//! macOS's and FreeBSD's `uids`, `gids` and `num_fds`; no `uss` on FreeBSD, whose kernel gives
//! none (its `ps` shows RSS and VMS). The few fields only one OS has are chosen with `cfg` in place.
//!
//! `record`, `plot`, `cgroups`, `serve` and `--procfs`/`--sysfs` read Linux's `/proc` and
//! cgroups, so they are not built here. Only the Windows build is run (under Wine); the macOS and
//! FreeBSD builds are compiled, clippy-checked and linked, not run.

pub mod info;
