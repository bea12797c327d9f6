//! Memory mappings: `memory_maps()` from `/proc/PID/smaps`.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::neutral::maps::{GroupableMap, group_maps};
use crate::sys::process::Process;
use crate::sys::process::files::{DELETED, held_file, strip_deleted};
use crate::sys::procfs::smaps::{self, SmapsEntry};

/// One memory mapping of a process (or, grouped, every mapping of one path), from
/// `/proc/PID/smaps`. Sizes are bytes. psutil's `pmmap_ext` (`pmmap_grouped` when grouped).
///
/// `addr` and `perms` are empty strings in grouped records, and are then left out of the serde
/// output, so grouped JSON has exactly psutil's `pmmap_grouped` keys. Serialized, `path_os`
/// appears as `path_bytes` (its exact bytes) only when the path is not UTF-8.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MemoryMap {
    /// `start-end` in lower-case hex without `0x` (`7f3a1c000000-7f3a1c021000`); empty when
    /// grouped.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "String::is_empty"))]
    pub addr: String,
    /// The permissions, four letters such as `r-xp` (`s` for shared); empty when grouped.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "String::is_empty"))]
    pub perms: String,
    /// The mapped file, a pseudo-path (`[heap]`, `[stack]`, `[vdso]`), or `[anon]` for anonymous
    /// memory. A ` (deleted)` suffix is removed when the mapped file is gone (decided without
    /// looking the path up: see [`Process::memory_maps`](crate::Process::memory_maps)). Lossy: bytes that are not UTF-8 become
    /// U+FFFD; `path_os` holds the exact bytes.
    pub path: String,
    /// [`path`](Self::path) as the exact bytes the kernel printed (after the same ` (deleted)`
    /// rule). Exact. Serialized as `path_bytes`, only when not UTF-8.
    #[cfg_attr(
        feature = "serde",
        serde(
            rename = "path_bytes",
            skip_serializing_if = "crate::sys::exact::IsUtf8::is_utf8",
            serialize_with = "crate::sys::exact::ser::bytes"
        )
    )]
    pub path_os: PathBuf,
    /// The sizes, flattened: their keys follow `path` in JSON, and `map.rss` reads them through
    /// `Deref`.
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub sizes: MapSizes,
}

/// The size fields of one `/proc/PID/smaps` block (or of several, summed), in bytes (the file's
/// kB × 1024; a key the kernel does not print is 0): what [`MemoryMap`] reports per mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MapSizes {
    /// Resident memory (`Rss`).
    pub rss: u64,
    /// Mapping size (`Size`).
    pub size: u64,
    /// Proportional set size (`Pss`).
    pub pss: u64,
    /// Resident pages shared with other processes, unmodified (`Shared_Clean`).
    pub shared_clean: u64,
    /// Resident pages shared with other processes, modified (`Shared_Dirty`).
    pub shared_dirty: u64,
    /// Resident pages used only by this process, unmodified (`Private_Clean`).
    pub private_clean: u64,
    /// Resident pages used only by this process, modified (`Private_Dirty`).
    pub private_dirty: u64,
    /// Pages marked accessed (`Referenced`).
    pub referenced: u64,
    /// Anonymous pages, file mappings' copy-on-write copies included (`Anonymous`).
    pub anonymous: u64,
    /// Swapped-out memory (`Swap`).
    pub swap: u64,
}

impl MapSizes {
    /// Adds `other` field by field, saturating.
    pub(crate) fn add(&mut self, other: &MapSizes) {
        self.rss = self.rss.saturating_add(other.rss);
        self.size = self.size.saturating_add(other.size);
        self.pss = self.pss.saturating_add(other.pss);
        self.shared_clean = self.shared_clean.saturating_add(other.shared_clean);
        self.shared_dirty = self.shared_dirty.saturating_add(other.shared_dirty);
        self.private_clean = self.private_clean.saturating_add(other.private_clean);
        self.private_dirty = self.private_dirty.saturating_add(other.private_dirty);
        self.referenced = self.referenced.saturating_add(other.referenced);
        self.anonymous = self.anonymous.saturating_add(other.anonymous);
        self.swap = self.swap.saturating_add(other.swap);
    }
}

impl std::ops::Deref for MemoryMap {
    type Target = MapSizes;

    fn deref(&self) -> &MapSizes {
        &self.sizes
    }
}

impl Process {
    /// Backs [`crate::Process::memory_maps`], where it is documented with every OS's source.
    pub fn memory_maps(&self, grouped: bool) -> Result<Vec<MemoryMap>> {
        let entries = self.read_file("smaps", smaps::parse)?;
        if entries.is_empty() && self.is_zombie() {
            return Err(Error::ZombieProcess {
                pid: self.pid(),
                name: None,
            });
        }
        let maps = entries.into_iter().map(|e| {
            let nlink = if e.path.ends_with(DELETED) {
                map_files_name(&e.addr)
                    .and_then(|name| held_file(&self.dir, &name))
                    .map(|h| h.nlink)
            } else {
                None
            };
            to_map(e, nlink)
        });
        if !grouped {
            return Ok(maps.collect());
        }
        Ok(group_maps(maps.collect()))
    }
}

impl GroupableMap for MemoryMap {
    type Key = PathBuf;

    fn group_key(&self) -> &PathBuf {
        &self.path_os
    }

    fn add(&mut self, m: &MemoryMap) {
        self.sizes.add(&m.sizes);
    }

    fn forget_address(&mut self) {
        self.addr.clear();
        self.perms.clear();
    }
}

/// The `/proc/PID/map_files` entry of a mapping whose smaps address is `addr`
/// (`00400000-00452000`): the kernel names it without zero padding (`400000-452000`).
fn map_files_name(addr: &[u8]) -> Option<String> {
    let addr = std::str::from_utf8(addr).ok()?;
    let (start, end) = addr.split_once('-')?;
    let start = u64::from_str_radix(start, 16).ok()?;
    let end = u64::from_str_radix(end, 16).ok()?;
    Some(format!("map_files/{start:x}-{end:x}"))
}

/// One record from one smaps block; `nlink` is the mapped file's link count when it was read
/// (only for a path ending in ` (deleted)`).
fn to_map(e: SmapsEntry, nlink: Option<u32>) -> MemoryMap {
    let path: &[u8] = match &e.path[..] {
        b"" => b"[anon]",
        path => strip_deleted(path, nlink),
    };
    MemoryMap {
        addr: String::from_utf8_lossy(&e.addr).into_owned(),
        perms: String::from_utf8_lossy(&e.perms).into_owned(),
        path: String::from_utf8_lossy(path).into_owned(),
        path_os: PathBuf::from(OsStr::from_bytes(path)),
        sizes: e.sizes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_files_names_are_unpadded() {
        assert_eq!(
            map_files_name(b"00400000-00452000").as_deref(),
            Some("map_files/400000-452000")
        );
        assert_eq!(
            map_files_name(b"7f3a1c000000-7f3a1c021000").as_deref(),
            Some("map_files/7f3a1c000000-7f3a1c021000")
        );
        assert_eq!(map_files_name(b"zz-1"), None);
        assert_eq!(map_files_name(b"12"), None);
    }
}
