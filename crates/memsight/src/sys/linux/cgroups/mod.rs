//! Every memory cgroup of the host, as `systemd-cgtop` and cAdvisor see them: usage, working set,
//! limits, swap, the `memory.stat` breakdown, events, pressure and processes, for cgroup v2
//! (unified), the v1 memory controller, and hybrid hosts. Also the system-wide memory pressure.
//!
//! The parsers ([`stat`], [`name`] and the shared ones in `procfs::cgroup`) take bytes; this
//! module does the I/O: it finds the cgroup mounts in `<proc root>/self/mountinfo`, rebases them
//! under the sysfs root of the [`ProcFs`], and walks the directories.

mod name;
mod stat;

use std::io;
use std::path::{Path, PathBuf};

use crate::error::{Error, ParseError, Result};
use crate::sys::procfs::cgroup::{self as files, CgroupMount, MemoryPressure};
use crate::sys::procfs::{ProcFs, parse_file};

pub use stat::{CgroupMemoryEvents, CgroupMemoryStat, StatKind};

/// One memory cgroup: what its memory controller files say, in bytes.
///
/// Every figure covers the cgroup and its descendants (the kernel's hierarchical accounting),
/// except [`processes`](Self::processes).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Cgroup {
    /// The cgroup version: 1 (the v1 `memory` controller) or 2 (unified).
    pub version: u8,
    /// The cgroup's path in its hierarchy, as in `/proc/PID/cgroup` (`/` for the root,
    /// `/system.slice/sshd.service`). Lossy: bytes of a directory name that are not UTF-8 become
    /// U+FFFD; the exact bytes are the end of [`directory`](Self::directory).
    pub path: String,
    /// A human name where a convention gives one (`sshd.service`, `docker 4f3c1a2b9d8e`,
    /// `pod 8a1b... (burstable)`, `kubepods besteffort`), from the path alone; `None` otherwise.
    pub name: Option<String>,
    /// Levels below the hierarchy's root: 0 for `/`, 1 for `/system.slice`, ...
    pub depth: usize,
    /// The directory the figures were read from, under the sysfs root: the exact bytes.
    /// Serialized as `directory`, decoded as UTF-8 with U+FFFD, and `directory_bytes` with the
    /// exact bytes only when it is not UTF-8.
    #[cfg_attr(feature = "serde", serde(flatten, serialize_with = "directory_field"))]
    pub directory: PathBuf,
    /// Memory charged to the cgroup, page cache included (`memory.current`; v1
    /// `memory.usage_in_bytes`), in bytes.
    pub usage: u64,
    /// `usage` minus the inactive page cache (`memory.stat` `inactive_file`, v1
    /// `total_inactive_file`), floored at 0: the working set as the kubelet and cAdvisor compute
    /// it, the figure the OOM killer and evictions look at, in bytes.
    pub working_set: u64,
    /// The cgroup's own hard limit (`memory.max`; v1 `memory.limit_in_bytes`), in bytes; `None`
    /// when unlimited (`max`, or v1's huge page-aligned number).
    pub limit: Option<u64>,
    /// The limit in force: the smallest of this cgroup's and its ancestors' limits (v1
    /// `memory.stat` `hierarchical_memory_limit`), in bytes; `None` when none applies.
    pub effective_limit: Option<u64>,
    /// The throttling limit (`memory.high`; v2 only), in bytes; `None` when unlimited or on v1.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub high: Option<u64>,
    /// Best-effort protection from reclaim (`memory.low`; v2 only), in bytes; `max` (protect
    /// everything) is `u64::MAX`.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub low: Option<u64>,
    /// Hard protection from reclaim (`memory.min`; v2 only), in bytes; `max` is `u64::MAX`.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub min: Option<u64>,
    /// The highest usage seen (`memory.peak`, kernel 5.19+; v1 `memory.max_usage_in_bytes`), in
    /// bytes.
    pub peak: Option<u64>,
    /// Swap used (`memory.swap.current`; v1 `memory.stat` `total_swap`), in bytes; `None` when
    /// swap is not accounted.
    ///
    /// On v1 this is the kernel's own swap counter, one read of one file, not
    /// `memory.memsw.usage_in_bytes - memory.usage_in_bytes`: those are two reads of two moving
    /// figures, and their difference can go negative or show swap that does not exist (memory
    /// freed between the reads). The counter is printed exactly when swap is accounted.
    pub swap: Option<u64>,
    /// The swap limit (`memory.swap.max`; v1 `memory.memsw.limit_in_bytes` minus
    /// `memory.limit_in_bytes`, saturating, both limits being fixed settings), in bytes; `None`
    /// when unlimited or not accounted.
    pub swap_limit: Option<u64>,
    /// The `memory.stat` breakdown under the v2 names (v1 names mapped).
    pub stat: CgroupMemoryStat,
    /// Reclaim, limit and OOM events (`memory.events`; v1 `memory.failcnt` and
    /// `memory.oom_control`).
    pub events: CgroupMemoryEvents,
    /// Memory pressure (`memory.pressure`; v2 with PSI enabled only).
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub pressure: Option<MemoryPressure>,
    /// Processes directly in this cgroup, not its descendants (lines of `cgroup.procs`).
    pub processes: u64,
}

#[cfg(feature = "serde")]
crate::sys::exact::ser::path_field!(directory_field, "directory");

impl Cgroup {
    /// `working_set` as a percentage of `effective_limit`, rounded to one decimal as psutil's
    /// percentages are (0-100; more only in the moment before reclaim), or `None` when no limit
    /// applies.
    pub fn limit_percent(&self) -> Option<f64> {
        self.effective_limit
            .filter(|&l| l > 0)
            .map(|l| crate::sys::system::percent(self.working_set, l))
    }
}

/// Every memory cgroup of the host (v2, v1 memory controller, or both on a hybrid host), parents
/// before children, siblings by name. See [`ProcFs::cgroups`].
///
/// ```
/// for cg in memsight::linux::cgroups()? {
///     assert!(cg.working_set <= cg.usage);
/// }
/// # Ok::<(), memsight::Error>(())
/// ```
pub fn cgroups() -> Result<Vec<Cgroup>> {
    ProcFs::default().cgroups()
}

/// The system-wide memory pressure (`/proc/pressure/memory`, kernel 4.20+ with PSI enabled);
/// `None` when the kernel has no PSI.
pub fn memory_pressure() -> Result<Option<MemoryPressure>> {
    ProcFs::default().memory_pressure()
}

impl ProcFs {
    /// Every memory cgroup under this view's sysfs root: the mounts come from
    /// `<proc root>/self/mountinfo` (the v1 hierarchy carrying `memory`, and the cgroup2 one),
    /// rebased under the sysfs root. On v2 a cgroup counts when it has `memory.current` (the root
    /// has none and is left out). A cgroup removed while the walk runs is skipped.
    pub fn cgroups(&self) -> Result<Vec<Cgroup>> {
        self.cgroups_to_depth(usize::MAX)
    }

    /// [`cgroups`](Self::cgroups) down to `max_depth` levels below each hierarchy's root (0 gives
    /// the roots only); deeper directories are not read at all.
    pub fn cgroups_to_depth(&self, max_depth: usize) -> Result<Vec<Cgroup>> {
        let mounts = self.parse_proc("self/mountinfo", files::parse_mounts)?;
        let mut out = Vec::new();
        if let Some(mount) = mounts.v1_memory {
            let walk = Walk::new(self, &mount, 1, max_depth);
            walk.visit(walk.top.clone(), mount.root.clone(), 0, None, &mut out)?;
        }
        if let Some(mount) = mounts.v2 {
            let walk = Walk::new(self, &mount, 2, max_depth);
            walk.visit(walk.top.clone(), mount.root.clone(), 0, None, &mut out)?;
        }
        Ok(out)
    }

    /// [`memory_pressure`] under this view's procfs root (`<proc root>/pressure/memory`).
    pub fn memory_pressure(&self) -> Result<Option<MemoryPressure>> {
        absent_is_none(self.parse_proc("pressure/memory", files::parse_pressure))
    }
}

/// `Ok(None)` for a file that does not exist or that the kernel does not support.
fn absent_is_none<T>(result: Result<T>) -> Result<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(Error::Io { source, .. }) if is_absent(&source) => Ok(None),
        Err(e) => Err(e),
    }
}

/// ENOENT (removed, or not on this kernel), ENODEV (the cgroup went offline under an open file)
/// and EOPNOTSUPP (PSI or swap accounting off).
fn is_absent(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound
        || matches!(e.raw_os_error(), Some(libc::ENODEV | libc::EOPNOTSUPP))
}

/// `memory.low` and `memory.min`: bytes, or `max` (all of it) as `u64::MAX`.
fn protection(data: &[u8]) -> Result<u64, ParseError> {
    files::parse_limit(data).map(|v| v.unwrap_or(u64::MAX))
}

/// v1 prints "no limit" as the largest page-aligned counter (9223372036854771712 on x86-64);
/// anything from 2^62 up is treated as unlimited.
const V1_UNLIMITED: u64 = 1 << 62;

struct Walk {
    top: PathBuf,
    version: u8,
    max_depth: usize,
}

/// What reading one directory gave.
enum Read {
    /// A memory cgroup.
    Found(Box<Cgroup>),
    /// A v2 directory without memory files: no memory controller there.
    NoMemory,
    /// The directory went away while it was read (the cgroup was removed): skipped.
    Vanished,
}

impl Walk {
    fn new(procfs: &ProcFs, mount: &CgroupMount, version: u8, max_depth: usize) -> Walk {
        let top = match Path::new(&mount.mount_point).strip_prefix("/sys") {
            Ok(rest) => procfs.sys_root().join(rest),
            Err(_) => PathBuf::from(&mount.mount_point),
        };
        Walk {
            top,
            version,
            max_depth,
        }
    }

    fn visit(
        &self,
        dir: PathBuf,
        path: String,
        depth: usize,
        parent_limit: Option<u64>,
        out: &mut Vec<Cgroup>,
    ) -> Result<()> {
        let read = match self.version {
            1 => self.v1(&dir, path.clone(), depth),
            _ => self.v2(&dir, path.clone(), depth, parent_limit),
        };
        let effective_limit = match read? {
            Read::Found(cgroup) => {
                let limit = cgroup.effective_limit;
                out.push(*cgroup);
                limit
            }
            // The v2 root has no memory files but its children do; any other v2 directory
            // without them has no memory controller, and neither can its children.
            Read::NoMemory if depth == 0 => None,
            Read::NoMemory | Read::Vanished => return Ok(()),
        };
        if depth >= self.max_depth {
            return Ok(());
        }
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if is_absent(&e) => return Ok(()),
            Err(e) => return Err(Error::from_io(None, &dir, e)),
        };
        let mut children: Vec<(String, PathBuf)> = Vec::new();
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) if is_absent(&e) => return Ok(()),
                Err(e) => return Err(Error::from_io(None, &dir, e)),
            };
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                children.push((
                    entry.file_name().to_string_lossy().into_owned(),
                    entry.path(),
                ));
            }
        }
        children.sort();
        for (child, child_dir) in children {
            let child_path = if path.ends_with('/') {
                format!("{path}{child}")
            } else {
                format!("{path}/{child}")
            };
            self.visit(child_dir, child_path, depth + 1, effective_limit, out)?;
        }
        Ok(())
    }

    fn v2(
        &self,
        dir: &Path,
        path: String,
        depth: usize,
        parent_limit: Option<u64>,
    ) -> Result<Read> {
        guard(dir, |dir| {
            let Some(usage) = optional(dir, "memory.current", files::parse_value)? else {
                return Ok(None);
            };
            let stat = required(dir, "memory.stat", stat::parse_v2)?;
            let limit = optional(dir, "memory.max", files::parse_limit)?.flatten();
            let effective_limit = match (limit, parent_limit) {
                (Some(own), Some(parent)) => Some(own.min(parent)),
                (own, parent) => own.or(parent),
            };
            Ok(Some(Cgroup {
                version: 2,
                name: name::human_name(&path),
                path,
                depth,
                directory: dir.to_path_buf(),
                working_set: usage.saturating_sub(stat.inactive_file.unwrap_or(0)),
                usage,
                limit,
                effective_limit,
                high: optional(dir, "memory.high", files::parse_limit)?.flatten(),
                low: optional(dir, "memory.low", protection)?,
                min: optional(dir, "memory.min", protection)?,
                peak: optional(dir, "memory.peak", files::parse_value)?,
                swap: optional(dir, "memory.swap.current", files::parse_value)?,
                swap_limit: optional(dir, "memory.swap.max", files::parse_limit)?.flatten(),
                events: optional(dir, "memory.events", stat::parse_events)?.unwrap_or_default(),
                pressure: optional(dir, "memory.pressure", files::parse_pressure)?,
                processes: required(dir, "cgroup.procs", stat::parse_procs)?,
                stat,
            }))
        })
    }

    fn v1(&self, dir: &Path, path: String, depth: usize) -> Result<Read> {
        guard(dir, |dir| {
            let usage = required(dir, "memory.usage_in_bytes", files::parse_value)?;
            let stat = required(dir, "memory.stat", stat::parse_v1)?;
            let own = required(dir, "memory.limit_in_bytes", files::parse_value)?;
            let limited = |v: u64| (v < V1_UNLIMITED).then_some(v);
            let limit = limited(own);
            let memsw_limit = optional(dir, "memory.memsw.limit_in_bytes", files::parse_value)?;
            let oom_kill = optional(dir, "memory.oom_control", stat::parse_oom_control)?.flatten();
            Ok(Some(Cgroup {
                version: 1,
                name: name::human_name(&path),
                path,
                depth,
                directory: dir.to_path_buf(),
                working_set: usage.saturating_sub(stat.inactive_file.unwrap_or(0)),
                usage,
                limit,
                effective_limit: stat
                    .other
                    .get("hierarchical_memory_limit")
                    .copied()
                    .and_then(limited)
                    .or(limit),
                high: None,
                low: None,
                min: None,
                peak: optional(dir, "memory.max_usage_in_bytes", files::parse_value)?,
                swap: stat.swap,
                swap_limit: memsw_limit
                    .and_then(limited)
                    .and_then(|both| limit.map(|own| both.saturating_sub(own))),
                events: CgroupMemoryEvents {
                    max: optional(dir, "memory.failcnt", files::parse_value)?,
                    oom_kill,
                    ..CgroupMemoryEvents::default()
                },
                pressure: None,
                processes: required(dir, "cgroup.procs", stat::parse_procs)?,
                stat,
            }))
        })
    }
}

/// Runs `read` on `dir`. A file or the directory gone (the cgroup was removed meanwhile) gives
/// [`Read::Vanished`], and so does a read that succeeded on a directory that is gone after it (an
/// optional file may have looked absent because of the removal). Every other error is returned.
fn guard(dir: &Path, read: impl FnOnce(&Path) -> Result<Option<Cgroup>>) -> Result<Read> {
    match read(dir) {
        Ok(Some(cgroup)) if dir.exists() => Ok(Read::Found(Box::new(cgroup))),
        Ok(Some(_)) => Ok(Read::Vanished),
        Ok(None) => Ok(Read::NoMemory),
        Err(Error::Io { source, .. }) if is_absent(&source) => Ok(Read::Vanished),
        Err(e) => Err(e),
    }
}

fn required<T>(
    dir: &Path,
    name: &str,
    parse: impl FnOnce(&[u8]) -> Result<T, ParseError>,
) -> Result<T> {
    parse_file(&dir.join(name), parse)
}

/// Reads a file the kernel may not have (older kernel, accounting off): `None` when absent.
fn optional<T>(
    dir: &Path,
    name: &str,
    parse: impl FnOnce(&[u8]) -> Result<T, ParseError>,
) -> Result<Option<T>> {
    absent_is_none(required(dir, name, parse))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protection_max_is_everything() {
        assert_eq!(protection(b"max\n").unwrap(), u64::MAX);
        assert_eq!(protection(b"4096\n").unwrap(), 4096);
        assert!(protection(b"lots\n").is_err());
    }

    #[test]
    fn a_directory_that_is_gone_is_skipped_not_an_error() {
        let gone = Path::new("/nonexistent/memsight/cgroup");
        let walk = Walk {
            top: gone.to_path_buf(),
            version: 2,
            max_depth: 3,
        };
        let mut out = Vec::new();
        walk.visit(gone.join("a"), "/a".into(), 1, None, &mut out)
            .unwrap();
        let walk = Walk { version: 1, ..walk };
        walk.visit(gone.join("a"), "/a".into(), 1, None, &mut out)
            .unwrap();
        assert!(out.is_empty());
    }
}
