//! Pure parsers for the per-cgroup memory files: `memory.stat` (v2 names, v1 names mapped onto
//! them), `memory.events` and `cgroup.procs`. No I/O here. See the kernel's
//! Documentation/admin-guide/cgroup-v2.rst and cgroup-v1/memory.rst.

use std::collections::BTreeMap;

use crate::error::ParseError;
use crate::sys::procfs::text::{numbered_lines, parse_u64};

/// Whether a `memory.stat` figure is an amount of memory or a count of events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatKind {
    /// An amount of memory, in bytes.
    Bytes,
    /// A count of events (page faults, refaults) since the cgroup was created.
    Count,
}

macro_rules! stat_fields {
    ($( $(#[doc = $doc:literal])* $field:ident, $v1:literal, $kind:ident; )*) => {
        /// The breakdown of a cgroup's memory from its `memory.stat`, under the v2 names.
        ///
        /// On cgroup v1 the hierarchical `total_*` lines (this cgroup and its descendants, like
        /// `memory.usage_in_bytes`) are mapped onto the v2 names where one exists (`total_rss` is
        /// `anon`, `total_cache` is `file`, `total_mapped_file` is `file_mapped`, ...), falling
        /// back to the local line when the kernel prints no `total_*` one. A field is `None` when
        /// the kernel did not print it (older kernel, other version, accounting off); every
        /// other line is kept in [`other`](Self::other) under its own name.
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize))]
        pub struct CgroupMemoryStat {
            $(
                $(#[doc = $doc])*
                #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
                pub $field: Option<u64>,
            )*
            /// Every other line of the file, under the name the kernel gives it (bytes or a count,
            /// as the kernel documents each one; v1 `hierarchical_memory_limit`, `pgpgin`, ...).
            #[cfg_attr(feature = "serde", serde(skip_serializing_if = "BTreeMap::is_empty"))]
            pub other: BTreeMap<String, u64>,
        }

        impl CgroupMemoryStat {
            /// Every named figure the kernel printed, as `(v2 name, value, kind)`, in the order
            /// of the fields (the lines in [`other`](Self::other) are left out).
            pub fn named(&self) -> impl Iterator<Item = (&'static str, u64, StatKind)> + '_ {
                [$( (stringify!($field), self.$field, StatKind::$kind), )*]
                    .into_iter()
                    .filter_map(|(name, value, kind)| value.map(|v| (name, v, kind)))
            }

            fn v2_slot(&mut self, key: &[u8]) -> Option<&mut Option<u64>> {
                $( if key == stringify!($field).as_bytes() { return Some(&mut self.$field); } )*
                None
            }

            fn v1_slot(&mut self, key: &[u8]) -> Option<&mut Option<u64>> {
                $( if !$v1.is_empty() && key == $v1.as_bytes() { return Some(&mut self.$field); } )*
                None
            }
        }
    };
}

stat_fields! {
    /// Anonymous memory: heaps, stacks, private mappings not backed by a file (`anon`; v1
    /// `total_rss`), in bytes.
    anon, "rss", Bytes;
    /// Page cache: file-backed memory, shmem and tmpfs included (`file`; v1 `total_cache`), in
    /// bytes.
    file, "cache", Bytes;
    /// All kernel memory charged to the cgroup: slab, stacks, page tables, ... (`kernel`, kernel
    /// 5.18+), in bytes.
    kernel, "", Bytes;
    /// Kernel stacks of the cgroup's tasks (`kernel_stack`), in bytes.
    kernel_stack, "", Bytes;
    /// Page tables (`pagetables`), in bytes.
    pagetables, "", Bytes;
    /// Per-CPU kernel data (`percpu`), in bytes.
    percpu, "", Bytes;
    /// Network socket buffers (`sock`), in bytes.
    sock, "", Bytes;
    /// vmalloc'd kernel memory (`vmalloc`), in bytes.
    vmalloc, "", Bytes;
    /// Shared memory and tmpfs, a part of `file` (`shmem`; v1 `total_shmem`), in bytes.
    shmem, "shmem", Bytes;
    /// Compressed swap held by zswap (`zswap`), in bytes.
    zswap, "", Bytes;
    /// The uncompressed size of what is in zswap (`zswapped`), in bytes.
    zswapped, "", Bytes;
    /// Page cache mapped into processes (`file_mapped`; v1 `total_mapped_file`), in bytes.
    file_mapped, "mapped_file", Bytes;
    /// Page cache modified and not yet written back (`file_dirty`; v1 `total_dirty`), in bytes.
    file_dirty, "dirty", Bytes;
    /// Page cache being written back (`file_writeback`; v1 `total_writeback`), in bytes.
    file_writeback, "writeback", Bytes;
    /// Swapped-out pages still in memory (`swapcached`; v1 `total_swapcached`), in bytes.
    swapcached, "swapcached", Bytes;
    /// Swap used (v1 only: `total_swap`, printed when swap accounting is on; on v2 the figure is
    /// `memory.swap.current`), in bytes.
    swap, "swap", Bytes;
    /// Anonymous transparent huge pages (`anon_thp`; v1 `total_rss_huge`), in bytes.
    anon_thp, "rss_huge", Bytes;
    /// File transparent huge pages (`file_thp`), in bytes.
    file_thp, "", Bytes;
    /// Shmem transparent huge pages (`shmem_thp`), in bytes.
    shmem_thp, "", Bytes;
    /// Anonymous memory on the inactive LRU list (`inactive_anon`), in bytes.
    inactive_anon, "inactive_anon", Bytes;
    /// Anonymous memory on the active LRU list (`active_anon`), in bytes.
    active_anon, "active_anon", Bytes;
    /// Page cache on the inactive LRU list, the first to be reclaimed (`inactive_file`), in bytes.
    inactive_file, "inactive_file", Bytes;
    /// Page cache on the active LRU list (`active_file`), in bytes.
    active_file, "active_file", Bytes;
    /// Memory that cannot be reclaimed: mlocked, ramfs (`unevictable`), in bytes.
    unevictable, "unevictable", Bytes;
    /// Slab that can be reclaimed: dentries, inodes (`slab_reclaimable`), in bytes.
    slab_reclaimable, "", Bytes;
    /// Slab that cannot be reclaimed (`slab_unreclaimable`), in bytes.
    slab_unreclaimable, "", Bytes;
    /// All slab memory (`slab`), in bytes.
    slab, "", Bytes;
    /// Page faults taken by the cgroup's tasks (`pgfault`; v1 `total_pgfault`), a count.
    pgfault, "pgfault", Count;
    /// Major page faults, the ones that read from disk (`pgmajfault`), a count.
    pgmajfault, "pgmajfault", Count;
    /// Refaults of evicted anonymous pages (`workingset_refault_anon`), a count.
    workingset_refault_anon, "workingset_refault_anon", Count;
    /// Refaults of evicted page cache (`workingset_refault_file`), a count.
    workingset_refault_file, "workingset_refault_file", Count;
}

/// Reads the `key value` lines of a flat-keyed file, strictly: exactly two fields, a decimal
/// value. The error names the offending line.
fn flat_keyed(data: &[u8]) -> impl Iterator<Item = Result<(&[u8], u64), ParseError>> {
    numbered_lines(data).map(|(number, line)| {
        let mut fields = line.split(|&b| b == b' ').filter(|f| !f.is_empty());
        match (fields.next(), fields.next(), fields.next()) {
            (Some(key), Some(value), None) => parse_u64(value.trim_ascii())
                .map(|v| (key, v))
                .ok_or_else(|| ParseError::new(number, "expected a decimal number after the key")),
            _ => Err(ParseError::new(number, "expected `key value`")),
        }
    })
}

fn other_name(key: &[u8]) -> String {
    String::from_utf8_lossy(key).into_owned()
}

/// Parses a cgroup v2 `memory.stat`.
pub(crate) fn parse_v2(data: &[u8]) -> Result<CgroupMemoryStat, ParseError> {
    let mut stat = CgroupMemoryStat::default();
    for entry in flat_keyed(data) {
        let (key, value) = entry?;
        match stat.v2_slot(key) {
            Some(slot) => *slot = Some(value),
            None => {
                stat.other.insert(other_name(key), value);
            }
        }
    }
    Ok(stat)
}

/// Parses a cgroup v1 `memory.stat`, mapping its names onto the v2 ones: a `total_X` line (the
/// hierarchy's figure) wins over the local `X` line.
pub(crate) fn parse_v1(data: &[u8]) -> Result<CgroupMemoryStat, ParseError> {
    let mut stat = CgroupMemoryStat::default();
    for entry in flat_keyed(data) {
        let (key, value) = entry?;
        let (local, total) = match key.strip_prefix(b"total_") {
            Some(rest) => (rest, true),
            None => (key, false),
        };
        match stat.v1_slot(local) {
            Some(slot) if total || slot.is_none() => *slot = Some(value),
            Some(_) => {}
            None => {
                stat.other.insert(other_name(key), value);
            }
        }
    }
    Ok(stat)
}

/// A cgroup's memory events (v2 `memory.events`, hierarchical: this cgroup and its descendants).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct CgroupMemoryEvents {
    /// Times the cgroup was reclaimed from while under `memory.low` (`low`; v2 only), a count.
    pub low: Option<u64>,
    /// Times usage went over `memory.high` and the cgroup was throttled (`high`; v2 only), a count.
    pub high: Option<u64>,
    /// Times usage was about to go over the limit (`max`; v1 `memory.failcnt`, the times the
    /// limit was hit), a count.
    pub max: Option<u64>,
    /// Times the cgroup reached its limit and the OOM killer ran (`oom`; v2 only), a count.
    pub oom: Option<u64>,
    /// Processes killed by the OOM killer (`oom_kill`; v1 `memory.oom_control` `oom_kill`,
    /// kernel 4.13+), a count.
    pub oom_kill: Option<u64>,
}

/// Parses v2 `memory.events` (`low`, `high`, `max`, `oom`, `oom_kill`, other lines ignored).
pub(crate) fn parse_events(data: &[u8]) -> Result<CgroupMemoryEvents, ParseError> {
    let mut events = CgroupMemoryEvents::default();
    for entry in flat_keyed(data) {
        let (key, value) = entry?;
        let slot = match key {
            b"low" => &mut events.low,
            b"high" => &mut events.high,
            b"max" => &mut events.max,
            b"oom" => &mut events.oom,
            b"oom_kill" => &mut events.oom_kill,
            _ => continue,
        };
        *slot = Some(value);
    }
    Ok(events)
}

/// Parses v1 `memory.oom_control` (`oom_kill_disable`, `under_oom`, `oom_kill`): the `oom_kill`
/// count, `None` before kernel 4.13.
pub(crate) fn parse_oom_control(data: &[u8]) -> Result<Option<u64>, ParseError> {
    let mut kills = None;
    for entry in flat_keyed(data) {
        let (key, value) = entry?;
        if key == b"oom_kill" {
            kills = Some(value);
        }
    }
    Ok(kills)
}

/// Counts the processes in `cgroup.procs`: one pid per line.
pub(crate) fn parse_procs(data: &[u8]) -> Result<u64, ParseError> {
    let mut count = 0u64;
    for (number, line) in numbered_lines(data) {
        if parse_u64(line.trim_ascii()).is_none() {
            return Err(ParseError::new(number, "expected a pid"));
        }
        count = count.saturating_add(1);
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn v2_names_and_the_rest() {
        let s =
            parse_v2(b"anon 4096\nfile 8192\nkernel_stack 16384\npgfault 7\nthp_fault_alloc 3\n")
                .unwrap();
        assert_eq!(
            (s.anon, s.file, s.kernel_stack),
            (Some(4096), Some(8192), Some(16384))
        );
        assert_eq!(s.pgfault, Some(7));
        assert_eq!(s.other.get("thp_fault_alloc"), Some(&3));
        assert_eq!(s.swap, None);
        let named: Vec<_> = s.named().map(|(n, _, _)| n).collect();
        assert_eq!(named, ["anon", "file", "kernel_stack", "pgfault"]);
    }

    #[test]
    fn v1_total_lines_win_and_names_are_mapped() {
        let s = parse_v1(
            b"cache 10\nrss 20\nmapped_file 5\nswap 0\ntotal_cache 100\ntotal_rss 200\n\
total_mapped_file 50\ntotal_swap 4096\nhierarchical_memory_limit 1048576\ntotal_pgpgin 9\n",
        )
        .unwrap();
        assert_eq!(
            (s.file, s.anon, s.file_mapped, s.swap),
            (Some(100), Some(200), Some(50), Some(4096))
        );
        assert_eq!(s.other.get("hierarchical_memory_limit"), Some(&1_048_576));
        assert_eq!(s.other.get("total_pgpgin"), Some(&9));
        // Local lines are used when no total_ line exists.
        let local = parse_v1(b"rss 20\n").unwrap();
        assert_eq!(local.anon, Some(20));
    }

    #[test]
    fn malformed_lines_name_the_line() {
        let err = parse_v2(b"anon 1\nfile\n").unwrap_err();
        assert_eq!(err.line, 2);
        let err = parse_v2(b"anon 1\nfile 2\nshmem -3\n").unwrap_err();
        assert_eq!(err.line, 3);
        let err = parse_v1(b"cache 1 2\n").unwrap_err();
        assert_eq!(err.line, 1);
        assert_eq!(
            parse_v2(b"anon 99999999999999999999\n").unwrap_err().line,
            1
        );
    }

    #[test]
    fn events_oom_control_and_procs() {
        let e =
            parse_events(b"low 1\nhigh 2\nmax 3\noom 4\noom_kill 5\noom_group_kill 0\n").unwrap();
        assert_eq!(
            e,
            CgroupMemoryEvents {
                low: Some(1),
                high: Some(2),
                max: Some(3),
                oom: Some(4),
                oom_kill: Some(5)
            }
        );
        assert_eq!(
            parse_oom_control(b"oom_kill_disable 0\nunder_oom 0\noom_kill 2\n").unwrap(),
            Some(2)
        );
        assert_eq!(
            parse_oom_control(b"oom_kill_disable 0\nunder_oom 0\n").unwrap(),
            None
        );
        assert_eq!(parse_procs(b"1\n22\n333\n").unwrap(), 3);
        assert_eq!(parse_procs(b"").unwrap(), 0);
        assert_eq!(parse_procs(b"1\nx\n").unwrap_err().line, 2);
    }

    proptest! {
        #[test]
        fn never_panic(data: Vec<u8>) {
            let _ = parse_v2(&data);
            let _ = parse_v1(&data);
            let _ = parse_events(&data);
            let _ = parse_oom_control(&data);
            let _ = parse_procs(&data);
        }

        #[test]
        fn v2_roundtrip(values in proptest::collection::vec(any::<u64>(), 1..8)) {
            let names = ["anon", "file", "shmem", "slab", "sock", "pgfault", "x_y", "zswap"];
            let text: String = values.iter().zip(names).map(|(v, n)| format!("{n} {v}\n")).collect();
            let s = parse_v2(text.as_bytes()).unwrap();
            prop_assert_eq!(s.anon, Some(values[0]));
        }
    }
}
