//! The cgroup files memsight reads: `/proc/PID/cgroup`, the cgroup mounts in
//! `/proc/PID/mountinfo`, and the memory controller's files under `/sys/fs/cgroup`.
//! See cgroups(7) and the kernel's cgroup-v1/memory.rst and cgroup-v2.rst.

use crate::error::ParseError;
use crate::sys::procfs::text::{numbered_lines, parse_u64};

/// Where a process sits in the memory controller's hierarchy, from `/proc/PID/cgroup`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Membership {
    /// The path in a v1 hierarchy whose controllers include `memory`.
    pub v1_memory: Option<String>,
    /// The path in the v2 unified hierarchy (the `0::` line).
    pub v2: Option<String>,
}

/// Parses `/proc/PID/cgroup`: `hierarchy-ID:controller-list:path` lines.
pub(crate) fn parse_membership(data: &[u8]) -> Result<Membership, ParseError> {
    let mut membership = Membership::default();
    for (number, line) in numbered_lines(data) {
        let mut parts = line.splitn(3, |&b| b == b':');
        let (Some(id), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(ParseError::new(number, "expected `id:controllers:path`"));
        };
        let path = String::from_utf8_lossy(path).into_owned();
        if id == b"0" && controllers.is_empty() {
            membership.v2 = Some(path);
        } else if controllers.split(|&b| b == b',').any(|c| c == b"memory") {
            membership.v1_memory = Some(path);
        }
    }
    Ok(membership)
}

/// A cgroup filesystem mount, from `/proc/PID/mountinfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CgroupMount {
    /// The directory of the hierarchy that is mounted there (`/` unless in a cgroup namespace or a
    /// bind mount).
    pub root: String,
    /// Where it is mounted, such as `/sys/fs/cgroup/memory`.
    pub mount_point: String,
}

/// The cgroup mounts in `/proc/PID/mountinfo`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CgroupMounts {
    /// The v1 hierarchy carrying the `memory` controller.
    pub v1_memory: Option<CgroupMount>,
    /// The v2 unified hierarchy.
    pub v2: Option<CgroupMount>,
}

/// Parses `/proc/PID/mountinfo`, keeping the first v1 memory mount and the first cgroup2 mount.
pub(crate) fn parse_mounts(data: &[u8]) -> Result<CgroupMounts, ParseError> {
    let mut mounts = CgroupMounts::default();
    for (number, line) in numbered_lines(data) {
        let bad = || ParseError::new(number, "not a mountinfo line");
        let fields: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
        let separator = fields.iter().position(|f| *f == b"-").ok_or_else(bad)?;
        if separator < 6 || fields.len() < separator + 3 {
            return Err(bad());
        }
        let (fstype, super_options) = (fields[separator + 1], fields[separator + 3..].concat());
        let mount = || CgroupMount {
            root: unescape(fields[3]),
            mount_point: unescape(fields[4]),
        };
        if fstype == b"cgroup2" && mounts.v2.is_none() {
            mounts.v2 = Some(mount());
        } else if fstype == b"cgroup"
            && mounts.v1_memory.is_none()
            && super_options.split(|&b| b == b',').any(|o| o == b"memory")
        {
            mounts.v1_memory = Some(mount());
        }
    }
    Ok(mounts)
}

/// Undoes mountinfo's octal escapes (`\040` is a space).
fn unescape(field: &[u8]) -> String {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        let octal = field
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match (field[i], octal) {
            (b'\\', Some(d)) => {
                out.push(((d[0] - b'0') << 6) | ((d[1] - b'0') << 3) | (d[2] - b'0'));
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A limit file: a number of bytes, or `max` (v2) for no limit (`None`).
pub(crate) fn parse_limit(data: &[u8]) -> Result<Option<u64>, ParseError> {
    match data.trim_ascii() {
        b"max" => Ok(None),
        value => parse_u64(value)
            .map(Some)
            .ok_or_else(|| ParseError::new(1, "expected a number of bytes or `max`")),
    }
}

/// A single-number file such as `memory.current` or `memory.usage_in_bytes`.
pub(crate) fn parse_value(data: &[u8]) -> Result<u64, ParseError> {
    parse_u64(data.trim_ascii()).ok_or_else(|| ParseError::new(1, "expected a number"))
}

/// Finds `key` in a flat-keyed file of `key value` lines (`memory.stat`, `memory.events`,
/// `memory.oom_control`); `None` when the key is absent.
pub(crate) fn parse_keyed(data: &[u8], key: &[u8]) -> Result<Option<u64>, ParseError> {
    for (number, line) in numbered_lines(data) {
        let mut fields = line.split(|&b| b == b' ').filter(|f| !f.is_empty());
        let (Some(name), Some(value)) = (fields.next(), fields.next()) else {
            return Err(ParseError::new(number, "expected `key value`"));
        };
        if name == key {
            return parse_u64(value.trim_ascii())
                .map(Some)
                .ok_or_else(|| ParseError::new(number, "expected a number"));
        }
    }
    Ok(None)
}

/// One line of a pressure (PSI) file.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Pressure {
    /// Share of the last 10 seconds in which tasks stalled on memory, in percent.
    pub avg10: f64,
    /// The same over 60 seconds, in percent.
    pub avg60: f64,
    /// The same over 300 seconds, in percent.
    pub avg300: f64,
    /// Total stall time since the cgroup was created, in seconds (the file's `total=` in µs).
    pub total: f64,
}

/// `memory.pressure`: the `some` and `full` lines.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MemoryPressure {
    /// Time in which at least one task stalled on memory.
    pub some: Pressure,
    /// Time in which all non-idle tasks stalled on memory at once.
    pub full: Pressure,
}

/// Parses a PSI file: `some avg10=0.00 avg60=0.00 avg300=0.00 total=0` and a `full` line.
pub(crate) fn parse_pressure(data: &[u8]) -> Result<MemoryPressure, ParseError> {
    let mut pressure = MemoryPressure::default();
    let (mut some, mut full) = (false, false);
    for (number, line) in numbered_lines(data) {
        let bad = |what: &str| ParseError::new(number, format!("bad pressure line: {what}"));
        let mut fields = line.split(|&b| b == b' ').filter(|f| !f.is_empty());
        let target = match fields.next() {
            Some(b"some") => {
                some = true;
                &mut pressure.some
            }
            Some(b"full") => {
                full = true;
                &mut pressure.full
            }
            _ => return Err(bad("expected `some` or `full`")),
        };
        for field in fields {
            let text = std::str::from_utf8(field).map_err(|_| bad("not text"))?;
            let (key, value) = text
                .split_once('=')
                .ok_or_else(|| bad("expected key=value"))?;
            let value: f64 = value.parse().map_err(|_| bad("not a number"))?;
            if !value.is_finite() || value < 0.0 {
                return Err(bad("not a non-negative number"));
            }
            match key {
                "avg10" => target.avg10 = value,
                "avg60" => target.avg60 = value,
                "avg300" => target.avg300 = value,
                "total" => target.total = value / 1e6,
                _ => {}
            }
        }
    }
    if some && full {
        Ok(pressure)
    } else {
        Err(ParseError::new(0, "missing the `some` or `full` line"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn membership_hybrid() {
        let data = b"9:name=systemd:/\n4:memory:/process_api/abc\n3:cpu,cpuacct:/x\n0::/\n";
        let m = parse_membership(data).unwrap();
        assert_eq!(m.v1_memory.as_deref(), Some("/process_api/abc"));
        assert_eq!(m.v2.as_deref(), Some("/"));
        assert!(parse_membership(b"garbage\n").is_err());
    }

    #[test]
    fn mounts() {
        let data = b"31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n\
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n\
41 31 0:38 /kube /sys/fs/cgroup/uni\\040fied rw,relatime shared:5 - cgroup2 cgroup2 rw\n";
        let m = parse_mounts(data).unwrap();
        assert_eq!(m.v1_memory.unwrap().mount_point, "/sys/fs/cgroup/memory");
        let v2 = m.v2.unwrap();
        assert_eq!(v2.mount_point, "/sys/fs/cgroup/uni fied");
        assert_eq!(v2.root, "/kube");
        assert!(parse_mounts(b"1 2 3\n").is_err());
    }

    #[test]
    fn values() {
        assert_eq!(parse_limit(b"max\n").unwrap(), None);
        assert_eq!(parse_limit(b"67108864\n").unwrap(), Some(64 << 20));
        assert!(parse_limit(b"-1").is_err());
        assert_eq!(parse_value(b"12\n").unwrap(), 12);
        let stat = b"cache 10\ninactive_file 4096\ntotal_inactive_file 8192\n";
        assert_eq!(parse_keyed(stat, b"inactive_file").unwrap(), Some(4096));
        assert_eq!(
            parse_keyed(stat, b"total_inactive_file").unwrap(),
            Some(8192)
        );
        assert_eq!(parse_keyed(stat, b"nope").unwrap(), None);
    }

    #[test]
    fn pressure() {
        let data = b"some avg10=1.50 avg60=0.25 avg300=0.00 total=2500000\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=12\n";
        let p = parse_pressure(data).unwrap();
        assert_eq!(p.some.avg10, 1.5);
        assert_eq!(p.some.total, 2.5);
        assert_eq!(p.full.total, 12e-6);
        assert!(parse_pressure(b"some avg10=x\n").is_err());
        assert!(parse_pressure(b"some avg10=1\n").is_err(), "no full line");
    }

    proptest! {
        #[test]
        fn never_panic(data: Vec<u8>) {
            let _ = parse_membership(&data);
            let _ = parse_mounts(&data);
            let _ = parse_limit(&data);
            let _ = parse_keyed(&data, b"oom_kill");
            let _ = parse_pressure(&data);
        }
    }
}
