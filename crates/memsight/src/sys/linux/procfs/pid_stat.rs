//! `/proc/PID/stat`: one line of space-separated fields, the second of which (the command name in
//! parentheses) may itself contain spaces and parentheses. See proc_pid_stat(5).

use crate::error::ParseError;
use crate::sys::procfs::text::{parse_i64, parse_u64};

/// The fields of `/proc/PID/stat` that memsight uses, in the kernel's units (clock ticks, pages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PidStat {
    /// Field 2: the command name, up to 15 bytes (`TASK_COMM_LEN - 1`), without the parentheses.
    pub comm: Vec<u8>,
    /// Field 3: the one-letter state (`R`, `S`, `D`, `Z`, ...).
    pub state: u8,
    /// Field 4: the parent's pid.
    pub ppid: u32,
    /// Field 7: the controlling terminal's device number.
    pub tty_nr: u64,
    /// Field 9: the kernel flags word (`PF_*`; `PF_KTHREAD` = 0x0020_0000 marks a kernel thread).
    pub flags: u64,
    /// Field 10: minor faults.
    pub minflt: u64,
    /// Field 12: major faults.
    pub majflt: u64,
    /// Field 14: user time, in clock ticks.
    pub utime: u64,
    /// Field 15: system time, in clock ticks.
    pub stime: u64,
    /// Field 16: waited-for children's user time, in clock ticks.
    pub cutime: u64,
    /// Field 17: waited-for children's system time, in clock ticks.
    pub cstime: u64,
    /// Field 19: the nice value, -20 to 19.
    pub nice: i64,
    /// Field 20: the number of threads.
    pub num_threads: u64,
    /// Field 22: the start time after boot, in clock ticks.
    pub starttime: u64,
    /// Field 39: the CPU the process last ran on (0 if absent).
    pub processor: u64,
    /// Field 42: aggregated block I/O delays, in clock ticks (0 if absent).
    pub delayacct_blkio_ticks: u64,
}

/// Parses the contents of `/proc/PID/stat`.
pub(crate) fn parse(data: &[u8]) -> Result<PidStat, ParseError> {
    let open = data
        .iter()
        .position(|&b| b == b'(')
        .ok_or_else(|| ParseError::new(1, "no `(` before the command name"))?;
    let close = data
        .iter()
        .rposition(|&b| b == b')')
        .filter(|&c| c > open)
        .ok_or_else(|| ParseError::new(1, "no `)` after the command name"))?;
    let comm = data[open + 1..close].to_vec();
    // Fields from 3 on; fields[0] is field 3.
    let mut fields: [&[u8]; 40] = [b""; 40];
    let mut count = 0;
    for (slot, field) in fields.iter_mut().zip(
        data[close + 1..]
            .split(|&b| b == b' ' || b == b'\n')
            .filter(|f| !f.is_empty()),
    ) {
        *slot = field;
        count += 1;
    }
    // Field 22 (starttime) is the last one every supported kernel has.
    if count < 20 {
        return Err(ParseError::new(
            1,
            format!(
                "{} fields after the command name, expected at least 20",
                count
            ),
        ));
    }
    let field = |n: usize| fields[n - 3];
    let number = |n: usize| {
        parse_u64(field(n)).ok_or_else(|| ParseError::new(1, format!("field {n} is not a number")))
    };
    let optional = |n: usize| {
        if n - 3 < count { number(n) } else { Ok(0) }
    };
    let state = *field(3)
        .first()
        .ok_or_else(|| ParseError::new(1, "empty state field"))?;
    Ok(PidStat {
        comm,
        state,
        ppid: u32::try_from(number(4)?)
            .map_err(|_| ParseError::new(1, "ppid does not fit a pid"))?,
        tty_nr: parse_i64(field(7))
            .map(|v| v as u64)
            .ok_or_else(|| ParseError::new(1, "field 7 is not a number"))?,
        flags: number(9)?,
        minflt: number(10)?,
        majflt: number(12)?,
        utime: number(14)?,
        stime: number(15)?,
        cutime: parse_i64(field(16)).map_or(0, |v| v.max(0) as u64),
        cstime: parse_i64(field(17)).map_or(0, |v| v.max(0) as u64),
        nice: parse_i64(field(19)).ok_or_else(|| ParseError::new(1, "field 19 is not a number"))?,
        num_threads: number(20)?,
        starttime: number(22)?,
        processor: optional(39)?,
        delayacct_blkio_ticks: optional(42)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SELF: &[u8] = b"4242 (my (odd) name) S 1 4242 4242 34816 4242 4194560 1500 0 3 0 25 7 1 2 20 -5 3 0 123456 12345678 321 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 9 0 0 0 0 0 0 0 0 0 0\n";

    #[test]
    fn parses_a_name_with_spaces_and_parens() {
        let stat = parse(SELF).unwrap();
        assert_eq!(stat.comm, b"my (odd) name");
        assert_eq!(stat.state, b'S');
        assert_eq!(stat.ppid, 1);
        assert_eq!(stat.tty_nr, 34816);
        assert_eq!(stat.minflt, 1500);
        assert_eq!(stat.majflt, 3);
        assert_eq!(
            (stat.utime, stat.stime, stat.cutime, stat.cstime),
            (25, 7, 1, 2)
        );
        assert_eq!(stat.nice, -5);
        assert_eq!(stat.num_threads, 3);
        assert_eq!(stat.starttime, 123456);
        assert_eq!(stat.processor, 1);
        assert_eq!(stat.delayacct_blkio_ticks, 9);
        assert_eq!(stat.flags, 4194560);
    }

    #[test]
    fn old_kernel_without_late_fields() {
        let line = b"7 (x) R 1 7 7 0 -1 0 0 0 0 0 5 6 0 0 20 0 1 0 99 0 0\n";
        let stat = parse(line).unwrap();
        assert_eq!(stat.starttime, 99);
        assert_eq!(stat.processor, 0);
    }

    #[test]
    fn truncated_line_is_an_error() {
        let err = parse(b"7 (x) R 1 7").unwrap_err();
        assert_eq!(err.line, 1);
        assert!(parse(b"7 x R").is_err());
    }

    proptest! {
        #[test]
        fn never_panics(data: Vec<u8>) {
            let _ = parse(&data);
        }
    }
}
