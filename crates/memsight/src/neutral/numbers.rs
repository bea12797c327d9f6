//! psutil's percentages: one decimal, rounded as psutil rounds on each OS.

/// `x` rounded to one decimal as Python's `round(x, 1)` does on the exact binary value (halves
/// to even): psutil's `_common.usage_percent` on Linux, macOS and Windows.
#[cfg_attr(target_os = "freebsd", allow(dead_code))]
pub(crate) fn round1(x: f64) -> f64 {
    format!("{x:.1}").parse().unwrap_or(x)
}

/// `part / total × 100` rounded by [`round1`]; 0 when `total` is 0.
#[cfg_attr(target_os = "freebsd", allow(dead_code))]
pub(crate) fn percent(part: u64, total: u64) -> f64 {
    percent_rounded(part, total, round1)
}

/// `x` rounded to one decimal the way psutil's C helper rounds on FreeBSD (`arch/all/utils.c`:
/// `round(x * 10) / 10`, halves away from zero).
#[cfg_attr(not(any(test, target_os = "freebsd")), allow(dead_code))]
pub(crate) fn round1_half_away(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// psutil's C `usage_percent(used, total, 1)` (FreeBSD): `part / total × 100` rounded by
/// [`round1_half_away`]; 0 when `total` is 0.
#[cfg_attr(not(any(test, target_os = "freebsd")), allow(dead_code))]
pub(crate) fn percent_half_away(part: u64, total: u64) -> f64 {
    percent_rounded(part, total, round1_half_away)
}

/// `part / total × 100` rounded by `round`; 0 when `total` is 0 (psutil's `usage_percent`).
fn percent_rounded(part: u64, total: u64, round: fn(f64) -> f64) -> f64 {
    if total == 0 {
        0.0
    } else {
        round(part as f64 / total as f64 * 100.0)
    }
}

/// A sysctl integer as the kernel returned it: 4 bytes (`u_int`, or a 64-bit counter the kernel
/// truncated for an old-size request) or 8 bytes (`u_long`, `uint64_t`, `counter_u64`), native
/// byte order. Any other length is `None`. (macOS and FreeBSD; pure, so tested everywhere.)
#[cfg(any(test, target_os = "macos", target_os = "freebsd"))]
pub(crate) fn ne_uint(bytes: &[u8]) -> Option<u64> {
    match bytes.len() {
        4 => Some(u64::from(u32::from_ne_bytes(bytes.try_into().ok()?))),
        8 => Some(u64::from_ne_bytes(bytes.try_into().ok()?)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysctl_integers_are_4_or_8_bytes() {
        assert_eq!(ne_uint(&7u32.to_ne_bytes()), Some(7));
        assert_eq!(ne_uint(&(5u64 << 33).to_ne_bytes()), Some(5 << 33));
        assert_eq!(ne_uint(&24_000_000u64.to_ne_bytes()), Some(24_000_000));
        assert_eq!(ne_uint(&[1, 2]), None);
        assert_eq!(ne_uint(&[]), None);
    }

    #[test]
    fn percent_rounds_like_python() {
        assert_eq!(percent(0, 0), 0.0);
        assert_eq!(percent(1, 3), 33.3);
        assert_eq!(percent(2, 3), 66.7);
        assert_eq!(percent(1, 8), 12.5);
        // round(0.25, 1) == 0.2 in Python (half to even on an exact binary value).
        assert_eq!(percent(1, 400), 0.2);
        assert_eq!(round1(6.25), 6.2);
    }

    #[test]
    fn round1_half_away_goes_half_away_from_zero_like_psutils_c() {
        // 6.25 is exact in binary: C's round(62.5) = 63, Python's round(6.25, 1) = 6.2.
        assert_eq!(round1_half_away(6.25), 6.3);
        assert_eq!(round1_half_away(68.75), 68.8);
        assert_eq!(round1_half_away(0.04), 0.0);
        assert_eq!(round1_half_away(100.0), 100.0);
    }

    #[test]
    fn percent_of_nothing_is_zero() {
        assert_eq!(percent_half_away(5, 0), 0.0);
        assert_eq!(percent_half_away(1, 4), 25.0);
        assert_eq!(percent_half_away(1, 3), 33.3);
        assert_eq!(percent(5, 0), 0.0);
    }
}
