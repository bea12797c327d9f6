//! Disk I/O counters: `/proc/diskstats` (or `/sys/block/*/stat`), psutil's `disk_io_counters`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::{Error, Result};
use crate::sys::procfs::diskstats::{self, DiskStat};
use crate::sys::procfs::{self, ProcFs};
use crate::sys::wrap::{self, WrapStates};

/// The kernel counts disk I/O in 512-byte sectors whatever the device's sector size.
const SECTOR_SIZE: u64 = 512;

/// I/O counters of one disk, or of all disks summed. psutil's `sdiskio`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct DiskIo {
    /// Reads completed.
    pub read_count: u64,
    /// Writes completed.
    pub write_count: u64,
    /// Bytes read (sectors read × 512).
    pub read_bytes: u64,
    /// Bytes written (sectors written × 512).
    pub write_bytes: u64,
    /// Time spent reading, in milliseconds.
    pub read_time: u64,
    /// Time spent writing, in milliseconds.
    pub write_time: u64,
    /// Reads merged with adjacent ones before reaching the device.
    pub read_merged_count: u64,
    /// Writes merged with adjacent ones.
    pub write_merged_count: u64,
    /// Time the device had I/O in flight (`io_ticks`), in milliseconds.
    pub busy_time: u64,
}

impl DiskIo {
    fn from_stat(d: &DiskStat) -> DiskIo {
        DiskIo {
            read_count: d.reads,
            write_count: d.writes,
            read_bytes: d.sectors_read.saturating_mul(SECTOR_SIZE),
            write_bytes: d.sectors_written.saturating_mul(SECTOR_SIZE),
            read_time: d.read_time,
            write_time: d.write_time,
            read_merged_count: d.reads_merged,
            write_merged_count: d.writes_merged,
            busy_time: d.busy_time,
        }
    }

    fn to_array(self) -> [u64; 9] {
        [
            self.read_count,
            self.write_count,
            self.read_bytes,
            self.write_bytes,
            self.read_time,
            self.write_time,
            self.read_merged_count,
            self.write_merged_count,
            self.busy_time,
        ]
    }

    fn from_array(a: [u64; 9]) -> DiskIo {
        let [
            read_count,
            write_count,
            read_bytes,
            write_bytes,
            read_time,
            write_time,
            read_merged_count,
            write_merged_count,
            busy_time,
        ] = a;
        DiskIo {
            read_count,
            write_count,
            read_bytes,
            write_bytes,
            read_time,
            write_time,
            read_merged_count,
            write_merged_count,
            busy_time,
        }
    }
}

/// What [`disk_io_counters`] returns: one total, or one record per device.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(untagged))]
pub enum DiskIoCounters {
    /// The sum over storage devices; `None` when there are none (psutil's `None`).
    Total(Option<DiskIo>),
    /// Every device line, partitions included, by name.
    PerDisk(BTreeMap<String, DiskIo>),
}

/// Disk I/O counters since boot, psutil's `disk_io_counters(perdisk, nowrap)`.
///
/// Lines of `/proc/diskstats` are read by field count (see the psutil reference); without that
/// file, every `stat` under `/sys/block` is read. With `perdisk` false, only devices listed in
/// `/sys/block` count (whole disks, loop, dm, md, zram; not partitions) and they are summed; with
/// `perdisk` true every line is returned. With `nowrap`, a counter that went down since the last
/// call (a 32-bit counter wrapped) has its previous value added from then on, per device and
/// field, before summing; [`disk_io_counters_cache_clear`] forgets those.
///
/// ```
/// let all = memsight::disk_io_counters(false, true)?;
/// if let memsight::DiskIoCounters::Total(Some(total)) = all {
///     assert!(total.read_bytes % 512 == 0);
/// }
/// # Ok::<(), memsight::Error>(())
/// ```
pub fn disk_io_counters(perdisk: bool, nowrap: bool) -> Result<DiskIoCounters> {
    ProcFs::default().disk_io_counters(perdisk, nowrap)
}

impl ProcFs {
    /// [`disk_io_counters`] under these procfs and sysfs roots.
    pub fn disk_io_counters(&self, perdisk: bool, nowrap: bool) -> Result<DiskIoCounters> {
        disk_io_counters_in(self, perdisk, nowrap)
    }
}

/// [`disk_io_counters`] under `procfs`.
fn disk_io_counters_in(procfs: &ProcFs, perdisk: bool, nowrap: bool) -> Result<DiskIoCounters> {
    let disks = read_disks(procfs)?;
    let mut raw: Vec<(String, [u64; 9])> = Vec::with_capacity(disks.len());
    for disk in &disks {
        if perdisk || is_storage_device(procfs, &disk.name) {
            raw.push((disk.name.clone(), DiskIo::from_stat(disk).to_array()));
        }
    }
    if nowrap {
        raw = wrap::run_keyed(&WRAP, (procfs.proc_root().to_path_buf(), perdisk), raw);
    }
    if perdisk {
        return Ok(DiskIoCounters::PerDisk(
            raw.into_iter()
                .map(|(name, a)| (name, DiskIo::from_array(a)))
                .collect(),
        ));
    }
    Ok(DiskIoCounters::Total(
        wrap::total(&raw).map(DiskIo::from_array),
    ))
}

/// Forgets what `nowrap` remembered (psutil's `disk_io_counters.cache_clear()`).
pub fn disk_io_counters_cache_clear() {
    wrap::clear(&WRAP);
}

type WrapKey = (PathBuf, bool);
static WRAP: WrapStates<WrapKey, 9> = Mutex::new(Vec::new());

/// psutil's `is_storage_device`: the name (with `/` as `!`) exists under `/sys/block`.
fn is_storage_device(procfs: &ProcFs, name: &str) -> bool {
    procfs
        .sys_root()
        .join(Path::new("block").join(name.replace('/', "!")))
        .exists()
}

fn read_disks(procfs: &ProcFs) -> Result<Vec<DiskStat>> {
    let path = procfs.proc_path("diskstats");
    match procfs::parse_file(&path, diskstats::parse) {
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            read_sys_block(procfs)
        }
        other => other,
    }
}

/// The `/sys/block` fallback: every `stat` file under each `/sys/block/DEV` (the disk and its
/// partitions), named after the directory holding it. Symlinks below `DEV` are not followed.
fn read_sys_block(procfs: &ProcFs) -> Result<Vec<DiskStat>> {
    let block = procfs.sys_root().join("block");
    let entries = std::fs::read_dir(&block).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::Unsupported(format!(
            "neither {} nor {} exists",
            procfs.proc_path("diskstats").display(),
            block.display()
        )),
        _ => Error::from_io(None, &block, e),
    })?;
    let mut disks = Vec::new();
    let mut stack: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    stack.sort();
    stack.reverse();
    while let Some(dir) = stack.pop() {
        let stat = dir.join("stat");
        if stat.is_file() {
            let name = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            disks.push(procfs::parse_file(&stat, |data| {
                diskstats::parse_sys_stat(data, &name)
            })?);
        }
        if let Ok(children) = std::fs::read_dir(&dir) {
            let mut subdirs: Vec<PathBuf> = children
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| e.path())
                .collect();
            subdirs.sort();
            subdirs.reverse();
            stack.extend(subdirs);
        }
    }
    Ok(disks)
}
