//! `/proc/PID/status`: `Key:\tvalue` lines, human-readable. See proc_pid_status(5).
//!
//! One read serves uids, gids, num_threads, num_ctx_switches and memory_info_ex (psutil's
//! `_read_status_file`). Lines memsight does not use are skipped; a line it uses that does not parse
//! is an error naming the line.

use crate::error::ParseError;
use crate::sys::procfs::text::{key_value, numbered_lines, parse_size, parse_u64};

/// The fields of `/proc/PID/status` that memsight uses. Sizes are in bytes (the file's kB × 1024);
/// a field the running kernel does not print is `None` (psutil then answers 0, or
/// NotImplementedError for the context switches).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Status {
    /// `Name`: the command name (escaped by the kernel: `\n` as `\\n`, `\` as `\\\\`).
    pub name: Vec<u8>,
    /// `State`: the one-letter state (`R`, `S`, `D`, `Z`, ...), without the word in parentheses.
    pub state: u8,
    /// `Tgid`: the thread group id (the process id).
    pub tgid: Option<u32>,
    /// `PPid`: the parent's pid.
    pub ppid: Option<u32>,
    /// `Uid`: real, effective, saved set and filesystem user ids.
    pub uid: Option<[u32; 4]>,
    /// `Gid`: real, effective, saved set and filesystem group ids.
    pub gid: Option<[u32; 4]>,
    /// `Threads`: the number of threads.
    pub threads: Option<u64>,
    /// `voluntary_ctxt_switches` (Linux 2.6.23 and later).
    pub voluntary_ctxt_switches: Option<u64>,
    /// `nonvoluntary_ctxt_switches` (Linux 2.6.23 and later).
    pub nonvoluntary_ctxt_switches: Option<u64>,
    /// `VmPeak`: peak virtual memory size, bytes.
    pub vm_peak: Option<u64>,
    /// `VmSize`: virtual memory size, bytes.
    pub vm_size: Option<u64>,
    /// `VmHWM`: peak resident set size ("high water mark"), bytes.
    pub vm_hwm: Option<u64>,
    /// `VmRSS`: resident set size (RssAnon + RssFile + RssShmem), bytes.
    pub vm_rss: Option<u64>,
    /// `RssAnon`: resident anonymous memory, bytes (Linux 4.5 and later).
    pub rss_anon: Option<u64>,
    /// `RssFile`: resident file mappings, bytes (Linux 4.5 and later).
    pub rss_file: Option<u64>,
    /// `RssShmem`: resident shared memory (shmem, tmpfs, SysV shm), bytes (Linux 4.5 and later).
    pub rss_shmem: Option<u64>,
    /// `VmSwap`: swapped-out anonymous memory, bytes (shmem swap not included).
    pub vm_swap: Option<u64>,
    /// `HugetlbPages`: hugetlbfs memory, bytes (Linux 4.4 and later).
    pub hugetlb_pages: Option<u64>,
}

/// Parses the contents of `/proc/PID/status`.
pub(crate) fn parse(data: &[u8]) -> Result<Status, ParseError> {
    let mut status = Status::default();
    for (number, line) in numbered_lines(data) {
        let Some((key, value)) = key_value(line) else {
            continue;
        };
        let bad = || {
            ParseError::new(
                number,
                format!("bad value for {}", String::from_utf8_lossy(key)),
            )
        };
        let size = || parse_size(value).ok_or_else(bad);
        let count = || parse_u64(value).ok_or_else(bad);
        let id = || {
            parse_u64(value)
                .and_then(|v| u32::try_from(v).ok())
                .ok_or_else(bad)
        };
        match key {
            // The name keeps its inner spaces and tabs: take everything after `Name:\t`.
            b"Name" => status.name = name_value(line).to_vec(),
            b"State" => status.state = *value.first().ok_or_else(bad)?,
            b"Tgid" => status.tgid = Some(id()?),
            b"PPid" => status.ppid = Some(id()?),
            b"Uid" => status.uid = Some(four_ids(value).ok_or_else(bad)?),
            b"Gid" => status.gid = Some(four_ids(value).ok_or_else(bad)?),
            b"Threads" => status.threads = Some(count()?),
            b"voluntary_ctxt_switches" => status.voluntary_ctxt_switches = Some(count()?),
            b"nonvoluntary_ctxt_switches" => status.nonvoluntary_ctxt_switches = Some(count()?),
            b"VmPeak" => status.vm_peak = Some(size()?),
            b"VmSize" => status.vm_size = Some(size()?),
            b"VmHWM" => status.vm_hwm = Some(size()?),
            b"VmRSS" => status.vm_rss = Some(size()?),
            b"RssAnon" => status.rss_anon = Some(size()?),
            b"RssFile" => status.rss_file = Some(size()?),
            b"RssShmem" => status.rss_shmem = Some(size()?),
            b"VmSwap" => status.vm_swap = Some(size()?),
            b"HugetlbPages" => status.hugetlb_pages = Some(size()?),
            _ => {}
        }
    }
    if status.state == 0 && status.name.is_empty() && status.uid.is_none() {
        return Err(ParseError::new(0, "no Name, State or Uid line"));
    }
    Ok(status)
}

/// The raw value of the `Name:` line: everything after the first tab (or after `Name:` and any
/// spaces), so a name with leading or trailing spaces survives.
fn name_value(line: &[u8]) -> &[u8] {
    let rest = line.strip_prefix(b"Name:").unwrap_or(line);
    rest.strip_prefix(b"\t")
        .unwrap_or_else(|| rest.trim_ascii())
}

/// `0\t1000\t1000\t1000` -> four ids.
fn four_ids(value: &[u8]) -> Option<[u32; 4]> {
    let mut ids = [0u32; 4];
    let mut fields = value
        .split(u8::is_ascii_whitespace)
        .filter(|f| !f.is_empty());
    for id in &mut ids {
        *id = u32::try_from(parse_u64(fields.next()?)?).ok()?;
    }
    Some(ids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const STATUS: &[u8] = b"Name:\tmy  prog \nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t4242\n\
Ngid:\t0\nPid:\t4242\nPPid:\t1\nTracerPid:\t0\nUid:\t1000\t1001\t1002\t1003\n\
Gid:\t100\t101\t102\t103\nFDSize:\t64\nGroups:\t \nVmPeak:\t    3060 kB\nVmSize:\t    3056 kB\n\
VmLck:\t       0 kB\nVmHWM:\t    1608 kB\nVmRSS:\t    1600 kB\nRssAnon:\t     112 kB\n\
RssFile:\t    1488 kB\nRssShmem:\t       0 kB\nVmSwap:\t      12 kB\nHugetlbPages:\t    2048 kB\n\
Threads:\t3\nCpus_allowed_list:\t0-1\nvoluntary_ctxt_switches:\t7\nnonvoluntary_ctxt_switches:\t9\n";

    #[test]
    fn parses_every_used_field() {
        let s = parse(STATUS).unwrap();
        assert_eq!(s.name, b"my  prog ");
        assert_eq!(s.state, b'S');
        assert_eq!(s.tgid, Some(4242));
        assert_eq!(s.ppid, Some(1));
        assert_eq!(s.uid, Some([1000, 1001, 1002, 1003]));
        assert_eq!(s.gid, Some([100, 101, 102, 103]));
        assert_eq!(s.threads, Some(3));
        assert_eq!(s.voluntary_ctxt_switches, Some(7));
        assert_eq!(s.nonvoluntary_ctxt_switches, Some(9));
        assert_eq!(s.vm_peak, Some(3060 * 1024));
        assert_eq!(s.vm_size, Some(3056 * 1024));
        assert_eq!(s.vm_hwm, Some(1608 * 1024));
        assert_eq!(s.vm_rss, Some(1600 * 1024));
        assert_eq!(s.rss_anon, Some(112 * 1024));
        assert_eq!(s.rss_file, Some(1488 * 1024));
        assert_eq!(s.rss_shmem, Some(0));
        assert_eq!(s.vm_swap, Some(12 * 1024));
        assert_eq!(s.hugetlb_pages, Some(2048 * 1024));
    }

    #[test]
    fn kernel_thread_has_no_vm_lines() {
        let s = parse(
            b"Name:\tkthreadd\nState:\tS (sleeping)\nPPid:\t0\nUid:\t0\t0\t0\t0\nThreads:\t1\n",
        )
        .unwrap();
        assert_eq!(s.vm_rss, None);
        assert_eq!(s.rss_anon, None);
        assert_eq!(s.voluntary_ctxt_switches, None);
    }

    #[test]
    fn bad_used_line_names_the_line() {
        let err = parse(b"Name:\tx\nState:\tS\nUid:\t0\t0\n").unwrap_err();
        assert_eq!(err.line, 3);
        let err = parse(b"Name:\tx\nVmRSS:\tlots kB\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(parse(b"").is_err());
    }

    #[test]
    fn key_without_space_after_colon() {
        let s = parse(b"Name:\tx\nVmRSS:1600 kB\nUid:0 0 0 0\n").unwrap();
        assert_eq!(s.vm_rss, Some(1600 * 1024));
        assert_eq!(s.uid, Some([0; 4]));
    }

    proptest! {
        #[test]
        fn never_panics(data: Vec<u8>) {
            let _ = parse(&data);
        }

        #[test]
        fn uids_round_trip(ids: [u32; 4]) {
            let text = format!("Name:\tx\nUid:\t{}\t{}\t{}\t{}\n", ids[0], ids[1], ids[2], ids[3]);
            prop_assert_eq!(parse(text.as_bytes()).unwrap().uid, Some(ids));
        }
    }
}
