//! `/proc/stat`: kernel and system statistics. memsight reads one line of it, `btime`: the time
//! the system booted, in seconds since the Unix epoch. See proc_stat(5).

use crate::error::ParseError;
use crate::sys::procfs::text::{numbered_lines, parse_u64};

/// Finds the `btime N` line of `/proc/stat` and returns N (seconds since the epoch).
pub(crate) fn parse_btime(data: &[u8]) -> Result<u64, ParseError> {
    for (number, line) in numbered_lines(data) {
        if let Some(rest) = line.strip_prefix(b"btime ") {
            return parse_u64(rest.trim_ascii())
                .ok_or_else(|| ParseError::new(number, "btime is not a number"));
        }
    }
    Err(ParseError::new(0, "no btime line"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn finds_btime_among_other_lines() {
        let data = b"cpu  1 2 3 4 5 6 7 0 0 0\ncpu0 1 2 3 4 5 6 7 0 0 0\nintr 5 0 0\nctxt 99\nbtime 1795465608\nprocesses 1000\n";
        assert_eq!(parse_btime(data).unwrap(), 1_795_465_608);
    }

    #[test]
    fn missing_or_bad_btime_is_an_error() {
        assert_eq!(parse_btime(b"cpu 1 2\n").unwrap_err().line, 0);
        assert_eq!(parse_btime(b"cpu 1\nbtime x\n").unwrap_err().line, 2);
    }

    proptest! {
        #[test]
        fn never_panics(data: Vec<u8>) {
            let _ = parse_btime(&data);
        }
    }
}
