//! Every pure byte parser of the library under one name each, for the fuzz targets in `fuzz/`
//! (feature `fuzzing`, Linux only). Each entry parses the bytes and drops the result: the fuzzer
//! looks for panics, hangs and runaway allocations, never for a particular answer.

use crate::sys::freebsd_records::buffers as freebsd;
use crate::sys::linux::cgroups::name as cgroup_name;
use crate::sys::linux::cgroups::stat as cgroup_stat;
use crate::sys::linux::procfs as p;
use crate::sys::macos_pure::procargs as macos;
use crate::sys::windows_records as windows;

/// One parser: parses the bytes and drops the result.
pub type Parse = fn(&[u8]);

/// The parsers by name: the fuzz target of the same name runs the entry.
pub const PARSERS: &[(&str, Parse)] = &[
    ("proc_meminfo", |d| {
        drop(
            p::meminfo::parse(d)
                .map(drop)
                .and(p::meminfo::parse_fields(d).map(drop)),
        )
    }),
    ("proc_vmstat", |d| drop(p::vmstat::parse(d))),
    ("proc_zoneinfo", |d| {
        drop(p::zoneinfo::parse_low_watermarks(d))
    }),
    ("proc_loadavg", |d| drop(p::loadavg::parse_running(d))),
    ("proc_stat", |d| drop(p::proc_stat::parse_btime(d))),
    ("proc_diskstats", |d| {
        drop(p::diskstats::parse(d));
        drop(p::diskstats::parse_sys_stat(d, "sda"));
    }),
    ("pid_stat", |d| drop(p::pid_stat::parse(d))),
    ("pid_statm", |d| drop(p::statm::parse(d))),
    ("pid_status", |d| drop(p::status::parse(d))),
    ("pid_io", |d| drop(p::pid_io::parse(d))),
    ("pid_limits", |d| drop(p::limits::parse(d))),
    ("pid_cmdline", |d| drop(p::cmdline::parse(d))),
    ("pid_environ", |d| p::environ::parse(d).for_each(drop)),
    ("pid_fdinfo", |d| drop(p::fdinfo::parse(d))),
    ("pid_smaps", |d| {
        drop(p::smaps::parse(d));
        drop(p::smaps::footprint(d));
    }),
    ("pid_cgroup", |d| drop(p::cgroup::parse_membership(d))),
    ("net_tcp", |d| drop(p::net_tcp::parse(d, |_| true))),
    ("net_unix", |d| drop(p::net_unix::parse(d, |_| true))),
    ("cgroup_mountinfo", |d| drop(p::cgroup::parse_mounts(d))),
    ("cgroup_values", |d| {
        drop(p::cgroup::parse_limit(d));
        drop(p::cgroup::parse_value(d));
        drop(p::cgroup::parse_keyed(d, b"total_rss"));
        drop(p::cgroup::parse_pressure(d));
    }),
    ("cgroup_memory_stat", |d| {
        drop(cgroup_stat::parse_v2(d));
        drop(cgroup_stat::parse_v1(d));
    }),
    ("cgroup_events", |d| {
        drop(cgroup_stat::parse_events(d));
        drop(cgroup_stat::parse_oom_control(d));
        drop(cgroup_stat::parse_procs(d));
    }),
    ("cgroup_name", |d| {
        drop(cgroup_name::human_name(&String::from_utf8_lossy(d)))
    }),
    ("macos_procargs", |d| {
        drop(macos::parse(d));
        drop(macos::parse_environ(d));
    }),
    ("freebsd_buffers", |d| {
        drop(freebsd::args(d));
        drop(freebsd::environ(d));
        drop(freebsd::vm_entries(d));
        drop(freebsd::file_entries(d));
    }),
    ("windows_snapshot", |d| drop(windows::parse_snapshot(d))),
    ("windows_environ", |d| {
        let block: Vec<u16> = d
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        drop(windows::parse_environ_block(&block));
    }),
];

/// Runs the parser called `name` on `data`.
///
/// # Panics
/// When no parser has that name (a fuzz target out of step with [`PARSERS`]).
pub fn run(name: &str, data: &[u8]) {
    match PARSERS.iter().find(|(n, _)| *n == name) {
        Some((_, parse)) => parse(data),
        None => panic!("no parser named {name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_parser_takes_empty_and_odd_input() {
        for (name, _) in PARSERS {
            run(name, b"");
            run(name, b"\0\xff\n:  \t-1 18446744073709551616\n");
        }
    }

    #[test]
    fn every_parser_has_a_fuzz_target_and_every_target_a_parser() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/fuzz_targets");
        let mut targets: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter_map(|n| n.strip_suffix(".rs").map(str::to_owned))
            // `plot`'s recording readers are the CLI's, fuzzed from its source, not this table.
            .filter(|n| !n.starts_with("recording_"))
            .collect();
        targets.sort();
        let mut names: Vec<&str> = PARSERS.iter().map(|(n, _)| *n).collect();
        names.sort_unstable();
        assert_eq!(targets, names);
    }
}
