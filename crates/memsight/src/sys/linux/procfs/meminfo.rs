//! `/proc/meminfo`: `Key:   value kB` lines. See proc_meminfo(5).

use crate::error::ParseError;
use crate::sys::procfs::text::{key_value, numbered_lines, parse_size};

/// The `/proc/meminfo` lines memsight uses, in bytes; `None` when the kernel does not print the line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Meminfo {
    pub mem_total: Option<u64>,
    pub mem_free: Option<u64>,
    pub mem_available: Option<u64>,
    pub buffers: Option<u64>,
    pub cached: Option<u64>,
    pub s_reclaimable: Option<u64>,
    pub shmem: Option<u64>,
    pub mem_shared: Option<u64>,
    pub active: Option<u64>,
    pub inactive: Option<u64>,
    pub inact_dirty: Option<u64>,
    pub inact_clean: Option<u64>,
    pub inact_laundry: Option<u64>,
    pub slab: Option<u64>,
    pub active_file: Option<u64>,
    pub inactive_file: Option<u64>,
    pub swap_total: Option<u64>,
    pub swap_free: Option<u64>,
}

impl Meminfo {
    /// Whether every line of a current kernel that memsight uses has been seen.
    fn has_every_modern_line(&self) -> bool {
        [
            self.mem_total,
            self.mem_free,
            self.mem_available,
            self.buffers,
            self.cached,
            self.s_reclaimable,
            self.shmem,
            self.active,
            self.inactive,
            self.slab,
            self.active_file,
            self.inactive_file,
            self.swap_total,
            self.swap_free,
        ]
        .iter()
        .all(Option::is_some)
    }
}

/// Parses `/proc/meminfo`. Every line must be `Key: value`; the values memsight uses must be
/// `number [kB]` (`kB` values become bytes). Values of other keys are not looked at, so a future
/// kernel's new kind of line cannot break `virtual_memory()`. Parsing stops once every line a
/// modern kernel prints has been seen (the old kernels' alternatives are then never needed).
pub(crate) fn parse(data: &[u8]) -> Result<Meminfo, ParseError> {
    let mut m = Meminfo::default();
    for (number, line) in numbered_lines(data) {
        if m.has_every_modern_line() {
            break;
        }
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or_else(|| ParseError::new(number, "expected `Key: value`"))?;
        let (key, value) = (line[..colon].trim_ascii(), &line[colon + 1..]);
        let slot = match key {
            b"MemTotal" => &mut m.mem_total,
            b"MemFree" => &mut m.mem_free,
            b"MemAvailable" => &mut m.mem_available,
            b"Buffers" => &mut m.buffers,
            b"Cached" => &mut m.cached,
            b"SReclaimable" => &mut m.s_reclaimable,
            b"Shmem" => &mut m.shmem,
            b"MemShared" => &mut m.mem_shared,
            b"Active" => &mut m.active,
            b"Inactive" => &mut m.inactive,
            b"Inact_dirty" => &mut m.inact_dirty,
            b"Inact_clean" => &mut m.inact_clean,
            b"Inact_laundry" => &mut m.inact_laundry,
            b"Slab" => &mut m.slab,
            b"Active(file)" => &mut m.active_file,
            b"Inactive(file)" => &mut m.inactive_file,
            b"SwapTotal" => &mut m.swap_total,
            b"SwapFree" => &mut m.swap_free,
            _ => continue,
        };
        *slot = Some(parse_size(value.trim_ascii()).ok_or_else(|| {
            ParseError::new(
                number,
                format!("bad value for {}", String::from_utf8_lossy(key)),
            )
        })?);
    }
    Ok(m)
}

/// One `/proc/meminfo` line, as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MeminfoField {
    /// The key as the kernel prints it, such as `MemTotal` or `Active(file)`.
    pub name: String,
    /// The value: bytes for lines in `kB` (converted), a plain count otherwise.
    pub value: u64,
    /// Whether `value` is bytes or a count (such as `HugePages_Total`).
    pub unit: MeminfoUnit,
}

/// The unit of a [`MeminfoField`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "lowercase")
)]
pub enum MeminfoUnit {
    /// The kernel printed the value in kB; memsight converted it to bytes.
    Bytes,
    /// The kernel printed a bare number (a page or object count).
    Count,
}

/// Parses every line of `/proc/meminfo`, in file order.
pub(crate) fn parse_fields(data: &[u8]) -> Result<Vec<MeminfoField>, ParseError> {
    let mut fields = Vec::with_capacity(64);
    for (number, line) in numbered_lines(data) {
        let (key, value) =
            key_value(line).ok_or_else(|| ParseError::new(number, "expected `Key: value`"))?;
        let bad = || {
            ParseError::new(
                number,
                format!("bad value for {}", String::from_utf8_lossy(key)),
            )
        };
        let unit = if value.ends_with(b"kB") {
            MeminfoUnit::Bytes
        } else {
            MeminfoUnit::Count
        };
        fields.push(MeminfoField {
            name: String::from_utf8(key.to_vec()).map_err(|_| bad())?,
            value: parse_size(value).ok_or_else(bad)?,
            unit,
        });
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_known_lines_and_counts() {
        let data = b"MemTotal:       1000 kB\nMemFree:  200 kB\nHugePages_Total:       3\nShadowCallStack:10 kB\nActive(file):  5 kB\n";
        let m = parse(data).unwrap();
        assert_eq!(m.mem_total, Some(1000 * 1024));
        assert_eq!(m.mem_free, Some(200 * 1024));
        assert_eq!(m.active_file, Some(5 * 1024));
        assert_eq!(m.mem_available, None);
        let fields = parse_fields(data).unwrap();
        assert_eq!(fields.len(), 5);
        assert_eq!(fields[2].name, "HugePages_Total");
        assert_eq!((fields[2].value, fields[2].unit), (3, MeminfoUnit::Count));
        assert_eq!(
            (fields[3].value, fields[3].unit),
            (10 * 1024, MeminfoUnit::Bytes)
        );
    }

    #[test]
    fn a_bad_line_is_named() {
        let err = parse(b"MemTotal: 1 kB\nMemFree 2 kB\n").unwrap_err();
        assert_eq!(err.line, 2);
        let err = parse(b"MemTotal: 1 kB\n\nMemFree: x kB\n").unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.reason.contains("MemFree"), "{}", err.reason);
    }

    #[test]
    fn stops_after_the_last_line_it_needs() {
        let modern = "MemTotal: 1 kB\nMemFree: 1 kB\nMemAvailable: 1 kB\nBuffers: 1 kB\nCached: 1 kB\n\
Active: 1 kB\nInactive: 1 kB\nActive(file): 1 kB\nInactive(file): 1 kB\nSwapTotal: 1 kB\n\
SwapFree: 1 kB\nShmem: 1 kB\nSlab: 1 kB\nSReclaimable: 1 kB\n";
        let m = parse(format!("{modern}Mystery: ?? kB\n").as_bytes()).unwrap();
        assert_eq!(m.s_reclaimable, Some(1024));
        // Without SReclaimable the parser reads on and finds the bad line.
        let older = modern.replace("SReclaimable: 1 kB\n", "");
        assert!(parse(format!("{older}Mystery\n").as_bytes()).is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(data: Vec<u8>) {
            let _ = parse(&data);
            let _ = parse_fields(&data);
        }

        #[test]
        fn garbage_lines_give_the_line_number(prefix in 0usize..5, junk in "[a-z][a-z ]{0,19}") {
            let mut text = "MemTotal: 1 kB\n".repeat(prefix);
            text.push_str(&junk);
            text.push('\n');
            let err = parse(text.as_bytes()).unwrap_err();
            prop_assert_eq!(err.line, prefix + 1);
        }
    }
}
