//! The FreeBSD records (psutil 8's FreeBSD fields) and the pure conversions that fill them from raw
//! sysctl values and buffers. No FFI here: these modules are also compiled into the Linux unit
//! tests (see `sys/mod.rs`), so every formula, layout walk and error mapping is checked there with
//! values worked out by hand.

pub(crate) mod buffers;
pub(crate) mod process;
pub(crate) mod system;

/// A page count in bytes, saturating at `u64::MAX`; a negative count (the kernel's signed
/// `segsz_t`) is 0.
pub(crate) fn pages(count: i64, page_size: u64) -> u64 {
    u64::try_from(count).unwrap_or(0).saturating_mul(page_size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_saturate_and_clamp_negatives() {
        assert_eq!(pages(3, 4096), 12288);
        assert_eq!(pages(-1, 4096), 0);
        assert_eq!(pages(i64::MAX, 4096), u64::MAX);
    }
}
