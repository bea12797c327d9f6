//! The global `--procfs DIR` / `--sysfs DIR` options: where every command reads the kernel's
//! files (node_exporter's `--path.procfs` / `--path.sysfs`, psutil's `PROCFS_PATH`), so a host's
//! `/proc` mounted elsewhere (in a container) can be read.
//!
//! A root is checked when the command line is parsed: a missing directory, or one that holds
//! nothing a procfs (or sysfs) has, is a usage error naming the flag, not a stream of errors later.

use std::path::{Path, PathBuf};

use memsight::linux::ProcFs;

/// The `--procfs` and `--sysfs` options, shared by every subcommand.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Roots {
    /// Read procfs from DIR instead of /proc. DIR must hold `meminfo`, `self` or a process directory
    /// (every command but plot, which reads a recording).
    #[arg(long, global = true, value_name = "DIR", value_parser = procfs_root)]
    pub procfs: Option<PathBuf>,
    /// Read sysfs (cgroups) from DIR instead of /sys. DIR must hold `fs` (every command but plot).
    #[arg(long, global = true, value_name = "DIR", value_parser = sysfs_root)]
    pub sysfs: Option<PathBuf>,
}

impl Roots {
    /// The library's handle on these roots (`/proc` and `/sys` where not given).
    pub fn procfs(&self) -> ProcFs {
        let procfs = ProcFs::new(
            self.procfs
                .clone()
                .unwrap_or_else(|| PathBuf::from("/proc")),
        );
        procfs.with_sys_root(self.sysfs.clone().unwrap_or_else(|| PathBuf::from("/sys")))
    }
}

/// Accepts a directory that looks like a procfs: it holds `meminfo`, `self`, or at least one
/// numeric (process) entry. Fixture trees with only some files pass; an empty or wrong directory does not.
fn procfs_root(arg: &str) -> Result<PathBuf, String> {
    let dir = existing_dir(arg)?;
    if dir.join("meminfo").exists() || dir.join("self").exists() {
        return Ok(dir);
    }
    let entries = std::fs::read_dir(&dir).map_err(|e| format!("cannot read {arg}: {e}"))?;
    let has_pid = entries.filter_map(Result::ok).any(|entry| {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit())
    });
    if has_pid {
        Ok(dir)
    } else {
        Err(format!(
            "{arg} is not a procfs: it has no meminfo, no self and no process directory"
        ))
    }
}

/// Accepts a directory that looks like a sysfs: it holds `fs` (where cgroups are mounted).
fn sysfs_root(arg: &str) -> Result<PathBuf, String> {
    let dir = existing_dir(arg)?;
    if dir.join("fs").is_dir() {
        Ok(dir)
    } else {
        Err(format!("{arg} is not a sysfs: it has no fs directory"))
    }
}

fn existing_dir(arg: &str) -> Result<PathBuf, String> {
    let dir = Path::new(arg);
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => Ok(dir.to_path_buf()),
        Ok(_) => Err(format!("{arg} is not a directory")),
        Err(e) => Err(format!("cannot use {arg}: {e}")),
    }
}
