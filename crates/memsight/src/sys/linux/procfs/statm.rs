//! `/proc/PID/statm`: seven page counts on one line. See proc_pid_statm(5).

use crate::error::ParseError;
use crate::sys::procfs::text::parse_u64;

/// The seven fields of `/proc/PID/statm`, in pages, in the file's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Statm {
    /// `size`: total program size (VmSize).
    pub size: u64,
    /// `resident`: resident set size (RssAnon + RssFile + RssShmem).
    pub resident: u64,
    /// `shared`: resident file-backed and shmem pages (RssFile + RssShmem).
    pub shared: u64,
    /// `text`: program code.
    pub text: u64,
    /// `lib`: always 0 since Linux 2.6.
    pub lib: u64,
    /// `data`: data plus stack.
    pub data: u64,
    /// `dt`: dirty pages, always 0 since Linux 2.6.
    pub dt: u64,
}

/// Parses the contents of `/proc/PID/statm`.
pub(crate) fn parse(data: &[u8]) -> Result<Statm, ParseError> {
    let mut values = [0u64; 7];
    let mut fields = data
        .split(u8::is_ascii_whitespace)
        .filter(|f| !f.is_empty());
    for (i, value) in values.iter_mut().enumerate() {
        let field = fields
            .next()
            .ok_or_else(|| ParseError::new(1, format!("{i} fields, expected 7")))?;
        *value = parse_u64(field)
            .ok_or_else(|| ParseError::new(1, format!("field {} is not a number", i + 1)))?;
    }
    let [size, resident, shared, text, lib, data, dt] = values;
    Ok(Statm {
        size,
        resident,
        shared,
        text,
        lib,
        data,
        dt,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_seven_fields() {
        let statm = parse(b"2591 520 438 190 0 120 0\n").unwrap();
        assert_eq!(statm.size, 2591);
        assert_eq!(statm.resident, 520);
        assert_eq!(statm.shared, 438);
        assert_eq!(statm.text, 190);
        assert_eq!(statm.data, 120);
    }

    #[test]
    fn short_or_bad_lines_are_errors() {
        assert!(parse(b"1 2 3\n").is_err());
        assert!(parse(b"").is_err());
        assert!(parse(b"1 2 3 4 5 x 7").is_err());
    }

    proptest! {
        #[test]
        fn never_panics(data: Vec<u8>) {
            let _ = parse(&data);
        }

        #[test]
        fn round_trips(v in proptest::array::uniform7(any::<u64>())) {
            let line = v.map(|n| n.to_string()).join(" ");
            let s = parse(line.as_bytes()).unwrap();
            prop_assert_eq!([s.size, s.resident, s.shared, s.text, s.lib, s.data, s.dt], v);
        }
    }
}
