//! `/proc/vmstat`: `name value` lines of virtual-memory event counters.

use crate::error::ParseError;
use crate::sys::procfs::text::{numbered_lines, parse_u64};

/// The swap counters of `/proc/vmstat`, in pages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SwapCounters {
    /// `pswpin`: pages swapped in since boot.
    pub pswpin: Option<u64>,
    /// `pswpout`: pages swapped out since boot.
    pub pswpout: Option<u64>,
}

/// Parses `/proc/vmstat`; every line must be `name number`.
pub(crate) fn parse(data: &[u8]) -> Result<SwapCounters, ParseError> {
    let mut counters = SwapCounters::default();
    for (number, line) in numbered_lines(data) {
        let mut fields = line.split(|&b| b == b' ').filter(|f| !f.is_empty());
        let (Some(name), Some(value), None) = (fields.next(), fields.next(), fields.next()) else {
            return Err(ParseError::new(number, "expected `name value`"));
        };
        let value = parse_u64(value.trim_ascii()).ok_or_else(|| {
            ParseError::new(
                number,
                format!("bad value for {}", String::from_utf8_lossy(name)),
            )
        })?;
        match name {
            b"pswpin" => counters.pswpin = Some(value),
            b"pswpout" => counters.pswpout = Some(value),
            _ => {}
        }
    }
    Ok(counters)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn finds_swap_counters() {
        let c = parse(b"nr_free_pages 6147636\npswpin 12\npswpout 34\n").unwrap();
        assert_eq!((c.pswpin, c.pswpout), (Some(12), Some(34)));
        assert_eq!(
            parse(b"nr_free_pages 1\n").unwrap(),
            SwapCounters::default()
        );
    }

    #[test]
    fn bad_line_is_named() {
        assert_eq!(parse(b"a 1\nb\n").unwrap_err().line, 2);
        assert_eq!(parse(b"a 1\npswpin x\n").unwrap_err().line, 2);
    }

    proptest! {
        #[test]
        fn never_panics(data: Vec<u8>) {
            let _ = parse(&data);
        }
    }
}
