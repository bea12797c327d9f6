//! `/proc/zoneinfo`: per-zone statistics. memsight only needs the `low` watermarks, for the kernel
//! 3.14 estimate of available memory on kernels without `MemAvailable`.

use crate::error::ParseError;
use crate::sys::procfs::text::{numbered_lines, parse_u64};

/// The sum of every zone's `low` watermark, in pages (psutil: lines whose stripped form starts
/// with `low`), saturating at `u64::MAX` like every sum of kernel numbers in the crate.
pub(crate) fn parse_low_watermarks(data: &[u8]) -> Result<u64, ParseError> {
    let mut sum = 0u64;
    for (number, line) in numbered_lines(data) {
        let line = line.trim_ascii();
        if !line.starts_with(b"low") {
            continue;
        }
        let value = line
            .split(u8::is_ascii_whitespace)
            .filter(|f| !f.is_empty())
            .nth(1)
            .and_then(parse_u64)
            .ok_or_else(|| ParseError::new(number, "`low` line without a page count"))?;
        sum = sum.saturating_add(value);
    }
    Ok(sum)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sums_low_lines() {
        let data = b"Node 0, zone      DMA\n  pages free     3977\n        min      33\n        low      41\n        high     49\nNode 0, zone   Normal\n        low      1000\n";
        assert_eq!(parse_low_watermarks(data).unwrap(), 1041);
    }

    #[test]
    fn bad_low_line_is_named() {
        let err = parse_low_watermarks(b"zone\n  low\n").unwrap_err();
        assert_eq!(err.line, 2);
    }

    proptest! {
        #[test]
        fn never_panics(data: Vec<u8>) {
            let _ = parse_low_watermarks(&data);
        }
    }
}
