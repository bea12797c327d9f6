//! Memory mappings: `memory_maps()` from `/proc/PID/smaps`.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use crate::error::{Error, Result};
use crate::sys::process::Process;
use crate::sys::procfs::smaps::{self, SmapsEntry};

/// One memory mapping of a process (or, grouped, every mapping of one path), from
/// `/proc/PID/smaps`. Sizes are bytes. psutil's `pmmap_ext` (`pmmap_grouped` when grouped).
///
/// `addr` and `perms` are empty strings in grouped records, and are then left out of the serde
/// output, so grouped JSON has exactly psutil's `pmmap_grouped` keys.
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
    /// memory. A ` (deleted)` suffix is removed unless a file with that literal name exists.
    pub path: String,
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
    /// The process's memory mappings from `/proc/PID/smaps` (cached inside
    /// [`oneshot`](Self::oneshot)), in address order; with `grouped`, one record per path with the
    /// sizes summed, in first-seen order and with empty `addr`/`perms`. psutil's rules: paths keep
    /// their spaces, a missing path is `[anon]`, missing keys are 0, an empty `VmFlags:` is fine.
    ///
    /// A kernel thread has no mappings (an empty list); a zombie gives
    /// [`Error::ZombieProcess`]; another user's process gives [`Error::AccessDenied`]. This is the
    /// slowest getter: the kernel walks every mapping's page tables.
    ///
    /// ```
    /// let me = memsight::Process::current()?;
    /// let maps = me.memory_maps(true)?;
    /// assert!(maps.iter().any(|m| m.path == "[stack]"));
    /// # Ok::<(), memsight::Error>(())
    /// ```
    pub fn memory_maps(&self, grouped: bool) -> Result<Vec<MemoryMap>> {
        let entries = self.read_file("smaps", smaps::parse)?;
        if entries.is_empty() && self.is_zombie() {
            return Err(Error::ZombieProcess {
                pid: self.pid(),
                name: None,
            });
        }
        let maps = entries.into_iter().map(to_map);
        if !grouped {
            return Ok(maps.collect());
        }
        let mut groups: Vec<MemoryMap> = Vec::new();
        let mut index: std::collections::HashMap<String, usize> = Default::default();
        for map in maps {
            match index.get(&map.path) {
                Some(&i) => groups[i].sizes.add(&map.sizes),
                None => {
                    index.insert(map.path.clone(), groups.len());
                    groups.push(MemoryMap {
                        addr: String::new(),
                        perms: String::new(),
                        ..map
                    });
                }
            }
        }
        Ok(groups)
    }
}

const DELETED: &[u8] = b" (deleted)";

fn to_map(e: SmapsEntry) -> MemoryMap {
    let path = match &e.path[..] {
        b"" => "[anon]".to_string(),
        path => {
            let path = match path.strip_suffix(DELETED) {
                // psutil #759: keep the suffix only if a file by that literal name exists.
                Some(stripped) if std::fs::metadata(OsStr::from_bytes(path)).is_err() => stripped,
                _ => path,
            };
            String::from_utf8_lossy(path).into_owned()
        }
    };
    MemoryMap {
        addr: String::from_utf8_lossy(&e.addr).into_owned(),
        perms: String::from_utf8_lossy(&e.perms).into_owned(),
        path,
        sizes: e.sizes,
    }
}
