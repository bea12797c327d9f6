//! `/proc/PID/smaps` and `/proc/PID/smaps_rollup`: one block per mapping (or one summed block for
//! the rollup), a header line like `/proc/PID/maps` followed by `Key:  value kB` lines.
//! See proc_pid_smaps(5) and Documentation/filesystems/proc.rst.

use crate::error::ParseError;
use crate::sys::process::MapSizes;
use crate::sys::procfs::text::{numbered_lines, parse_u64};

/// USS, PSS and swap in bytes, summed over every block of the file. psutil's rules (#1222):
/// `uss` = every `Private_*` line (Private_Clean + Private_Dirty + Private_Hugetlb), `pss` = `Pss:`
/// only (not `Pss_Anon`, `Pss_File`, `SwapPss`...), `swap` = `Swap:` only (never `SwapPss`);
/// `swap_pss` = `SwapPss:` (htop's EPSS is `pss + swap_pss`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Footprint {
    /// Unique set size: memory private to the process, bytes.
    pub uss: u64,
    /// Proportional set size, bytes.
    pub pss: u64,
    /// Swapped-out memory, bytes.
    pub swap: u64,
    /// The proportional share of swapped-out memory (`SwapPss:`, kernel 4.3+; 0 before), bytes.
    pub swap_pss: u64,
}

/// Sums the `Private_*`, `Pss:`, `Swap:` and `SwapPss:` lines of `smaps_rollup` or `smaps`. Headers and other
/// lines (including `VmFlags:` and non-numeric ones) are skipped; a used line whose value is not a
/// number is an error. Allocates nothing.
pub(crate) fn footprint(data: &[u8]) -> Result<Footprint, ParseError> {
    let mut total = Footprint::default();
    for (number, line) in numbered_lines(data) {
        let slot = if line.starts_with(b"Private_") {
            &mut total.uss
        } else if line.starts_with(b"Pss:") {
            &mut total.pss
        } else if line.starts_with(b"Swap:") {
            &mut total.swap
        } else if line.starts_with(b"SwapPss:") {
            &mut total.swap_pss
        } else {
            continue;
        };
        let kb = kb_value(line).ok_or_else(|| ParseError::new(number, "expected `Key: N kB`"))?;
        *slot = slot.saturating_add(kb.saturating_mul(1024));
    }
    Ok(total)
}

/// The number after the first colon of `Key:   N kB`.
fn kb_value(line: &[u8]) -> Option<u64> {
    let colon = line.iter().position(|&b| b == b':')?;
    let mut fields = line[colon + 1..]
        .split(u8::is_ascii_whitespace)
        .filter(|f| !f.is_empty());
    parse_u64(fields.next()?)
}

/// One block of `/proc/PID/smaps`, with sizes in bytes and a missing key as 0 (psutil #1627).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct SmapsEntry {
    /// `start-end` in lower-case hex, without `0x`, as the kernel prints it.
    pub addr: Vec<u8>,
    /// The four permission letters, such as `r-xp`.
    pub perms: Vec<u8>,
    /// The path, pseudo-path (`[heap]`) or empty for an anonymous mapping, trimmed of surrounding
    /// white space; it may end in ` (deleted)` (the reader decides whether to strip it).
    pub path: Vec<u8>,
    /// `Rss`, `Size`, `Pss`, `Shared_*`, `Private_*`, `Referenced`, `Anonymous`, `Swap`.
    pub sizes: MapSizes,
}

/// Parses `/proc/PID/smaps` into one entry per mapping, in the file's (address) order, with
/// psutil's rules: a line whose first word does not end in `:` starts a block; the header is split
/// into at most six fields so paths keep their spaces; a `Key: N` line gives N × 1024; a
/// `VmFlags:` line (possibly empty) is skipped; any other line that is not `Key: N` is an error.
pub(crate) fn parse(data: &[u8]) -> Result<Vec<SmapsEntry>, ParseError> {
    let mut entries: Vec<SmapsEntry> = Vec::new();
    for (number, line) in numbered_lines(data) {
        let first = line
            .split(u8::is_ascii_whitespace)
            .find(|f| !f.is_empty())
            .unwrap_or_default();
        if !first.ends_with(b":") {
            entries.push(header(line));
            continue;
        }
        if first.starts_with(b"VmFlags:") {
            continue;
        }
        let Some(entry) = entries.last_mut() else {
            return Err(ParseError::new(number, "a value line before any mapping"));
        };
        let value = kb_value(line)
            .ok_or_else(|| ParseError::new(number, "expected `Key: N kB`"))?
            .saturating_mul(1024);
        let slot = match first {
            b"Rss:" => &mut entry.sizes.rss,
            b"Size:" => &mut entry.sizes.size,
            b"Pss:" => &mut entry.sizes.pss,
            b"Shared_Clean:" => &mut entry.sizes.shared_clean,
            b"Shared_Dirty:" => &mut entry.sizes.shared_dirty,
            b"Private_Clean:" => &mut entry.sizes.private_clean,
            b"Private_Dirty:" => &mut entry.sizes.private_dirty,
            b"Referenced:" => &mut entry.sizes.referenced,
            b"Anonymous:" => &mut entry.sizes.anonymous,
            b"Swap:" => &mut entry.sizes.swap,
            _ => continue,
        };
        *slot = value;
    }
    Ok(entries)
}

/// `addr perms offset dev inode [path]`: split on runs of white space into at most six fields.
fn header(line: &[u8]) -> SmapsEntry {
    let mut rest = line;
    let mut fields: [&[u8]; 5] = [b""; 5];
    for field in &mut fields {
        rest = rest.trim_ascii_start();
        let end = rest
            .iter()
            .position(u8::is_ascii_whitespace)
            .unwrap_or(rest.len());
        *field = &rest[..end];
        rest = &rest[end..];
    }
    SmapsEntry {
        addr: fields[0].to_vec(),
        perms: fields[1].to_vec(),
        path: rest.trim_ascii().to_vec(),
        ..SmapsEntry::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // psutil's test_parse_smaps_mocked block (#1222).
    const MOCKED: &[u8] = b"fffff0 r-xp 00000000 00:00 0                  [vsyscall]
Size:                  1 kB
Rss:                   2 kB
Pss:                   3 kB
Shared_Clean:          4 kB
Shared_Dirty:          5 kB
Private_Clean:         6 kB
Private_Dirty:         7 kB
Referenced:            8 kB
Anonymous:             9 kB
LazyFree:              10 kB
AnonHugePages:         11 kB
ShmemPmdMapped:        12 kB
Shared_Hugetlb:        13 kB
Private_Hugetlb:       14 kB
Swap:                  15 kB
SwapPss:               16 kB
KernelPageSize:        17 kB
MMUPageSize:           18 kB
Locked:                19 kB
VmFlags: rd ex
";

    #[test]
    fn footprint_follows_psutil_1222() {
        let f = footprint(MOCKED).unwrap();
        assert_eq!(f.uss, (6 + 7 + 14) * 1024);
        assert_eq!(f.pss, 3 * 1024);
        assert_eq!(f.swap, 15 * 1024);
        assert_eq!(f.swap_pss, 16 * 1024);
    }

    #[test]
    fn rollup() {
        let rollup =
            b"55d5c4a2c000-7ffd5a3fe000 ---p 00000000 00:00 0                          [rollup]
Rss:                3924 kB
Pss:                 722 kB
Pss_Dirty:           204 kB
Pss_Anon:            200 kB
Pss_File:            522 kB
Pss_Shmem:             0 kB
Shared_Clean:       3196 kB
Shared_Dirty:          0 kB
Private_Clean:       524 kB
Private_Dirty:       204 kB
Referenced:         3924 kB
Anonymous:           204 kB
Swap:                  8 kB
SwapPss:               4 kB
Locked:                0 kB
";
        let f = footprint(rollup).unwrap();
        assert_eq!(f.uss, (524 + 204) * 1024);
        assert_eq!(f.pss, 722 * 1024);
        assert_eq!(f.swap, 8 * 1024);
        assert_eq!(f.swap_pss, 4 * 1024);
        assert_eq!(footprint(b"").unwrap(), Footprint::default());
        assert!(footprint(b"Pss: many kB\n").is_err());
    }

    #[test]
    fn footprint_sums_blocks() {
        let two = [MOCKED, MOCKED].concat();
        let f = footprint(&two).unwrap();
        assert_eq!(f.uss, 2 * 27 * 1024);
        assert_eq!(f.pss, 2 * 3 * 1024);
    }

    #[test]
    fn blocks_paths_and_missing_keys() {
        let data = b"00400000-00452000 r-xp 00000000 08:02 173521      /usr/bin/my prog  x
Size:                328 kB
Rss:                 300 kB
VmFlags: rd ex mr mw me dw
7f0000000000-7f0000001000 rw-p 00000000 00:00 0
Size:                  4 kB
VmFlags:
7f0000002000-7f0000003000 rw-s 00000000 00:05 1234                       /memfd:x (deleted)
Rss:                   4 kB
Private_Dirty:         4 kB
THPeligible:    0
ProtectionKey:         0
";
        let maps = parse(data).unwrap();
        assert_eq!(maps.len(), 3);
        assert_eq!(maps[0].addr, b"00400000-00452000");
        assert_eq!(maps[0].perms, b"r-xp");
        assert_eq!(maps[0].path, b"/usr/bin/my prog  x");
        assert_eq!(
            (maps[0].sizes.size, maps[0].sizes.rss, maps[0].sizes.pss),
            (328 * 1024, 300 * 1024, 0)
        );
        assert_eq!(maps[1].path, b"");
        assert_eq!(maps[1].sizes.size, 4096);
        assert_eq!(maps[1].sizes.rss, 0, "missing Rss is 0");
        assert_eq!(maps[2].path, b"/memfd:x (deleted)");
        assert_eq!(maps[2].sizes.private_dirty, 4096);
    }

    #[test]
    fn bad_lines() {
        assert_eq!(parse(b"Rss: 4 kB\n").unwrap_err().line, 1);
        let err = parse(b"0-1000 r--p 0 00:00 0\nRss: four kB\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(parse(b"").unwrap().is_empty());
    }

    proptest! {
        #[test]
        fn never_panics(data: Vec<u8>) {
            let _ = parse(&data);
            let _ = footprint(&data);
        }

        #[test]
        fn never_panics_on_smaps_like_text(
            lines in proptest::collection::vec("[0-9a-f]{1,4}-[0-9a-f]{1,4} [rwxps-]{4} [0-9a-zA-Z: ()/\\[\\]]{0,30}|[A-Za-z_]{1,12}:[ 0-9kB]{0,12}", 0..20)
        ) {
            let data = lines.join("\n");
            let _ = parse(data.as_bytes());
            let _ = footprint(data.as_bytes());
        }
    }
}
