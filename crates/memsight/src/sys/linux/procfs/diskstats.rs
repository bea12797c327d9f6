//! `/proc/diskstats` and `/sys/block/DEV/stat`: I/O statistics per block device. See
//! Documentation/admin-guide/iostats.rst in the kernel. Counts are in sectors of 512 bytes and
//! times in milliseconds, whatever the device's real sector size.

use crate::error::ParseError;
use crate::sys::procfs::text::{numbered_lines, parse_u64};

/// One device's counters in the kernel's units (sectors, ms).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct DiskStat {
    /// The device name (`sda`, `nvme0n1p1`, `dm-0`).
    pub name: String,
    /// Reads completed.
    pub reads: u64,
    /// Writes completed.
    pub writes: u64,
    /// Sectors read.
    pub sectors_read: u64,
    /// Sectors written.
    pub sectors_written: u64,
    /// Milliseconds spent reading.
    pub read_time: u64,
    /// Milliseconds spent writing.
    pub write_time: u64,
    /// Reads merged.
    pub reads_merged: u64,
    /// Writes merged.
    pub writes_merged: u64,
    /// Milliseconds spent doing I/O (`io_ticks`).
    pub busy_time: u64,
}

/// Parses `/proc/diskstats`, reading each line by its field count as psutil does: 15 fields is
/// the Linux 2.4 layout, 14 or 18 and more a 2.6+ disk line (4.18 and 5.5 appended fields, which
/// are ignored), 7 an old partition line. Any other count is an error naming the line.
pub(crate) fn parse(data: &[u8]) -> Result<Vec<DiskStat>, ParseError> {
    let mut disks = Vec::new();
    for (number, line) in numbered_lines(data) {
        let fields: Vec<&[u8]> = line
            .split(u8::is_ascii_whitespace)
            .filter(|f| !f.is_empty())
            .collect();
        let bad = || ParseError::new(number, "a counter is not a number");
        let n = |i: usize| fields.get(i).copied().and_then(parse_u64).ok_or_else(bad);
        let name = |i: usize| String::from_utf8_lossy(fields[i]).into_owned();
        // A whole line: the name and the reads at these fields, the other counters after them.
        let full = |name_at: usize, reads_at: usize| -> Result<DiskStat, ParseError> {
            Ok(DiskStat {
                name: name(name_at),
                reads: n(reads_at)?,
                reads_merged: n(4)?,
                sectors_read: n(5)?,
                read_time: n(6)?,
                writes: n(7)?,
                writes_merged: n(8)?,
                sectors_written: n(9)?,
                write_time: n(10)?,
                busy_time: n(12)?,
            })
        };
        let disk = match fields.len() {
            // Linux 2.4 (psutil's reading: reads in field 2, the name in field 3).
            15 => full(3, 2)?,
            len if len == 14 || len >= 18 => full(2, 3)?,
            7 => DiskStat {
                name: name(2),
                reads: n(3)?,
                sectors_read: n(4)?,
                writes: n(5)?,
                sectors_written: n(6)?,
                ..DiskStat::default()
            },
            len => {
                return Err(ParseError::new(
                    number,
                    format!("{len} fields: not a known diskstats layout"),
                ));
            }
        };
        disks.push(disk);
    }
    Ok(disks)
}

/// Parses a `/sys/block/DEV/stat` (or `/sys/block/DEV/PART/stat`) file: the first 10 counters of
/// a diskstats line, without the device numbers and name.
pub(crate) fn parse_sys_stat(data: &[u8], name: &str) -> Result<DiskStat, ParseError> {
    let mut fields = [0u64; 10];
    let mut values = data
        .split(u8::is_ascii_whitespace)
        .filter(|f| !f.is_empty());
    for slot in &mut fields {
        *slot = values
            .next()
            .and_then(parse_u64)
            .ok_or_else(|| ParseError::new(1, "fewer than 10 numbers"))?;
    }
    let [
        reads,
        reads_merged,
        sectors_read,
        read_time,
        writes,
        writes_merged,
        sectors_written,
        write_time,
        _in_flight,
        busy_time,
    ] = fields;
    Ok(DiskStat {
        name: name.to_owned(),
        reads,
        writes,
        sectors_read,
        sectors_written,
        read_time,
        write_time,
        reads_merged,
        writes_merged,
        busy_time,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_each_layout() {
        let data = b"   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n\
 254       0 vda 100 5 2000 30 200 6 4000 40 0 55 70 0 0 0 0 9 9\n\
 254       1 vda1 10 200 20 400\n\
   3     0   hda 446216 784926 9550688 4382310 424847 312726 5922052 19310380 0 3376340 23705160\n\
   3     0  1 hda 8 9 10 11 12 13 14 15 16 17 18\n\
 254       0 vdb 1 2 3 4 5 6 7 8 0 10 11\n";
        let disks = parse(data).unwrap();
        assert_eq!(disks.len(), 6);
        let vda = &disks[1];
        assert_eq!(
            (
                vda.name.as_str(),
                vda.reads,
                vda.reads_merged,
                vda.sectors_read,
                vda.read_time
            ),
            ("vda", 100, 5, 2000, 30)
        );
        assert_eq!(
            (
                vda.writes,
                vda.writes_merged,
                vda.sectors_written,
                vda.write_time,
                vda.busy_time
            ),
            (200, 6, 4000, 40, 55)
        );
        assert_eq!(
            disks[2],
            DiskStat {
                name: "vda1".into(),
                reads: 10,
                sectors_read: 200,
                writes: 20,
                sectors_written: 400,
                ..DiskStat::default()
            }
        );
        assert_eq!(
            (disks[3].name.as_str(), disks[3].busy_time),
            ("hda", 3376340)
        );
        // 2.4 layout: 15 fields.
        assert_eq!(
            (disks[4].name.as_str(), disks[4].reads, disks[4].busy_time),
            ("hda", 1, 16)
        );
        assert_eq!(disks[5].busy_time, 10);
    }

    #[test]
    fn unknown_layout_names_the_line() {
        let err = parse(b" 7 0 loop0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n 1 2 x 3\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert_eq!(parse(b" 7 0 sda 1 x 3 4\n").unwrap_err().line, 1);
    }

    #[test]
    fn sys_block_stat() {
        let d = parse_sys_stat(
            b"  100 5 2000 30 200 6 4000 40 0 55 70 0 0 0 0 0 0\n",
            "vda",
        )
        .unwrap();
        assert_eq!((d.reads, d.sectors_written, d.busy_time), (100, 4000, 55));
        assert!(parse_sys_stat(b"1 2 3", "x").is_err());
    }

    proptest! {
        #[test]
        fn never_panics(data: Vec<u8>) {
            let _ = parse(&data);
            let _ = parse_sys_stat(&data, "x");
        }
    }
}
