//! The figures procps `free` derives from `/proc/meminfo` for `-l`, `-v` and
//! `--procps-available` (Linux only). The derivations are pure functions of the meminfo lines, so
//! they are tested on fixture values.

use serde::Serialize;

use memsight::linux::MeminfoField;

/// The `Low:` or `High:` line of `free -l`, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Zone {
    /// `LowTotal` / `HighTotal`.
    pub total: u64,
    /// `total - free`, 0 when `free` is larger.
    pub used: u64,
    /// `LowFree` / `HighFree`.
    pub free: u64,
}

/// The `Comm:` line of `free -v`, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Commit {
    /// `CommitLimit`: what the kernel lets be committed under strict overcommit accounting.
    pub limit: u64,
    /// `Committed_AS`: the memory all processes have asked for.
    pub committed_as: u64,
    /// `limit - committed_as`: negative when memory is overcommitted (procps prints it so).
    pub free: i128,
}

/// A meminfo line's value in bytes, 0 when the kernel does not print it (as procps reads it).
fn field(fields: &[MeminfoField], name: &str) -> u64 {
    fields
        .iter()
        .find(|f| f.name == name)
        .map_or(0, |f| f.value)
}

impl Zone {
    fn new(total: u64, free: u64) -> Zone {
        Zone {
            total,
            used: total.saturating_sub(free),
            free,
        }
    }

    /// procps's `Low:` and `High:` lines: a kernel without highmem (every 64-bit one) prints no
    /// `LowTotal`, and procps then shows all of RAM as low (`MemTotal`, `MemFree`) and high as 0.
    pub fn low_high(fields: &[MeminfoField]) -> (Zone, Zone) {
        let high = Zone::new(field(fields, "HighTotal"), field(fields, "HighFree"));
        let low = match field(fields, "LowTotal") {
            0 => Zone::new(field(fields, "MemTotal"), field(fields, "MemFree")),
            total => Zone::new(total, field(fields, "LowFree")),
        };
        (low, high)
    }
}

impl Commit {
    /// procps's `Comm:` line: `CommitLimit`, `Committed_AS` and their difference (0 for a line the
    /// kernel does not print).
    pub fn from_meminfo(fields: &[MeminfoField]) -> Commit {
        let limit = field(fields, "CommitLimit");
        let committed_as = field(fields, "Committed_AS");
        Commit {
            limit,
            committed_as,
            free: i128::from(limit) - i128::from(committed_as),
        }
    }
}

/// procps's `available`: `MemAvailable`, or `MemFree` when the kernel does not print it (before
/// 3.14) or prints 0, and `MemFree` again when it exceeds `MemTotal` (an LXC container's view).
/// memsight's own figure follows psutil instead, which estimates it from `/proc/zoneinfo`.
pub fn procps_available(fields: &[MeminfoField]) -> u64 {
    let free = field(fields, "MemFree");
    match field(fields, "MemAvailable") {
        0 => free,
        available if available > field(fields, "MemTotal") => free,
        available => available,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use memsight::linux::MeminfoUnit;

    fn fields(lines: &[(&str, u64)]) -> Vec<MeminfoField> {
        lines
            .iter()
            .map(|&(name, kib)| MeminfoField {
                name: name.to_owned(),
                value: kib * 1024,
                unit: MeminfoUnit::Bytes,
            })
            .collect()
    }

    #[test]
    fn without_highmem_all_ram_is_low() {
        let m = fields(&[("MemTotal", 1000), ("MemFree", 200)]);
        let (low, high) = Zone::low_high(&m);
        assert_eq!(low, Zone::new(1000 * 1024, 200 * 1024));
        assert_eq!(low.used, 800 * 1024);
        assert_eq!(high, Zone::new(0, 0));
    }

    #[test]
    fn highmem_kernel_lines_are_used() {
        let m = fields(&[
            ("MemTotal", 1000),
            ("MemFree", 200),
            ("HighTotal", 300),
            ("HighFree", 100),
            ("LowTotal", 700),
            ("LowFree", 100),
        ]);
        let (low, high) = Zone::low_high(&m);
        assert_eq!(
            (low.total, low.used, low.free),
            (700 << 10, 600 << 10, 100 << 10)
        );
        assert_eq!(
            (high.total, high.used, high.free),
            (300 << 10, 200 << 10, 100 << 10)
        );
    }

    #[test]
    fn overcommitted_headroom_is_negative() {
        let m = fields(&[("CommitLimit", 100_000), ("Committed_AS", 2_500_000)]);
        let c = Commit::from_meminfo(&m);
        assert_eq!(c.free, -2_400_000 * 1024);
        assert_eq!(Commit::from_meminfo(&[]).free, 0);
    }

    #[test]
    fn procps_available_falls_back_to_memfree() {
        let old = fields(&[("MemTotal", 1000), ("MemFree", 200)]);
        assert_eq!(procps_available(&old), 200 * 1024);
        let zero = fields(&[("MemTotal", 1000), ("MemFree", 200), ("MemAvailable", 0)]);
        assert_eq!(procps_available(&zero), 200 * 1024);
        let lxc = fields(&[("MemTotal", 1000), ("MemFree", 200), ("MemAvailable", 5000)]);
        assert_eq!(procps_available(&lxc), 200 * 1024);
        let new = fields(&[("MemTotal", 1000), ("MemFree", 200), ("MemAvailable", 600)]);
        assert_eq!(procps_available(&new), 600 * 1024);
    }
}
