//! `/proc/PID/fdinfo/FD`: the file offset and open flags of one descriptor (`pos:\t0`,
//! `flags:\t0100002`, octal). See proc_pid_fdinfo(5).

use crate::error::ParseError;
use crate::sys::procfs::text::{key_value, numbered_lines, parse_u64};

/// The `pos` and `flags` lines of an fdinfo file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FdInfo {
    /// `pos`: the file offset, in bytes.
    pub pos: u64,
    /// `flags`: the `open(2)` flags and status flags (printed in octal by the kernel).
    pub flags: u32,
}

/// Parses an fdinfo file; `pos` and `flags` are required.
pub(crate) fn parse(data: &[u8]) -> Result<FdInfo, ParseError> {
    let (mut pos, mut flags) = (None, None);
    for (number, line) in numbered_lines(data) {
        let Some((key, value)) = key_value(line) else {
            continue;
        };
        match key {
            b"pos" => {
                pos = Some(parse_u64(value).ok_or_else(|| ParseError::new(number, "bad pos"))?)
            }
            b"flags" => {
                flags =
                    Some(parse_octal(value).ok_or_else(|| ParseError::new(number, "bad flags"))?)
            }
            _ => {}
        }
        if pos.is_some() && flags.is_some() {
            break;
        }
    }
    match (pos, flags) {
        (Some(pos), Some(flags)) => Ok(FdInfo { pos, flags }),
        _ => Err(ParseError::new(0, "no pos or flags line")),
    }
}

fn parse_octal(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u32, |acc, &b| match b {
        b'0'..=b'7' => acc.checked_mul(8)?.checked_add(u32::from(b - b'0')),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_pos_and_octal_flags() {
        let info = parse(b"pos:\t1234\nflags:\t0102002\nmnt_id:\t24\nino:\t3\n").unwrap();
        assert_eq!(
            info,
            FdInfo {
                pos: 1234,
                flags: 0o102002
            }
        );
    }

    #[test]
    fn bad_flags_name_the_line() {
        assert_eq!(parse(b"pos:\t0\nflags:\t0198\n").unwrap_err().line, 2);
        assert_eq!(parse(b"pos:\t0\n").unwrap_err().line, 0);
    }

    proptest! {
        #[test]
        fn never_panics(data: Vec<u8>) {
            let _ = parse(&data);
        }
    }
}
