//! Rendering a [`Snapshot`] as OpenMetrics (through `prometheus-client`) and as the classic
//! Prometheus text format (version 0.0.4).
//!
//! Both bodies are rendered once per scan and shared by every scrape that waited on it.
//! `prometheus-client` writes OpenMetrics only; the classic body is derived from it line by
//! line ([`openmetrics_to_text`]), since the two formats differ only in the `# EOF` marker,
//! `# UNIT` lines and the family name of counters (`x` in OpenMetrics, `x_total` in 0.0.4).

use std::sync::Arc;

use bytes::Bytes;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use memsight::linux::MeminfoUnit;

use super::collect::{ErrorKind, Errors, Options, Snapshot};
use super::group;

/// Counters that live across scans.
#[derive(Debug, Clone, Copy, Default)]
pub struct Totals {
    /// Scans run since the exporter started, this one included.
    pub scans: u64,
    /// Everything left out of scans since the exporter started, by reason.
    pub errors: Errors,
}

/// One scan's exposition in both formats.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// `application/openmetrics-text; version=1.0.0`.
    pub openmetrics: Bytes,
    /// `text/plain; version=0.0.4`.
    pub text: Bytes,
}

/// Renders `snap` in both formats.
pub fn render(snap: Arc<Snapshot>, options: &Options, totals: Totals) -> Rendered {
    let mut registry = Registry::default();
    let cgroup_series = super::cgroups::Series(snap.clone());
    registry.register_collector(Box::new(SnapshotCollector {
        snap,
        options: options.clone(),
        totals,
    }));
    registry.register_collector(Box::new(cgroup_series));
    let mut openmetrics = String::new();
    // Writing into a String cannot fail, and our collector only fails on a formatter error.
    // Should it ever fail, the body is cut short and Prometheus reports the missing `# EOF`.
    let _ = prometheus_client::encoding::text::encode(&mut openmetrics, &registry);
    let text = openmetrics_to_text(&openmetrics);
    Rendered {
        openmetrics: Bytes::from(openmetrics),
        text: Bytes::from(text),
    }
}

/// Converts an OpenMetrics text exposition (as `prometheus-client` writes it: every family's
/// `# HELP` line before its `# TYPE` line) to the classic Prometheus text format 0.0.4: drops
/// `# EOF` and `# UNIT` lines, and names counter families after their `_total` samples.
pub fn openmetrics_to_text(openmetrics: &str) -> String {
    let mut out = String::with_capacity(openmetrics.len());
    let mut pending_help: Option<&str> = None;
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        if line.starts_with("# HELP ") {
            if let Some(help) = pending_help.replace(line) {
                push_help(&mut out, help);
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ")
            && let Some(name) = rest.strip_suffix(" counter")
        {
            if let Some(help) = pending_help.take() {
                match help
                    .strip_prefix("# HELP ")
                    .and_then(|h| h.strip_prefix(name))
                {
                    Some(text) if text.starts_with(' ') || text.is_empty() => {
                        push_help(&mut out, &format!("# HELP {name}_total{text}"));
                    }
                    _ => push_help(&mut out, help),
                }
            }
            out.push_str("# TYPE ");
            out.push_str(name);
            push_line(&mut out, "_total counter");
            continue;
        }
        if let Some(help) = pending_help.take() {
            push_help(&mut out, help);
        }
        push_line(&mut out, line);
    }
    if let Some(help) = pending_help {
        push_help(&mut out, help);
    }
    out
}

/// `text` escaped for an OpenMetrics `# HELP` line: backslash, newline and double quote become
/// `\\`, `\n` and `\"` (`prometheus-client` writes help text verbatim).
pub fn escape_help(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out
}

/// Pushes a `# HELP` line in the classic format, whose help text knows `\\` and `\n` but not
/// OpenMetrics' `\"`: that one becomes a plain `"`.
fn push_help(out: &mut String, line: &str) {
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('"') => out.push('"'),
            Some(next) => {
                out.push('\\');
                out.push(next);
            }
            None => out.push('\\'),
        }
    }
    out.push('\n');
}

fn push_line(out: &mut String, line: &str) {
    out.push_str(line);
    out.push('\n');
}

/// A byte count as a gauge value (`prometheus-client` refuses u64 above i64::MAX).
fn bytes_value(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

#[derive(Debug)]
struct SnapshotCollector {
    snap: Arc<Snapshot>,
    options: Options,
    totals: Totals,
}

/// Writes one gauge family with one sample per `(labels, value)`; nothing if there are none.
fn gauges<L: EncodeLabelSet>(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    samples: impl IntoIterator<Item = (L, i64)>,
) -> Result<(), std::fmt::Error> {
    let mut samples = samples.into_iter().peekable();
    if samples.peek().is_none() {
        return Ok(());
    }
    let mut family = enc.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for (labels, value) in samples {
        ConstGauge::new(value).encode(family.encode_family(&labels)?)?;
    }
    Ok(())
}

/// Writes one gauge without labels.
fn gauge(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: impl prometheus_client::encoding::EncodeGaugeValue,
) -> Result<(), std::fmt::Error> {
    ConstGauge::new(value).encode(enc.encode_descriptor(name, help, None, MetricType::Gauge)?)
}

/// Writes one counter without labels.
fn counter(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: impl prometheus_client::encoding::EncodeCounterValue,
) -> Result<(), std::fmt::Error> {
    ConstCounter::new(value).encode(enc.encode_descriptor(name, help, None, MetricType::Counter)?)
}

/// node_exporter's name for a `/proc/meminfo` key: `Active(anon)` becomes
/// `node_memory_Active_anon_bytes`, counts (`HugePages_Total`) get no `_bytes` suffix. Any
/// character a metric name cannot hold becomes `_`.
pub fn node_memory_name(key: &str, unit: MeminfoUnit) -> String {
    let mut name = String::with_capacity(key.len() + 20);
    name.push_str("node_memory_");
    for c in key.chars() {
        match c {
            '(' => name.push('_'),
            ')' => {}
            c if c.is_ascii_alphanumeric() || c == '_' => name.push(c),
            _ => name.push('_'),
        }
    }
    if unit == MeminfoUnit::Bytes {
        name.push_str("_bytes");
    }
    name
}

impl SnapshotCollector {
    fn encode_system(&self, enc: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let snap = &*self.snap;
        let mut seen = std::collections::HashSet::new();
        for field in &snap.meminfo {
            let name = node_memory_name(&field.name, field.unit);
            if !seen.insert(name.clone()) {
                continue; // a repeated key: the exposition format allows one family per name
            }
            // The key comes from the kernel (or a --procfs tree): escaped for the HELP line.
            let key = escape_help(&field.name);
            let help = match field.unit {
                MeminfoUnit::Bytes => format!("/proc/meminfo {key}, in bytes."),
                MeminfoUnit::Count => format!("/proc/meminfo {key} (a count)."),
            };
            gauge(enc, &name, &help, bytes_value(field.value))?;
        }
        if let Some(vm) = &snap.virtual_memory {
            for (name, help, value) in [
                ("total", "Usable RAM (MemTotal); free's total", vm.total),
                (
                    "available",
                    "Memory available without swapping (MemAvailable, or the kernel's estimate on old kernels); free's available",
                    vm.available,
                ),
                ("used", "total - available; free's used", vm.used),
                ("free", "Unused memory (MemFree); free's free", vm.free),
                ("buffers", "Block device buffers (Buffers)", vm.buffers),
                (
                    "cached",
                    "Page cache plus reclaimable slab (Cached + SReclaimable); with buffers, free's buff/cache",
                    vm.cached,
                ),
                (
                    "shared",
                    "tmpfs and shared memory (Shmem); free's shared",
                    vm.shared,
                ),
            ] {
                gauge(
                    enc,
                    &format!("memsight_memory_{name}_bytes"),
                    &format!("{help}, in bytes (as psutil virtual_memory and procps free)."),
                    bytes_value(value),
                )?;
            }
        }
        if let Some(swap) = &snap.swap {
            gauge(
                enc,
                "memsight_swap_total_bytes",
                "Total swap in bytes.",
                bytes_value(swap.total),
            )?;
            gauge(
                enc,
                "memsight_swap_used_bytes",
                "Swap in use in bytes (total - free).",
                bytes_value(swap.used),
            )?;
            gauge(
                enc,
                "memsight_swap_free_bytes",
                "Unused swap in bytes.",
                bytes_value(swap.free),
            )?;
            counter(
                enc,
                "memsight_swap_in_bytes",
                "Bytes swapped in since boot (/proc/vmstat pswpin x page size).",
                swap.sin,
            )?;
            counter(
                enc,
                "memsight_swap_out_bytes",
                "Bytes swapped out since boot (/proc/vmstat pswpout x page size).",
                swap.sout,
            )?;
        }
        if let Some(cg) = &snap.cgroup {
            gauges(
                enc,
                "memsight_cgroup_info",
                "Always 1: the exporter's memory cgroup (path and version), exported when it has a memory limit.",
                [(
                    [
                        // Cut as the per-cgroup series cut it, so the two join on `path`.
                        (
                            "path",
                            super::cgroups::bounded(&cg.path, super::cgroups::PATH_LABEL_MAX),
                        ),
                        ("version", cg.version.to_string()),
                    ],
                    1,
                )],
            )?;
            let optional = [
                (
                    "memsight_cgroup_memory_limit_bytes",
                    "Memory limit in force on the cgroup (smallest of its and its ancestors' memory.max / memory.limit_in_bytes), in bytes.",
                    cg.limit,
                ),
                (
                    "memsight_cgroup_memory_usage_bytes",
                    "Memory charged to the cgroup, page cache included (memory.current / memory.usage_in_bytes), in bytes.",
                    Some(cg.usage),
                ),
                (
                    "memsight_cgroup_memory_working_set_bytes",
                    "Usage minus inactive file pages (Kubernetes' working set), in bytes.",
                    Some(cg.working_set),
                ),
                (
                    "memsight_cgroup_memory_peak_bytes",
                    "Highest usage seen (memory.peak / memory.max_usage_in_bytes), in bytes.",
                    cg.peak,
                ),
                (
                    "memsight_cgroup_swap_usage_bytes",
                    "Swap used by the cgroup (memory.swap.current), in bytes.",
                    cg.swap_usage,
                ),
                (
                    "memsight_cgroup_swap_limit_bytes",
                    "Swap limit of the cgroup (memory.swap.max), in bytes.",
                    cg.swap_limit,
                ),
            ];
            for (name, help, value) in optional {
                if let Some(value) = value {
                    gauge(enc, name, help, bytes_value(value))?;
                }
            }
            if let Some(oom) = cg.oom {
                counter(
                    enc,
                    "memsight_cgroup_oom_events",
                    "Times the cgroup hit its limit and the OOM killer was invoked (memory.events oom).",
                    oom,
                )?;
            }
            if let Some(kills) = cg.oom_kill {
                counter(
                    enc,
                    "memsight_cgroup_oom_kills",
                    "Processes in the cgroup killed by the OOM killer (memory.events oom_kill).",
                    kills,
                )?;
            }
            if let Some(p) = &cg.pressure {
                let mut family = enc.encode_descriptor(
                    "memsight_cgroup_memory_pressure_stalled_seconds",
                    "Time tasks of the cgroup stalled on memory, in seconds (memory.pressure total): some = at least one task, full = all non-idle tasks at once.",
                    None,
                    MetricType::Counter,
                )?;
                for (kind, pressure) in [("some", p.some), ("full", p.full)] {
                    ConstCounter::new(pressure.total)
                        .encode(family.encode_family(&[("kind", kind)])?)?;
                }
            }
        }
        Ok(())
    }
}

impl Collector for SnapshotCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let snap = &*self.snap;
        let opts = &self.options;
        self.encode_system(&mut enc)?;

        // Per-process series.
        let chosen = group::top(&snap.processes, opts.top);
        let memtypes = |p: &'_ crate::serve::collect::ProcessSample| {
            [
                ("uss", p.uss),
                ("pss", p.pss),
                ("swap", p.swap),
                ("rss", Some(p.rss)),
                ("vms", Some(p.vms)),
            ]
        };
        let mut samples = Vec::new();
        for p in &chosen {
            let pid = p.pid.to_string();
            for (memtype, value) in memtypes(p) {
                let Some(value) = value else { continue };
                let mut labels: Vec<(&str, &str)> =
                    vec![("pid", &pid), ("name", &p.name), ("memtype", memtype)];
                if opts.cmdline
                    && let Some(cmdline) = &p.cmdline
                {
                    labels.push(("cmdline", cmdline));
                }
                samples.push((
                    labels
                        .into_iter()
                        .map(|(k, v)| (k, v.to_owned()))
                        .collect::<Vec<_>>(),
                    bytes_value(value),
                ));
            }
        }
        gauges(
            &mut enc,
            "memsight_process_memory_bytes",
            "Memory of one process in bytes, by memtype: uss (unique), pss (proportional), swap (from /proc/PID/smaps_rollup), rss and vms (from /proc/PID/statm). Only the --top processes by PSS.",
            samples,
        )?;

        // Grouped series.
        let groups = group::groups(&snap.processes, opts.group_by);
        gauges(
            &mut enc,
            "memsight_group_memory_bytes",
            "Summed memory of the processes in a group (see --group-by) in bytes, by memtype; rss and vms count shared memory once per member, pss adds up.",
            groups.iter().flat_map(|(name, g)| {
                [
                    ("uss", g.uss),
                    ("pss", g.pss),
                    ("swap", g.swap),
                    ("rss", Some(g.rss)),
                    ("vms", Some(g.vms)),
                ]
                .into_iter()
                .filter_map(move |(memtype, v)| {
                    v.map(|v| ([("groupname", *name), ("memtype", memtype)], bytes_value(v)))
                })
            }),
        )?;
        gauges(
            &mut enc,
            "memsight_group_processes",
            "Number of processes in a group (see --group-by).",
            groups
                .iter()
                .map(|(name, g)| ([("groupname", *name)], bytes_value(g.processes))),
        )?;

        // The exporter itself, under the standard process_* names.
        if let Some(own) = &snap.own {
            gauge(
                &mut enc,
                "process_resident_memory_bytes",
                "Resident memory size of the exporter in bytes (/proc/self/statm).",
                bytes_value(own.rss),
            )?;
            gauge(
                &mut enc,
                "process_virtual_memory_bytes",
                "Virtual memory size of the exporter in bytes (/proc/self/statm).",
                bytes_value(own.vms),
            )?;
            if let Some(cpu) = own.cpu_seconds {
                counter(
                    &mut enc,
                    "process_cpu_seconds",
                    "User and system CPU time the exporter has spent, in seconds (/proc/self/stat).",
                    cpu,
                )?;
            }
            if let Some(fds) = own.open_fds {
                gauge(
                    &mut enc,
                    "process_open_fds",
                    "Open file descriptors of the exporter (/proc/self/fd).",
                    bytes_value(fds),
                )?;
            }
            if let Some(max) = own.max_fds {
                gauge(
                    &mut enc,
                    "process_max_fds",
                    "Soft limit on the exporter's open file descriptors (RLIMIT_NOFILE).",
                    bytes_value(max),
                )?;
            }
            if let Some(start) = own.start_time {
                gauge(
                    &mut enc,
                    "process_start_time_seconds",
                    "Start time of the exporter in seconds since the Unix epoch.",
                    start,
                )?;
            }
            if let Some(threads) = own.threads {
                gauge(
                    &mut enc,
                    "process_threads",
                    "Threads of the exporter.",
                    bytes_value(threads),
                )?;
            }
        }

        // The scan behind this response.
        gauge(
            &mut enc,
            "memsight_scrape_duration_seconds",
            "Wall time of the scan behind this response, in seconds (concurrent scrapes share one scan).",
            snap.duration.as_secs_f64(),
        )?;
        gauge(
            &mut enc,
            "memsight_scrape_processes",
            "Number of processes whose memory the scan behind this response read.",
            bytes_value(snap.processes.len() as u64),
        )?;
        gauges(
            &mut enc,
            "memsight_scrape_errors",
            "Things the scan behind this response left out, by reason: vanished (pid exited mid-scan), denied (smaps_rollup not readable: only rss and vms exported), process_other (unreadable or unparsable file), system (meminfo, swap, cgroup or the pid list).",
            ErrorKind::ALL
                .iter()
                .map(|k| ([("reason", k.label())], bytes_value(snap.errors.get(*k)))),
        )?;
        let mut errors = enc.encode_descriptor(
            "memsight_errors",
            "Things left out of scans since the exporter started, by reason (see memsight_scrape_errors).",
            None,
            MetricType::Counter,
        )?;
        for kind in ErrorKind::ALL {
            ConstCounter::new(self.totals.errors.get(kind))
                .encode(errors.encode_family(&[("reason", kind.label())])?)?;
        }
        counter(
            &mut enc,
            "memsight_scans",
            "Scans run since the exporter started (a scan serves every scrape that arrived while it ran).",
            self.totals.scans,
        )?;
        gauges(
            &mut enc,
            "memsight_build_info",
            "Always 1; the version label tells which memsight is serving.",
            [([("version", env!("CARGO_PKG_VERSION"))], 1)],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo_keys_get_node_exporter_names() {
        assert_eq!(
            node_memory_name("MemTotal", MeminfoUnit::Bytes),
            "node_memory_MemTotal_bytes"
        );
        assert_eq!(
            node_memory_name("Active(anon)", MeminfoUnit::Bytes),
            "node_memory_Active_anon_bytes"
        );
        assert_eq!(
            node_memory_name("HugePages_Total", MeminfoUnit::Count),
            "node_memory_HugePages_Total"
        );
        assert_eq!(
            node_memory_name("Weird-key.x", MeminfoUnit::Bytes),
            "node_memory_Weird_key_x_bytes"
        );
    }

    #[test]
    fn counters_are_renamed_and_eof_and_unit_dropped() {
        let om = "# HELP a_bytes Some gauge.\n# TYPE a_bytes gauge\n# UNIT a_bytes bytes\na_bytes{x=\"1\"} 5\n\
                  # HELP c Counts things.\n# TYPE c counter\nc_total{reason=\"a b\"} 3\n# EOF\n";
        assert_eq!(
            openmetrics_to_text(om),
            "# HELP a_bytes Some gauge.\n# TYPE a_bytes gauge\na_bytes{x=\"1\"} 5\n\
             # HELP c_total Counts things.\n# TYPE c_total counter\nc_total{reason=\"a b\"} 3\n"
        );
    }

    #[test]
    fn help_of_another_family_is_kept_verbatim() {
        // A HELP without TYPE, followed by a counter TYPE of a different name.
        let om = "# HELP x Orphan.\n# TYPE y counter\ny_total 1\n# HELP z Last.\n";
        assert_eq!(
            openmetrics_to_text(om),
            "# HELP x Orphan.\n# TYPE y_total counter\ny_total 1\n# HELP z Last.\n"
        );
    }

    #[test]
    fn help_text_from_the_kernel_is_escaped_in_both_formats() {
        assert_eq!(escape_help("a\\b\nc\"d"), "a\\\\b\\nc\\\"d");
        let om = format!(
            "# HELP x_bytes {}.\n# TYPE x_bytes gauge\nx_bytes 1\n",
            escape_help("K\\e\"y")
        );
        assert_eq!(
            openmetrics_to_text(&om),
            "# HELP x_bytes K\\\\e\"y.\n# TYPE x_bytes gauge\nx_bytes 1\n"
        );
    }

    #[test]
    fn counter_whose_name_prefixes_another_is_not_confused() {
        let om = "# HELP ab Help.\n# TYPE a counter\na_total 1\n";
        assert_eq!(
            openmetrics_to_text(om),
            "# HELP ab Help.\n# TYPE a_total counter\na_total 1\n"
        );
    }
}
