//! The FreeBSD records (psutil 8's FreeBSD fields) and the pure conversions that fill them from raw
//! sysctl values and buffers. No FFI here: these modules are also compiled into the Linux unit
//! tests (see `sys/mod.rs`), so every formula, layout walk and error mapping is checked there with
//! values worked out by hand.

pub(crate) mod buffers;
pub(crate) mod process;
pub(crate) mod system;

/// `x` rounded to one decimal the way psutil's C helper rounds on FreeBSD (`arch/all/utils.c`:
/// `round(x * 10) / 10`, halves away from zero; Python's `round` would go to even).
pub(crate) fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// psutil's C `usage_percent(used, total, 1)`: `used / total × 100` rounded to one decimal, 0 when
/// `total` is 0.
pub(crate) fn percent(used: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        round1(used as f64 / total as f64 * 100.0)
    }
}

/// A page count in bytes, saturating at `u64::MAX`; a negative count (the kernel's signed
/// `segsz_t`) is 0.
pub(crate) fn pages(count: i64, page_size: u64) -> u64 {
    u64::try_from(count).unwrap_or(0).saturating_mul(page_size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round1_goes_half_away_from_zero_like_psutils_c() {
        // 6.25 is exact in binary: C's round(62.5) = 63, Python's round(6.25, 1) = 6.2.
        assert_eq!(round1(6.25), 6.3);
        assert_eq!(round1(68.75), 68.8);
        assert_eq!(round1(0.04), 0.0);
        assert_eq!(round1(100.0), 100.0);
    }

    #[test]
    fn percent_of_nothing_is_zero() {
        assert_eq!(percent(5, 0), 0.0);
        assert_eq!(percent(1, 4), 25.0);
        assert_eq!(percent(1, 3), 33.3);
    }

    #[test]
    fn pages_saturate_and_clamp_negatives() {
        assert_eq!(pages(3, 4096), 12288);
        assert_eq!(pages(-1, 4096), 0);
        assert_eq!(pages(i64::MAX, 4096), u64::MAX);
    }
}
