//! Size arguments (`--max-uss 512M`): one parser for every flag that takes a size.
//!
//! A size is a number and an optional unit, case-insensitive, with optional spaces between:
//! - no unit or `B`: bytes, a whole number (`4096`, `4096B`);
//! - `K`, `M`, `G`, `T`, each also written `KB`/`KiB`, `MB`/`MiB`, ...: powers of 1024, and the
//!   number may have a decimal fraction (`1.5G`), rounded down to a whole byte.
//!
//! Anything else is refused with a message naming the accepted units: `5IB`, `5KBB`, `1.5`
//! (a fraction of a byte), `1e3`, `-1`, `0x10`, and sizes past `u64::MAX` bytes.

/// The units, for the messages.
const UNITS: &str = "B, K, M, G or T (KB/KiB, MB/MiB, ... alike; powers of 1024)";

/// Parses a size into bytes by the rules of the module.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let shift = match unit.trim_start().to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        "T" | "TB" | "TIB" => 40,
        _ => return Err(format!("not a size: {s:?} (units: {UNITS})")),
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !(fraction.is_empty() || digits(fraction)) || number.ends_with('.') {
        return Err(format!("not a size: {s:?} (a number, then {UNITS})"));
    }
    if !fraction.is_empty() && shift == 0 {
        return Err(format!(
            "not a size: {s:?} (a number of bytes is whole; a fraction needs a unit: {UNITS})"
        ));
    }
    let too_large = || format!("size too large: {s:?} (at most {} bytes)", u64::MAX);
    let whole: u128 = whole.parse().map_err(|_| too_large())?;
    let mut bytes = whole
        .checked_shl(shift)
        .filter(|&b| b <= u128::from(u64::MAX));
    if !fraction.is_empty() {
        // Exact decimal arithmetic: only the first 20 digits can matter below one byte in 2^40.
        let digits = &fraction[..fraction.len().min(20)];
        let numerator: u128 = digits.parse().map_err(|_| too_large())?;
        let denominator = 10u128.pow(digits.len() as u32);
        bytes = bytes.and_then(|b| b.checked_add((numerator << shift) / denominator));
    }
    bytes
        .and_then(|b| u64::try_from(b).ok())
        .ok_or_else(too_large)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn documented_units() {
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("4096B"), Ok(4096));
        assert_eq!(parse_size("5k"), Ok(5 << 10));
        assert_eq!(parse_size("5 KiB"), Ok(5 << 10));
        assert_eq!(parse_size("5kb"), Ok(5 << 10));
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("1.5G"), Ok(3 << 29));
        assert_eq!(parse_size("2TiB"), Ok(2 << 40));
        assert_eq!(parse_size(" 7m "), Ok(7 << 20));
        // Rounded down to a whole byte.
        assert_eq!(parse_size("0.1K"), Ok(102));
        assert_eq!(parse_size("16777215.99999999999999999999T"), Ok(u64::MAX));
    }

    #[test]
    fn everything_else_is_refused() {
        for bad in [
            "5IB", "5KBB", "5KIBB", "1.5", "1.5B", "1e3", "-1", "+1", "0x10", "", "K", ".5K",
            "5.K", "1..5K", "5 K B", "5P", "inf", "NaN", "5 iB", "١٢",
        ] {
            let err = parse_size(bad).unwrap_err();
            assert!(err.contains("not a size"), "{bad:?}: {err}");
        }
        assert!(parse_size("16777216T").unwrap_err().contains("too large"));
        assert!(
            parse_size("99999999999999999999999999999999999999999")
                .unwrap_err()
                .contains("too large")
        );
        assert_eq!(parse_size("18446744073709551615"), Ok(u64::MAX));
        assert!(parse_size("18446744073709551616").is_err());
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,24}") {
            let _ = parse_size(&s);
        }

        #[test]
        fn whole_numbers_with_units_are_exact(n in 0u64..(1 << 20), unit in 0usize..5) {
            let (name, shift) = [("", 0), ("K", 10), ("MiB", 20), ("gb", 30), ("T", 40)][unit];
            prop_assert_eq!(parse_size(&format!("{n}{name}")), Ok(n << shift));
        }

        #[test]
        fn fractions_round_down(whole in 0u64..1024, tenths in 0u64..10) {
            let got = parse_size(&format!("{whole}.{tenths}M")).unwrap();
            prop_assert_eq!(got, (whole << 20) + (tenths << 20) / 10);
        }

        #[test]
        fn a_suffix_after_a_unit_is_refused(n in 0u64..1000, extra in "[a-zA-Z]{1,3}") {
            let arg = format!("{n}KiB{extra}");
            prop_assert!(parse_size(&arg).is_err());
        }
    }
}
