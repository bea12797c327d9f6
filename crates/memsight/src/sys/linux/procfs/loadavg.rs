//! `/proc/loadavg`: `1.02 0.84 0.61 3/412 12345`. memsight reads the fourth field's first half:
//! the number of runnable tasks right now (the reader among them). See proc_loadavg(5).

use crate::error::ParseError;
use crate::sys::procfs::text::parse_u64;

/// The runnable tasks (`3` in `3/412`), the reading task included.
pub(crate) fn parse_running(data: &[u8]) -> Result<u64, ParseError> {
    let field = data
        .split(u8::is_ascii_whitespace)
        .filter(|f| !f.is_empty())
        .nth(3)
        .ok_or_else(|| ParseError::new(1, "fewer than 4 fields"))?;
    let running = field
        .split(|&b| b == b'/')
        .next()
        .and_then(parse_u64)
        .ok_or_else(|| ParseError::new(1, "field 4 is not running/total"))?;
    Ok(running)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn running_is_the_first_half_of_field_four() {
        assert_eq!(parse_running(b"2.27 1.19 0.50 3/250 1234\n").unwrap(), 3);
        assert_eq!(parse_running(b"0.00 0.00 0.00 1/80 11206\n").unwrap(), 1);
    }

    #[test]
    fn short_or_bad_lines_are_errors() {
        assert!(parse_running(b"0.00 0.00 0.00\n").is_err());
        assert!(parse_running(b"0.00 0.00 0.00 x/80 1\n").is_err());
    }

    proptest! {
        #[test]
        fn never_panics(data: Vec<u8>) {
            let _ = parse_running(&data);
        }
    }
}
