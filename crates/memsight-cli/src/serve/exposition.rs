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
    registry.register_collector(Box::new(SnapshotCollector {
        snap,
        options: options.clone(),
        totals,
    }));
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
                push_line(&mut out, help);
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
                        out.push_str("# HELP ");
                        out.push_str(name);
                        out.push_str("_total");
                        push_line(&mut out, text);
                    }
                    _ => push_line(&mut out, help),
                }
            }
            out.push_str("# TYPE ");
            out.push_str(name);
            push_line(&mut out, "_total counter");
            continue;
        }
        if let Some(help) = pending_help.take() {
            push_line(&mut out, help);
        }
        push_line(&mut out, line);
    }
    if let Some(help) = pending_help {
        push_line(&mut out, help);
    }
    out
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

impl Collector for SnapshotCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let snap = &*self.snap;
        let opts = &self.options;

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
            "Things the scan behind this response left out, by reason: vanished (pid exited mid-scan), zombie, denied, process_other, system.",
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
        ConstCounter::new(self.totals.scans).encode(enc.encode_descriptor(
            "memsight_scans",
            "Scans run since the exporter started (a scan serves every scrape that arrived while it ran).",
            None,
            MetricType::Counter,
        )?)?;
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
    fn counter_whose_name_prefixes_another_is_not_confused() {
        let om = "# HELP ab Help.\n# TYPE a counter\na_total 1\n";
        assert_eq!(
            openmetrics_to_text(om),
            "# HELP ab Help.\n# TYPE a_total counter\na_total 1\n"
        );
    }
}
