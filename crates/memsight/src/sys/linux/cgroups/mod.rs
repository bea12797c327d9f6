//! Every memory cgroup of the host, as `systemd-cgtop` and cAdvisor see them: usage, working set,
//! limits, swap, the `memory.stat` breakdown, events, pressure and processes, for cgroup v2
//! (unified), the v1 memory controller, and hybrid hosts. Also the system-wide memory pressure,
//! and ([`memory`]) the memory cgroup of one process.
//!
//! The parsers ([`stat`], [`name`] and the shared ones in `procfs::cgroup`) take bytes; this
//! module does the I/O: it finds the cgroup mounts in `<proc root>/self/mountinfo`, rebases them
//! under the sysfs root of the [`ProcFs`], and walks the directories.

mod memory;
pub(crate) mod name;
pub(crate) mod stat;

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use rustix::fs::{self, AtFlags, FileType, Mode, OFlags};

use crate::error::{Error, ParseError, Result};
use crate::sys::procfs::cgroup::{self as files, CgroupMount};
use crate::sys::procfs::{ProcFs, read_to_buffer, with_buffer};

pub use memory::{CgroupMemory, MemoryPressure, Pressure, cgroup_memory};
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

/// What a walk of the memory cgroup hierarchies found: the cgroups it read, and those it could
/// not (as `ps` counts the processes it was denied).
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct CgroupWalk {
    /// Every cgroup read, parents before children, siblings by name.
    pub cgroups: Vec<Cgroup>,
    /// Cgroups below a hierarchy's root that could not be read (permission denied, out of file
    /// descriptors), with their descendants: left out of `cgroups`, each named here.
    pub unreadable: Vec<UnreadableCgroup>,
}

/// A cgroup directory a walk could not read (see [`CgroupWalk::unreadable`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct UnreadableCgroup {
    /// The cgroup's path in its hierarchy, as in [`Cgroup::path`].
    pub path: String,
    /// Why: the operating system's error message.
    pub error: String,
}

impl ProcFs {
    /// Every memory cgroup under this view's sysfs root: the mounts come from
    /// `<proc root>/self/mountinfo` (the v1 hierarchy carrying `memory`, and the cgroup2 one),
    /// rebased under the sysfs root. On v2 a cgroup counts when it has `memory.current` (the root
    /// has none and is left out). A cgroup removed while the walk runs is skipped, and so is one
    /// that cannot be read ([`cgroups_walk`](Self::cgroups_walk) names those).
    ///
    /// Directories are opened relative to their parent's descriptor, so a cgroup whose path is
    /// longer than `PATH_MAX` is read like any other, and the walk keeps its own stack, so a
    /// hierarchy thousands of levels deep needs no deep call stack.
    pub fn cgroups(&self) -> Result<Vec<Cgroup>> {
        self.cgroups_to_depth(usize::MAX)
    }

    /// [`cgroups`](Self::cgroups) down to `max_depth` levels below each hierarchy's root (0 gives
    /// the roots only); deeper directories are not read at all.
    pub fn cgroups_to_depth(&self, max_depth: usize) -> Result<Vec<Cgroup>> {
        self.cgroups_walk(max_depth).map(|walk| walk.cgroups)
    }

    /// [`cgroups_to_depth`](Self::cgroups_to_depth), with the cgroups that could not be read.
    /// An error reading a hierarchy's root, or a file the kernel wrote that does not parse, is
    /// still an error.
    pub fn cgroups_walk(&self, max_depth: usize) -> Result<CgroupWalk> {
        let mounts = self.parse_proc("self/mountinfo", files::parse_mounts)?;
        let mut out = CgroupWalk::default();
        if let Some(mount) = mounts.v1_memory {
            Walk::new(self, &mount, 1, max_depth).run(mount.root.clone(), &mut out)?;
        }
        if let Some(mount) = mounts.v2 {
            Walk::new(self, &mount, 2, max_depth).run(mount.root.clone(), &mut out)?;
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

/// A directory still to read: by name under its parent's open descriptor (shared by its
/// siblings, closed when the last of them has been opened), or by path for a hierarchy's top.
struct Pending {
    parent: Option<Rc<OwnedFd>>,
    name: OsString,
    /// The full path under the sysfs root, for [`Cgroup::directory`] and error messages only.
    dir: PathBuf,
    path: String,
    depth: usize,
    parent_limit: Option<u64>,
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

    /// Depth first, parents before children, siblings by name, with an explicit stack.
    fn run(&self, root_path: String, out: &mut CgroupWalk) -> Result<()> {
        let mut stack = vec![Pending {
            parent: None,
            name: self.top.clone().into_os_string(),
            dir: self.top.clone(),
            path: root_path,
            depth: 0,
            parent_limit: None,
        }];
        while let Some(p) = stack.pop() {
            // Below the root, what cannot be read is named and skipped; at the root it is the
            // caller's error (no cgroup filesystem there, or no right to read it).
            let skip = |e: Error, out: &mut CgroupWalk| -> Result<()> {
                if p.depth == 0 {
                    return Err(e);
                }
                out.unreadable.push(UnreadableCgroup {
                    path: p.path.clone(),
                    error: match &e {
                        Error::Io { source, .. } => source.to_string(),
                        Error::AccessDenied { .. } => "permission denied".to_owned(),
                        other => other.to_string(),
                    },
                });
                Ok(())
            };
            let fd = match open_dir(p.parent.as_deref(), &p.name) {
                Ok(fd) => fd,
                Err(e) if is_absent(&e) => continue,
                Err(e) => {
                    skip(Error::from_io(None, &p.dir, e), out)?;
                    continue;
                }
            };
            let read = match self.version {
                1 => self.v1(&fd, &p),
                _ => self.v2(&fd, &p),
            };
            let read = match read {
                Ok(read) => read,
                Err(e @ (Error::Io { .. } | Error::AccessDenied { .. })) => {
                    skip(e, out)?;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let effective_limit = match read {
                Read::Found(cgroup) => {
                    let limit = cgroup.effective_limit;
                    out.cgroups.push(*cgroup);
                    limit
                }
                // The v2 root has no memory files but its children do; any other v2 directory
                // without them has no memory controller, and neither can its children.
                Read::NoMemory if p.depth == 0 => None,
                Read::NoMemory | Read::Vanished => continue,
            };
            if p.depth >= self.max_depth {
                continue;
            }
            let mut children = match child_dirs(&fd) {
                Ok(children) => children,
                Err(e) if is_absent(&e) => continue,
                Err(e) => {
                    skip(Error::from_io(None, &p.dir, e), out)?;
                    continue;
                }
            };
            children.sort();
            let fd = Rc::new(fd);
            // Reversed: the stack pops the first name first.
            for child in children.into_iter().rev() {
                let lossy = child.to_string_lossy();
                let path = if p.path.ends_with('/') {
                    format!("{}{lossy}", p.path)
                } else {
                    format!("{}/{lossy}", p.path)
                };
                stack.push(Pending {
                    parent: Some(Rc::clone(&fd)),
                    dir: p.dir.join(&child),
                    name: child,
                    path,
                    depth: p.depth + 1,
                    parent_limit: effective_limit,
                });
            }
        }
        Ok(())
    }

    fn v2(&self, fd: &OwnedFd, p: &Pending) -> Result<Read> {
        let (path, depth, parent_limit) = (p.path.clone(), p.depth, p.parent_limit);
        guard(fd, p, |dir| {
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
                directory: p.dir.clone(),
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

    fn v1(&self, fd: &OwnedFd, p: &Pending) -> Result<Read> {
        let (path, depth) = (p.path.clone(), p.depth);
        guard(fd, p, |dir| {
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
                directory: p.dir.clone(),
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

/// A cgroup directory open for reading its files by name.
struct At<'a> {
    fd: &'a OwnedFd,
    dir: &'a Path,
}

/// Runs `read` on the directory open as `fd`. A file or the directory gone (the cgroup was
/// removed meanwhile) gives [`Read::Vanished`], and so does a read that succeeded on a directory
/// that is gone after it (an optional file may have looked absent because of the removal). Every
/// other error is returned.
fn guard(
    fd: &OwnedFd,
    p: &Pending,
    read: impl FnOnce(&At<'_>) -> Result<Option<Cgroup>>,
) -> Result<Read> {
    match read(&At { fd, dir: &p.dir }) {
        Ok(Some(cgroup)) if still_there(p) => Ok(Read::Found(Box::new(cgroup))),
        Ok(Some(_)) => Ok(Read::Vanished),
        Ok(None) => Ok(Read::NoMemory),
        Err(Error::Io { source, .. }) if is_absent(&source) => Ok(Read::Vanished),
        Err(e) => Err(e),
    }
}

/// Whether the directory of `p` is still in its parent (by name, as it was opened).
fn still_there(p: &Pending) -> bool {
    let result = match &p.parent {
        Some(parent) => fs::statat(parent, &p.name, AtFlags::empty()),
        None => fs::stat(&p.dir),
    };
    !matches!(result, Err(e) if e == rustix::io::Errno::NOENT)
}

/// Opens a directory by name under `parent`, or by path without one.
fn open_dir(parent: Option<&OwnedFd>, name: &OsStr) -> io::Result<OwnedFd> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let fd = match parent {
        Some(parent) => fs::openat(parent, name, flags, Mode::empty()),
        None => fs::open(name, flags, Mode::empty()),
    };
    fd.map_err(io::Error::from)
}

/// The names of the subdirectories of the directory open as `fd`, unsorted.
fn child_dirs(fd: &OwnedFd) -> io::Result<Vec<OsString>> {
    let mut dir = fs::Dir::read_from(fd)?;
    let mut out = Vec::new();
    while let Some(entry) = dir.read() {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        if name == b"." || name == b".." {
            continue;
        }
        let is_dir = match entry.file_type() {
            FileType::Directory => true,
            FileType::Unknown => fs::statat(fd, entry.file_name(), AtFlags::SYMLINK_NOFOLLOW)
                .is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::Directory),
            _ => false,
        };
        if is_dir {
            out.push(OsStr::from_bytes(name).to_os_string());
        }
    }
    Ok(out)
}

fn required<T>(
    at: &At<'_>,
    name: &str,
    parse: impl FnOnce(&[u8]) -> Result<T, ParseError>,
) -> Result<T> {
    let path = || at.dir.join(name);
    with_buffer(|buf| {
        let file = fs::openat(at.fd, name, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
            .map_err(|e| Error::from_io(None, path(), e.into()))?;
        read_to_buffer(&mut std::fs::File::from(file), buf)
            .map_err(|e| Error::from_io(None, path(), e))?;
        parse(buf).map_err(|e| e.at(path()))
    })
}

/// Reads a file the kernel may not have (older kernel, accounting off): `None` when absent.
fn optional<T>(
    at: &At<'_>,
    name: &str,
    parse: impl FnOnce(&[u8]) -> Result<T, ParseError>,
) -> Result<Option<T>> {
    absent_is_none(required(at, name, parse))
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
        for version in [1, 2] {
            let walk = Walk {
                top: gone.to_path_buf(),
                version,
                max_depth: 3,
            };
            let mut out = CgroupWalk::default();
            walk.run("/".into(), &mut out).unwrap();
            assert_eq!(out, CgroupWalk::default());
        }
    }
}
