//! Byte-level helpers shared by the parsers: splitting `Key: value kB` lines and reading numbers.
//! Nothing here allocates.

/// Splits `Key: value` at the first colon, trimming ASCII whitespace around both halves.
/// Works with or without a space after the colon (`ShadowCallStack:10373888 kB`).
pub(crate) fn key_value(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = memchr::memchr(b':', line)?;
    Some((line[..colon].trim_ascii(), line[colon + 1..].trim_ascii()))
}

/// Parses an unsigned decimal integer with no sign, no spaces and no overflow.
pub(crate) fn parse_u64(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |acc, &b| {
        if b.is_ascii_digit() {
            acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

/// Parses a signed decimal integer (`-5`, `12`).
pub(crate) fn parse_i64(digits: &[u8]) -> Option<i64> {
    match digits.split_first() {
        Some((b'-', rest)) => parse_u64(rest)
            .and_then(|v| i64::try_from(v).ok())
            .map(|v| -v),
        _ => parse_u64(digits).and_then(|v| i64::try_from(v).ok()),
    }
}

/// Parses a `/proc` size value: `1234 kB` gives 1234 × 1024 bytes; a bare number (a count, such as
/// `HugePages_Total`) is returned as it is. The kB conversion saturates at `u64::MAX`, as every sum
/// and product of kernel numbers in the crate does.
pub(crate) fn parse_size(value: &[u8]) -> Option<u64> {
    match value.strip_suffix(b"kB") {
        Some(number) => Some(parse_u64(number.trim_ascii())?.saturating_mul(1024)),
        None => parse_u64(value),
    }
}

/// Iterates over the lines of `data` with their 1-based numbers, skipping empty lines.
pub(crate) fn numbered_lines(data: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let mut start = 0;
    let ends = memchr::memchr_iter(b'\n', data).chain(std::iter::once(data.len()));
    ends.enumerate()
        .map(move |(i, end)| {
            let line = data.get(start..end).unwrap_or_default();
            start = end + 1;
            (i + 1, line)
        })
        .filter(|(_, line)| !line.trim_ascii().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn key_value_with_and_without_space() {
        assert_eq!(
            key_value(b"MemTotal:       24683656 kB"),
            Some((&b"MemTotal"[..], &b"24683656 kB"[..]))
        );
        assert_eq!(
            key_value(b"ShadowCallStack:10373888 kB"),
            Some((&b"ShadowCallStack"[..], &b"10373888 kB"[..]))
        );
        assert_eq!(key_value(b"no colon here"), None);
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size(b"12 kB"), Some(12 * 1024));
        assert_eq!(parse_size(b"12kB"), Some(12 * 1024));
        assert_eq!(parse_size(b"7"), Some(7));
        assert_eq!(parse_size(b""), None);
        assert_eq!(parse_size(b"x kB"), None);
        assert_eq!(
            parse_size(b"18446744073709551615 kB"),
            Some(u64::MAX),
            "saturates"
        );
    }

    #[test]
    fn integers() {
        assert_eq!(parse_u64(b"0"), Some(0));
        assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64(b"18446744073709551616"), None);
        assert_eq!(parse_u64(b"+1"), None);
        assert_eq!(parse_i64(b"-20"), Some(-20));
        assert_eq!(parse_i64(b"19"), Some(19));
        assert_eq!(parse_i64(b"-"), None);
    }

    proptest! {
        #[test]
        fn parse_u64_round_trips(n: u64) {
            prop_assert_eq!(parse_u64(n.to_string().as_bytes()), Some(n));
        }
    }
}
