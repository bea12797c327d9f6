//! The per-cgroup series of `memsight serve`: every memory cgroup down to `--cgroup-depth`,
//! filtered by `--cgroup-match` and capped by `--cgroup-max`, labelled by cgroup `path` and
//! human `name`; and the system-wide memory pressure under node_exporter's names.
//!
//! Label values are bounded: a path longer than [`PATH_LABEL_MAX`] bytes (a name longer than
//! [`NAME_LABEL_MAX`]) is cut at a character boundary and ends in `~` and a 16-digit hash of the
//! whole value, so two long paths never collapse into one series.

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

use memsight::linux::{Cgroup, MemoryPressure, ProcFs, StatKind};

use super::collect::{ErrorKind, Errors, Snapshot};

/// The longest `path` label value, in bytes.
pub const PATH_LABEL_MAX: usize = 256;
/// The longest `name` label value, in bytes.
pub const NAME_LABEL_MAX: usize = 128;

/// The options of `memsight serve` that shape the cgroup series.
#[derive(Debug, Clone, clap::Args)]
pub struct CgroupArgs {
    /// Export `memsight_cgroup_*{path,name}` series for memory cgroups at most N levels below the
    /// hierarchy's root (1: /system.slice, /kubepods.slice; 3 reaches Kubernetes pods).
    #[arg(long, default_value = "3", value_name = "N")]
    pub cgroup_depth: usize,

    /// Only export cgroups whose path or human name matches REGEX (e.g. `^/kubepods`).
    #[arg(long, value_name = "REGEX")]
    pub cgroup_match: Option<regex::Regex>,

    /// Export at most N cgroups, those with the largest working set (0: no per-cgroup series and
    /// no walk); the rest are counted in `memsight_cgroups{state="left_out"}`.
    #[arg(long, default_value = "500", value_name = "N")]
    pub cgroup_max: usize,
}

/// What one scan read for these series.
#[derive(Debug, Clone, Default)]
pub struct Walked {
    /// The cgroups to export, largest working set first.
    pub cgroups: Vec<Cgroup>,
    /// Cgroups that matched but were over `--cgroup-max`.
    pub left_out: usize,
    /// Cgroups the walk could not read (permission denied, out of descriptors), left out.
    pub unreadable: usize,
    /// `/proc/pressure/memory`, when the kernel has PSI.
    pub pressure: Option<MemoryPressure>,
}

/// Walks the cgroups for one scan; a failed read is counted as a system error and leaves the
/// series out.
pub fn scan(args: &CgroupArgs, procfs: &ProcFs, errors: &mut Errors) -> Walked {
    let pressure = procfs
        .memory_pressure()
        .map_err(|_| errors.add(ErrorKind::System))
        .ok()
        .flatten();
    if args.cgroup_max == 0 {
        return Walked {
            pressure,
            ..Walked::default()
        };
    }
    let (mut cgroups, unreadable) = match procfs.cgroups_walk(args.cgroup_depth) {
        Ok(walk) => (walk.cgroups, walk.unreadable.len()),
        Err(_) => {
            errors.add(ErrorKind::System);
            (Vec::new(), 0)
        }
    };
    if let Some(re) = &args.cgroup_match {
        cgroups
            .retain(|c| re.is_match(&c.path) || c.name.as_deref().is_some_and(|n| re.is_match(n)));
    }
    // One series per path: a path in two hierarchies (never both with memory) is kept once.
    let mut seen = std::collections::HashSet::new();
    cgroups.retain(|c| seen.insert(c.path.clone()));
    cgroups.sort_by_key(|c| std::cmp::Reverse(c.working_set));
    let left_out = cgroups.len().saturating_sub(args.cgroup_max);
    cgroups.truncate(args.cgroup_max);
    Walked {
        cgroups,
        left_out,
        unreadable,
        pressure,
    }
}

/// `value` cut to at most `max` bytes: a prefix, `~`, and the FNV-1a hash of the whole value.
pub fn bounded(value: &str, max: usize) -> String {
    if value.len() <= max {
        return value.to_owned();
    }
    let hash = value.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let mut end = max.saturating_sub(17);
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}~{hash:016x}", &value[..end])
}

/// The cgroup series of one snapshot, registered next to the main collector.
#[derive(Debug)]
pub struct Series(pub Arc<Snapshot>);

type Labels = [(&'static str, String); 2];
type Labels3 = [(&'static str, String); 3];

fn labels(c: &Cgroup) -> Labels {
    [
        ("path", bounded(&c.path, PATH_LABEL_MAX)),
        (
            "name",
            bounded(c.name.as_deref().unwrap_or(""), NAME_LABEL_MAX),
        ),
    ]
}

fn with(c: &Cgroup, key: &'static str, value: &str) -> Labels3 {
    let [path, name] = labels(c);
    [path, name, (key, value.to_owned())]
}

fn gauge_value(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// One family of `kind` with a sample per `(labels, value)`; nothing when there are none.
fn family<L, V>(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    kind: MetricType,
    samples: Vec<(L, V)>,
    encode: impl Fn(V, prometheus_client::encoding::MetricEncoder) -> Result<(), std::fmt::Error>,
) -> Result<(), std::fmt::Error>
where
    L: prometheus_client::encoding::EncodeLabelSet,
{
    if samples.is_empty() {
        return Ok(());
    }
    let mut family = enc.encode_descriptor(name, help, None, kind)?;
    for (labels, value) in samples {
        encode(value, family.encode_family(&labels)?)?;
    }
    Ok(())
}

fn gauges<L: prometheus_client::encoding::EncodeLabelSet>(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    samples: Vec<(L, u64)>,
) -> Result<(), std::fmt::Error> {
    family(enc, name, help, MetricType::Gauge, samples, |v, e| {
        ConstGauge::new(gauge_value(v)).encode(e)
    })
}

fn counters<L: prometheus_client::encoding::EncodeLabelSet>(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    samples: Vec<(L, u64)>,
) -> Result<(), std::fmt::Error> {
    family(enc, name, help, MetricType::Counter, samples, |v, e| {
        ConstCounter::new(v).encode(e)
    })
}

fn seconds<L: prometheus_client::encoding::EncodeLabelSet>(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    samples: Vec<(L, f64)>,
) -> Result<(), std::fmt::Error> {
    family(enc, name, help, MetricType::Counter, samples, |v, e| {
        ConstCounter::new(v).encode(e)
    })
}

impl Collector for Series {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let walked = &self.0.cgroups;
        let all = &walked.cgroups;
        let enc = &mut enc;
        if let Some(p) = walked.pressure {
            for (name, help, total) in [
                (
                    "node_pressure_memory_waiting_seconds",
                    "Total time in seconds that processes have waited for memory (/proc/pressure/memory some total).",
                    p.some.total,
                ),
                (
                    "node_pressure_memory_stalled_seconds",
                    "Total time in seconds no process could make progress due to memory congestion (/proc/pressure/memory full total).",
                    p.full.total,
                ),
            ] {
                ConstCounter::new(total).encode(enc.encode_descriptor(
                    name,
                    help,
                    None,
                    MetricType::Counter,
                )?)?;
            }
        }
        let state = |s: &str| [("state", s.to_owned())];
        gauges(
            enc,
            "memsight_cgroups",
            "Memory cgroups found by the walk (down to --cgroup-depth, matching --cgroup-match): exported with per-cgroup series, left out by --cgroup-max, or unreadable (permission denied, out of descriptors; not matched against --cgroup-match).",
            vec![
                (state("exported"), all.len() as u64),
                (state("left_out"), walked.left_out as u64),
                (state("unreadable"), walked.unreadable as u64),
            ],
        )?;
        let mut memory = Vec::new();
        let mut limits = Vec::new();
        for c in all {
            for (memtype, value) in [
                ("usage", Some(c.usage)),
                ("working_set", Some(c.working_set)),
                ("peak", c.peak),
                ("swap", c.swap),
            ] {
                if let Some(v) = value {
                    memory.push((with(c, "memtype", memtype), v));
                }
            }
            for (limit, value) in [
                ("max", c.limit),
                ("effective", c.effective_limit),
                ("high", c.high),
                ("low", c.low),
                ("min", c.min),
                ("swap_max", c.swap_limit),
            ] {
                if let Some(v) = value {
                    limits.push((with(c, "limit", limit), v));
                }
            }
        }
        gauges(
            enc,
            "memsight_cgroup_memory_bytes",
            "Memory of the cgroup and its descendants, in bytes, by memtype: usage (memory.current / memory.usage_in_bytes, page cache included), working_set (usage - inactive_file, as the kubelet computes it), peak (memory.peak / memory.max_usage_in_bytes), swap (memory.swap.current / v1 memory.stat total_swap).",
            memory,
        )?;
        gauges(
            enc,
            "memsight_cgroup_limit_bytes",
            "Memory limits of the cgroup, in bytes, by limit: max (its own memory.max / memory.limit_in_bytes), effective (the smallest of its and its ancestors'), high, low, min (v2 memory.high/low/min), swap_max (memory.swap.max; v1 memsw limit - limit). Absent when unlimited.",
            limits,
        )?;
        let mut stat_bytes = Vec::new();
        let mut stat_counts = Vec::new();
        for c in all {
            for (name, value, kind) in c.stat.named() {
                match kind {
                    StatKind::Bytes => stat_bytes.push((with(c, "stat", name), value)),
                    StatKind::Count => stat_counts.push((with(c, "stat", name), value)),
                }
            }
        }
        gauges(
            enc,
            "memsight_cgroup_memory_stat_bytes",
            "The cgroup's memory.stat breakdown in bytes, under the v2 names (anon, file, kernel, slab, sock, shmem, file_mapped, file_dirty, active/inactive anon/file, ...; v1 total_* lines mapped).",
            stat_bytes,
        )?;
        counters(
            enc,
            "memsight_cgroup_memory_stat_events",
            "Event counts of the cgroup's memory.stat (pgfault, pgmajfault, workingset_refault_anon/file).",
            stat_counts,
        )?;
        let mut events = Vec::new();
        for c in all {
            let e = c.events;
            for (event, value) in [
                ("low", e.low),
                ("high", e.high),
                ("max", e.max),
                ("oom", e.oom),
                ("oom_kill", e.oom_kill),
            ] {
                if let Some(v) = value {
                    events.push((with(c, "event", event), v));
                }
            }
        }
        counters(
            enc,
            "memsight_cgroup_memory_events",
            "The cgroup's memory events (memory.events, hierarchical): low and high (reclaim under memory.low, throttling over memory.high), max (limit reached; v1 memory.failcnt), oom (OOM killer invoked), oom_kill (processes killed; v1 memory.oom_control).",
            events,
        )?;
        let pressure: Vec<(Labels, MemoryPressure)> = all
            .iter()
            .filter_map(|c| c.pressure.map(|p| (labels(c), p)))
            .collect();
        seconds(
            enc,
            "memsight_cgroup_pressure_memory_waiting_seconds",
            "Total time in seconds that tasks of the cgroup waited for memory (memory.pressure some total; v2 with PSI).",
            pressure
                .iter()
                .map(|(l, p)| (l.clone(), p.some.total))
                .collect(),
        )?;
        seconds(
            enc,
            "memsight_cgroup_pressure_memory_stalled_seconds",
            "Total time in seconds no task of the cgroup could make progress for lack of memory (memory.pressure full total; v2 with PSI).",
            pressure
                .into_iter()
                .map(|(l, p)| (l, p.full.total))
                .collect(),
        )?;
        gauges(
            enc,
            "memsight_cgroup_processes",
            "Processes directly in the cgroup, not its descendants (lines of cgroup.procs).",
            all.iter().map(|c| (labels(c), c.processes)).collect(),
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_label_values_are_cut_and_stay_distinct() {
        assert_eq!(bounded("/system.slice", 256), "/system.slice");
        let a = format!("/{}a", "x".repeat(300));
        let b = format!("/{}b", "x".repeat(300));
        let (ba, bb) = (bounded(&a, 256), bounded(&b, 256));
        assert!(ba.len() <= 256 && bb.len() <= 256);
        assert_ne!(ba, bb);
        let wide = "é".repeat(200);
        assert!(bounded(&wide, 128).len() <= 128);
    }
}
