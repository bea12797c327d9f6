//! `/proc/PID/limits`: the soft and hard resource limits of a process, one row per `RLIMIT_*`
//! (`Max open files            1024                 4096                 files`). Readable by every
//! user. See proc_pid_limits(5) and getrlimit(2).

use crate::error::ParseError;
use crate::sys::procfs::text::{numbered_lines, parse_u64};

/// The kernel's row labels, with the lower-case `RLIMIT_` suffix each stands for, in the
/// kernel's order.
pub(crate) const ROWS: [(&str, &str); 16] = [
    ("Max cpu time", "cpu"),
    ("Max file size", "fsize"),
    ("Max data size", "data"),
    ("Max stack size", "stack"),
    ("Max core file size", "core"),
    ("Max resident set", "rss"),
    ("Max processes", "nproc"),
    ("Max open files", "nofile"),
    ("Max locked memory", "memlock"),
    ("Max address space", "as"),
    ("Max file locks", "locks"),
    ("Max pending signals", "sigpending"),
    ("Max msgqueue size", "msgqueue"),
    ("Max nice priority", "nice"),
    ("Max realtime priority", "rtprio"),
    ("Max realtime timeout", "rttime"),
];

/// One limit: `None` stands for `unlimited` (`RLIM_INFINITY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limit {
    /// The lower-case resource name without `RLIMIT_` (`nofile`).
    pub name: &'static str,
    /// The soft limit.
    pub soft: Option<u64>,
    /// The hard limit.
    pub hard: Option<u64>,
}

/// Parses `/proc/PID/limits`. Rows the kernel adds in the future are skipped; a known row with a
/// value that is neither a number nor `unlimited` is an error naming the line.
pub(crate) fn parse(data: &[u8]) -> Result<Vec<Limit>, ParseError> {
    let mut limits = Vec::with_capacity(ROWS.len());
    for (number, line) in numbered_lines(data) {
        let Some((label, name)) = ROWS.iter().find(|(label, _)| {
            line.strip_prefix(label.as_bytes())
                .is_some_and(|rest| rest.first().is_some_and(u8::is_ascii_whitespace))
        }) else {
            continue;
        };
        let mut values = line[label.len()..]
            .split(u8::is_ascii_whitespace)
            .filter(|f| !f.is_empty());
        let mut value = || match values.next() {
            Some(b"unlimited") => Ok(None),
            Some(v) => parse_u64(v)
                .map(Some)
                .ok_or_else(|| ParseError::new(number, format!("bad value for {label}"))),
            None => Err(ParseError::new(
                number,
                format!("missing value for {label}"),
            )),
        };
        let soft = value()?;
        let hard = value()?;
        limits.push(Limit { name, soft, hard });
    }
    if limits.is_empty() {
        return Err(ParseError::new(0, "no limit rows"));
    }
    Ok(limits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const LIMITS: &[u8] =
        b"Limit                     Soft Limit           Hard Limit           Units     \n\
Max cpu time              unlimited            unlimited            seconds   \n\
Max stack size            8388608              unlimited            bytes     \n\
Max open files            20000                20000                files     \n\
Max nice priority         0                    0                    \n\
Max realtime timeout      unlimited            unlimited            us        \n";

    #[test]
    fn parses_numbers_and_unlimited() {
        let limits = parse(LIMITS).unwrap();
        assert_eq!(limits.len(), 5);
        assert_eq!(
            limits[0],
            Limit {
                name: "cpu",
                soft: None,
                hard: None
            }
        );
        assert_eq!(
            limits[1],
            Limit {
                name: "stack",
                soft: Some(8_388_608),
                hard: None
            }
        );
        assert_eq!(
            limits[2],
            Limit {
                name: "nofile",
                soft: Some(20000),
                hard: Some(20000)
            }
        );
        assert_eq!(
            limits[3],
            Limit {
                name: "nice",
                soft: Some(0),
                hard: Some(0)
            }
        );
        assert_eq!(limits[4].name, "rttime");
    }

    #[test]
    fn bad_value_names_the_line() {
        let err = parse(b"Limit x\nMax open files  12  lots  files\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(parse(b"Limit only\n").is_err());
    }

    proptest! {
        #[test]
        fn never_panics(data: Vec<u8>) {
            let _ = parse(&data);
        }
    }
}
