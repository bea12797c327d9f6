//! Disk I/O counters from `DISK_PERFORMANCE`.

/// I/O counters of one physical drive, or of all summed, since boot. psutil's `sdiskio` on
/// Windows, from `IOCTL_DISK_PERFORMANCE` (`DISK_PERFORMANCE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct DiskIo {
    /// Reads completed (`ReadCount`, a 32-bit counter: `nowrap` keeps it growing).
    pub read_count: u64,
    /// Writes completed (`WriteCount`, 32-bit).
    pub write_count: u64,
    /// Bytes read (`BytesRead`).
    pub read_bytes: u64,
    /// Bytes written (`BytesWritten`).
    pub write_bytes: u64,
    /// Time spent reading, in milliseconds (`ReadTime`, 100 ns units).
    pub read_time: u64,
    /// Time spent writing, in milliseconds (`WriteTime`).
    pub write_time: u64,
}

impl DiskIo {
    /// The record of one `DISK_PERFORMANCE`'s values; negative 64-bit figures count as 0.
    pub(crate) fn from_performance(
        read_count: u32,
        write_count: u32,
        bytes: (i64, i64),
        times_100ns: (i64, i64),
    ) -> DiskIo {
        let non_negative = |v: i64| u64::try_from(v).unwrap_or(0);
        DiskIo {
            read_count: u64::from(read_count),
            write_count: u64::from(write_count),
            read_bytes: non_negative(bytes.0),
            write_bytes: non_negative(bytes.1),
            read_time: non_negative(times_100ns.0) / 10_000,
            write_time: non_negative(times_100ns.1) / 10_000,
        }
    }

    pub(crate) fn to_array(self) -> [u64; 6] {
        [
            self.read_count,
            self.write_count,
            self.read_bytes,
            self.write_bytes,
            self.read_time,
            self.write_time,
        ]
    }

    pub(crate) fn from_array(a: [u64; 6]) -> DiskIo {
        let [
            read_count,
            write_count,
            read_bytes,
            write_bytes,
            read_time,
            write_time,
        ] = a;
        DiskIo {
            read_count,
            write_count,
            read_bytes,
            write_bytes,
            read_time,
            write_time,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_performance_to_bytes_and_milliseconds() {
        // 1.5 s reading (15,000,000 × 100 ns), 20 ms writing.
        let d = DiskIo::from_performance(7, u32::MAX, (4096, -1), (15_000_000, 200_000));
        assert_eq!(d.to_array(), [7, u64::from(u32::MAX), 4096, 0, 1500, 20]);
        assert_eq!(DiskIo::from_array(d.to_array()), d);
    }
}
