//! `/proc/PID/io`: I/O statistics of a process (`rchar: 6976` lines). Reading it needs
//! `PTRACE_MODE_READ` on the process. See proc_pid_io(5).

use crate::error::ParseError;
use crate::sys::procfs::text::{key_value, numbered_lines, parse_u64};

/// The counters of `/proc/PID/io`, as the kernel prints them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Io {
    /// `rchar`: bytes passed to read(2) and similar calls, cache hits included.
    pub rchar: u64,
    /// `wchar`: bytes passed to write(2) and similar calls.
    pub wchar: u64,
    /// `syscr`: read system calls.
    pub syscr: u64,
    /// `syscw`: write system calls.
    pub syscw: u64,
    /// `read_bytes`: bytes really fetched from the storage layer.
    pub read_bytes: u64,
    /// `write_bytes`: bytes sent to the storage layer.
    pub write_bytes: u64,
}

/// Parses `/proc/PID/io`. Every one of the six fields must be present (psutil raises otherwise).
pub(crate) fn parse(data: &[u8]) -> Result<Io, ParseError> {
    let mut io = Io::default();
    let mut seen = 0u8;
    for (number, line) in numbered_lines(data) {
        let Some((key, value)) = key_value(line) else {
            return Err(ParseError::new(number, "expected `key: value`"));
        };
        let (slot, bit) = match key {
            b"rchar" => (&mut io.rchar, 1),
            b"wchar" => (&mut io.wchar, 2),
            b"syscr" => (&mut io.syscr, 4),
            b"syscw" => (&mut io.syscw, 8),
            b"read_bytes" => (&mut io.read_bytes, 16),
            b"write_bytes" => (&mut io.write_bytes, 32),
            _ => continue,
        };
        *slot = parse_u64(value).ok_or_else(|| {
            ParseError::new(
                number,
                format!("bad value for {}", String::from_utf8_lossy(key)),
            )
        })?;
        seen |= bit;
    }
    if seen != 63 {
        return Err(ParseError::new(
            0,
            "missing one of rchar wchar syscr syscw read_bytes write_bytes",
        ));
    }
    Ok(io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_every_counter() {
        let data = b"rchar: 6976\nwchar: 12\nsyscr: 10\nsyscw: 2\nread_bytes: 4096\nwrite_bytes: 8192\ncancelled_write_bytes: 0\n";
        assert_eq!(
            parse(data).unwrap(),
            Io {
                rchar: 6976,
                wchar: 12,
                syscr: 10,
                syscw: 2,
                read_bytes: 4096,
                write_bytes: 8192
            }
        );
    }

    #[test]
    fn missing_or_bad_fields_are_errors() {
        assert_eq!(parse(b"rchar: 1\n").unwrap_err().line, 0);
        assert_eq!(parse(b"rchar: x\n").unwrap_err().line, 1);
    }

    proptest! {
        #[test]
        fn never_panics(data: Vec<u8>) {
            let _ = parse(&data);
        }
    }
}
