//! The memory of a process's cgroup (v1 and v2): limit, usage, working set, peak, swap, OOM
//! events and pressure. psutil has no equivalent (psutil #2100).

use std::path::{Path, PathBuf};

use crate::error::{Error, ParseError, Result};
use crate::sys::process::Process;
use crate::sys::procfs::cgroup::{self as files, CgroupMount};
use crate::sys::procfs::{ProcFs, parse_file};

pub use crate::sys::procfs::cgroup::{MemoryPressure, Pressure};

/// The memory controller's view of one cgroup, in bytes.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct CgroupMemory {
    /// The cgroup version: 1 (the `memory` controller of a v1 hierarchy) or 2 (unified).
    pub version: u8,
    /// The cgroup's path in its hierarchy, as in `/proc/PID/cgroup`.
    pub path: String,
    /// The directory the figures were read from, such as `/sys/fs/cgroup/memory/docker/abc`.
    pub directory: PathBuf,
    /// The memory limit in force: the smallest of this cgroup's and its ancestors' limits
    /// (`memory.max`, v1 `memory.limit_in_bytes`); `None` when unlimited or above `MemTotal`.
    pub limit: Option<u64>,
    /// Memory charged to the cgroup, page cache included (`memory.current`, v1
    /// `memory.usage_in_bytes`).
    pub usage: u64,
    /// `usage` minus inactive file pages (`memory.stat` `inactive_file`, v1 `total_inactive_file`),
    /// as Kubernetes defines the working set: what the OOM killer looks at.
    pub working_set: u64,
    /// The highest usage seen (`memory.peak`, kernel 5.19+; v1 `memory.max_usage_in_bytes`).
    pub peak: Option<u64>,
    /// Swap used by the cgroup (`memory.swap.current`; v1 `memory.stat` `total_swap`, present when
    /// swap is accounted: one counter, never the racy `memsw.usage_in_bytes - usage_in_bytes`).
    pub swap_usage: Option<u64>,
    /// The swap limit (`memory.swap.max`; v1 `memsw.limit_in_bytes - limit_in_bytes`); `None` when
    /// unlimited or not accounted.
    pub swap_limit: Option<u64>,
    /// Times the cgroup hit its limit and the OOM killer was invoked (`memory.events` `oom`; v2 only).
    pub oom: Option<u64>,
    /// Processes killed by the OOM killer (`memory.events` `oom_kill`; v1 `memory.oom_control`).
    pub oom_kill: Option<u64>,
    /// Memory pressure (`memory.pressure`; v2 with PSI enabled only).
    pub pressure: Option<MemoryPressure>,
}

/// The memory cgroup of the calling process; `None` when no memory controller is mounted or the
/// process sits in the v2 root (which has no memory files).
///
/// ```
/// if let Some(cg) = memsight::linux::cgroup_memory()? {
///     assert!(cg.working_set <= cg.usage);
/// }
/// # Ok::<(), memsight::Error>(())
/// ```
pub fn cgroup_memory() -> Result<Option<CgroupMemory>> {
    ProcFs::default().cgroup_memory()
}

impl Process {
    /// Backs [`crate::Process::memory_cgroup`], where it is documented with every OS's source.
    pub fn memory_cgroup(&self) -> Result<Option<String>> {
        let membership = self.read_file("cgroup", files::parse_membership)?;
        Ok(membership.v1_memory.or(membership.v2))
    }
}

impl ProcFs {
    /// [`cgroup_memory`] of the calling process, under this root.
    pub fn cgroup_memory(&self) -> Result<Option<CgroupMemory>> {
        self.cgroup_memory_at("self")
    }

    /// The memory cgroup of process `pid` (read through `/proc/PID/cgroup` and `mountinfo`).
    pub fn cgroup_memory_of(&self, pid: u32) -> Result<Option<CgroupMemory>> {
        self.cgroup_memory_at(&pid.to_string())
            .map_err(|e| match e {
                Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                    Error::NoSuchProcess { pid, name: None }
                }
                e => e,
            })
    }

    fn cgroup_memory_at(&self, who: &str) -> Result<Option<CgroupMemory>> {
        let membership = self.parse_proc(&format!("{who}/cgroup"), files::parse_membership)?;
        let mounts = self.parse_proc(&format!("{who}/mountinfo"), files::parse_mounts)?;
        let mem_total = self.virtual_memory()?.total;
        if let (Some(path), Some(mount)) = (membership.v1_memory, mounts.v1_memory) {
            let dir = self.cgroup_directory(&mount, &path);
            return v1(path, dir, &mount, self, mem_total).map(Some);
        }
        if let (Some(path), Some(mount)) = (membership.v2, mounts.v2) {
            let dir = self.cgroup_directory(&mount, &path);
            if dir.join("memory.current").exists() {
                return v2(path, dir, &mount, self, mem_total).map(Some);
            }
        }
        Ok(None)
    }

    /// The directory of cgroup `path` in the hierarchy mounted by `mount`, under this sysfs root.
    fn cgroup_directory(&self, mount: &CgroupMount, path: &str) -> PathBuf {
        let relative = if mount.root == "/" {
            path
        } else {
            path.strip_prefix(&mount.root).unwrap_or("")
        };
        self.mount_path(&mount.mount_point)
            .join(relative.trim_start_matches('/'))
    }

    /// A host mount point rebased onto this view's sysfs root (`/sys/fs/cgroup` stays itself by
    /// default, and moves under a fixture's sysfs root in tests).
    fn mount_path(&self, mount_point: &str) -> PathBuf {
        match Path::new(mount_point).strip_prefix("/sys") {
            Ok(rest) => self.sys_root().join(rest),
            Err(_) => PathBuf::from(mount_point),
        }
    }
}

fn read<T>(
    dir: &Path,
    name: &str,
    parse: impl FnOnce(&[u8]) -> Result<T, ParseError>,
) -> Result<T> {
    parse_file(&dir.join(name), parse)
}

/// Reads an optional file: `None` when it does not exist (older kernels, accounting turned off).
fn optional<T>(
    dir: &Path,
    name: &str,
    parse: impl FnOnce(&[u8]) -> Result<T, ParseError>,
) -> Result<Option<T>> {
    match read(dir, name, parse) {
        Ok(value) => Ok(Some(value)),
        Err(Error::Io { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound
                || source.raw_os_error() == Some(libc::EOPNOTSUPP) =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// The smallest limit of `dir` and its ancestors up to the mount point, ignoring "unlimited" and
/// anything at or above `mem_total` (v1 prints a huge page-aligned number for "no limit").
fn effective_limit(
    dir: &Path,
    top: &Path,
    file: &str,
    parse: fn(&[u8]) -> Result<Option<u64>, ParseError>,
    mem_total: u64,
) -> Result<Option<u64>> {
    let mut limit: Option<u64> = None;
    for ancestor in dir.ancestors().take_while(|a| a.starts_with(top)) {
        if let Some(Some(value)) = optional(ancestor, file, parse)? {
            limit = Some(limit.map_or(value, |l| l.min(value)));
        }
    }
    Ok(limit.filter(|&l| l < mem_total))
}

fn v2(
    path: String,
    dir: PathBuf,
    mount: &CgroupMount,
    procfs: &ProcFs,
    mem_total: u64,
) -> Result<CgroupMemory> {
    let top = procfs.mount_path(&mount.mount_point);
    let usage = read(&dir, "memory.current", files::parse_value)?;
    let inactive_file = read(&dir, "memory.stat", |d| {
        files::parse_keyed(d, b"inactive_file")
    })?;
    let events = optional(&dir, "memory.events", |d| {
        Ok((
            files::parse_keyed(d, b"oom")?,
            files::parse_keyed(d, b"oom_kill")?,
        ))
    })?;
    Ok(CgroupMemory {
        version: 2,
        path,
        limit: effective_limit(&dir, &top, "memory.max", files::parse_limit, mem_total)?,
        usage,
        working_set: usage.saturating_sub(inactive_file.unwrap_or(0)),
        peak: optional(&dir, "memory.peak", files::parse_value)?,
        swap_usage: optional(&dir, "memory.swap.current", files::parse_value)?,
        swap_limit: optional(&dir, "memory.swap.max", files::parse_limit)?.flatten(),
        oom: events.and_then(|e| e.0),
        oom_kill: events.and_then(|e| e.1),
        pressure: optional(&dir, "memory.pressure", files::parse_pressure)?,
        directory: dir,
    })
}

/// v1 prints "no limit" as the largest page-aligned counter (9223372036854771712 on x86-64);
/// anything from 2^62 up is treated as unlimited.
const V1_UNLIMITED: u64 = 1 << 62;

fn v1(
    path: String,
    dir: PathBuf,
    mount: &CgroupMount,
    procfs: &ProcFs,
    mem_total: u64,
) -> Result<CgroupMemory> {
    let top = procfs.mount_path(&mount.mount_point);
    let usage = read(&dir, "memory.usage_in_bytes", files::parse_value)?;
    // Swap is the kernel's own counter (`total_swap`, printed exactly when swap is accounted),
    // not memsw.usage_in_bytes - usage_in_bytes: two reads of two moving figures whose
    // difference can go negative or show swap that does not exist (seen on a host with no swap).
    let (inactive_file, swap_usage) = read(&dir, "memory.stat", |d| {
        Ok((
            files::parse_keyed(d, b"total_inactive_file")?
                .or(files::parse_keyed(d, b"inactive_file")?),
            files::parse_keyed(d, b"total_swap")?.or(files::parse_keyed(d, b"swap")?),
        ))
    })?;
    let limit = effective_limit(
        &dir,
        &top,
        "memory.limit_in_bytes",
        files::parse_limit,
        mem_total,
    )?;
    let own_limit = read(&dir, "memory.limit_in_bytes", files::parse_value)?;
    let memsw_limit = optional(&dir, "memory.memsw.limit_in_bytes", files::parse_value)?;
    Ok(CgroupMemory {
        version: 1,
        path,
        limit,
        usage,
        working_set: usage.saturating_sub(inactive_file.unwrap_or(0)),
        peak: optional(&dir, "memory.max_usage_in_bytes", files::parse_value)?,
        swap_usage,
        swap_limit: match (memsw_limit, own_limit) {
            (Some(both), own) if both < V1_UNLIMITED && own < V1_UNLIMITED => {
                Some(both.saturating_sub(own))
            }
            _ => None,
        },
        oom: None,
        oom_kill: optional(&dir, "memory.oom_control", |d| {
            files::parse_keyed(d, b"oom_kill")
        })?
        .flatten(),
        pressure: None,
        directory: dir,
    })
}
