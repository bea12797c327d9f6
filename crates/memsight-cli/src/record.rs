//! `memsight record`: memory of a process (tree) over time, like mprof and psrecord, with USS and
//! PSS, and a peak-memory budget for CI.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use memsight::linux::ProcFs;
use memsight::record::{Figures, Metric, Sample, Sampler, Summary};

use crate::output::bytes2human;
use crate::plot;

/// The exit status of `memsight record` when the tree's peak went over a `--max-*` budget.
pub const EXIT_OVER_BUDGET: u8 = 3;

/// Options of `memsight record`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit status: CMD's own (128+N when signal N ended it); 0 when attached \
    with -p; 3 when the tree's peak went over a --max-uss/--max-pss/--max-rss budget (this wins \
    over CMD's status); 1 on a runtime error, 2 on a usage error.\n\
    The summary goes to stderr (or, with --json, to stdout as JSON)."
)]
pub struct Args {
    /// Seconds between samples (at least 0.01).
    #[arg(short = 'i', long, value_name = "SECS", default_value_t = 0.1, value_parser = parse_interval)]
    interval: f64,
    /// Follow every descendant too, as they come and go; the totals are the tree's.
    #[arg(long)]
    children: bool,
    /// Write every sample to FILE: CSV if it ends in .csv, else JSON lines (one object a sample).
    #[arg(short = 'o', long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Draw the recording to FILE.svg or FILE.png at the end (as `memsight plot` does).
    #[arg(long, value_name = "FILE")]
    plot: Option<PathBuf>,
    /// Exit with status 3 if the tree's peak USS goes over SIZE (bytes, or with K/M/G/T).
    #[arg(long, value_name = "SIZE", value_parser = parse_size, group = "budget")]
    max_uss: Option<u64>,
    /// Exit with status 3 if the tree's peak PSS goes over SIZE (bytes, or with K/M/G/T).
    #[arg(long, value_name = "SIZE", value_parser = parse_size, group = "budget")]
    max_pss: Option<u64>,
    /// Exit with status 3 if the tree's peak RSS goes over SIZE (bytes, or with K/M/G/T).
    #[arg(long, value_name = "SIZE", value_parser = parse_size, group = "budget")]
    max_rss: Option<u64>,
    /// Read only statm (RSS and VMS), not smaps_rollup: about 10x cheaper, no USS/PSS/swap.
    #[arg(long, conflicts_with_all = ["max_uss", "max_pss"])]
    fast: bool,
    /// Print the summary as JSON on stdout (sizes in bytes, times in seconds).
    #[arg(long)]
    json: bool,
    /// Attach to this running process instead of starting one.
    #[arg(
        short = 'p',
        long,
        value_name = "PID",
        conflicts_with = "command",
        required_unless_present = "command"
    )]
    pid: Option<u32>,
    /// The command to run and record (after `--`).
    #[arg(last = true, value_name = "CMD")]
    command: Vec<OsString>,
}

/// `--interval`: seconds, finite, at least 0.01.
fn parse_interval(s: &str) -> Result<f64, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("not a number of seconds: {s}"))?;
    if !secs.is_finite() || secs < 0.01 {
        return Err(format!("the interval must be at least 0.01 s, not {s}"));
    }
    Ok(secs)
}

pub use crate::size::parse_size;

/// Where the samples go.
enum Output {
    Csv(BufWriter<File>),
    Jsonl(BufWriter<File>),
}

impl Output {
    fn create(path: &Path) -> anyhow::Result<Output> {
        let file = File::create(path).with_context(|| format!("{}", path.display()))?;
        let w = BufWriter::new(file);
        Ok(if is_csv(path) {
            let mut w = w;
            write_csv_header(&mut w)?;
            Output::Csv(w)
        } else {
            Output::Jsonl(w)
        })
    }

    /// Writes one sample and flushes, so the file always ends on a complete line.
    fn write(&mut self, s: &Sample) -> io::Result<()> {
        match self {
            Output::Csv(w) => {
                write_csv(w, s)?;
                w.flush()
            }
            Output::Jsonl(w) => {
                write_jsonl(w, s)?;
                w.flush()
            }
        }
    }
}

/// Whether a recording file is CSV (by its extension) rather than JSON lines.
pub fn is_csv(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
}

/// The CSV columns: one row per process per sample, then the sample's `total` row (empty pid).
pub const CSV_HEADER: &str = "time,duration,pid,name,rss,vms,uss,pss,swap";

/// Writes the CSV header line.
pub fn write_csv_header(w: &mut impl Write) -> io::Result<()> {
    writeln!(w, "{CSV_HEADER}")
}

/// Writes one sample as CSV rows: its processes, then a `total` row with an empty pid. Sizes in
/// bytes; a field not recorded (USS in fast mode) is empty.
pub fn write_csv(w: &mut impl Write, s: &Sample) -> io::Result<()> {
    for p in &s.processes {
        let (time, duration, pid, name) = (s.time, s.duration, p.pid, csv_field(&p.name));
        let figures = csv_figures(&p.memory);
        writeln!(w, "{time:.6},{duration:.6},{pid},{name},{figures}")?;
    }
    let (time, duration, figures) = (s.time, s.duration, csv_figures(&s.total));
    writeln!(w, "{time:.6},{duration:.6},,total,{figures}")
}

/// `rss,vms,uss,pss,swap` in bytes; a figure not recorded (USS in fast mode) is empty.
fn csv_figures(f: &Figures) -> String {
    let opt = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
    let (rss, vms, uss, pss, swap) = (f.rss, f.vms, opt(f.uss), opt(f.pss), opt(f.swap));
    format!("{rss},{vms},{uss},{pss},{swap}")
}

/// A CSV field, quoted (RFC 4180) when it holds a comma, quote or line break.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Writes one sample as a JSON object on one line.
pub fn write_jsonl(w: &mut impl Write, s: &Sample) -> io::Result<()> {
    serde_json::to_writer(&mut *w, s)?;
    writeln!(w)
}

/// What is being recorded: a command memsight started, or a process it attached to.
enum Target {
    Command(Child),
    Attached,
}

/// Runs `memsight record`, returning the exit status.
pub fn run(args: &Args, procfs: &ProcFs, out: &mut impl Write) -> anyhow::Result<u8> {
    let mut output = args.output.as_deref().map(Output::create).transpose()?;
    let stop = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&stop))
        .context("cannot handle SIGINT")?;
    let (root, mut target) = match (args.pid, args.command.split_first()) {
        (Some(pid), _) => (procfs.process(pid)?, Target::Attached),
        (None, Some((program, rest))) => {
            let child = std::process::Command::new(program)
                .args(rest)
                .spawn()
                .with_context(|| format!("cannot run {}", program.to_string_lossy()))?;
            match procfs.process(child.id()) {
                Ok(root) => (root, Target::Command(child)),
                Err(e) => {
                    let mut child = child;
                    let status = child.wait()?;
                    eprintln!(
                        "memsight: {} exited before the first sample ({e})",
                        child.id()
                    );
                    return Ok(exit_code(status));
                }
            }
        }
        (None, None) => anyhow::bail!("give a command after -- or a process with -p"),
    };
    let mut sampler = Sampler::new(root)
        .children(args.children)
        .fast(args.fast)
        .interval(Duration::from_secs_f64(args.interval));
    let mut sample = Sample::default();
    let mut summary = Summary::default();
    let mut kept: Vec<Sample> = Vec::new();
    let mut sparkline_values: Vec<u64> = Vec::new();
    let spark_metric = if args.fast { Metric::Rss } else { Metric::Uss };
    let mut status = None;
    loop {
        sampler.sample(&mut sample);
        let ended = !sampler.root_running() && sample.processes.is_empty();
        if !ended || summary.samples == 0 {
            summary.add(&sample);
            sparkline_values.push(spark_metric.of(&sample.total).unwrap_or(0));
            if let Some(o) = output.as_mut() {
                o.write(&sample).with_context(|| args.output_display())?;
            }
            if args.plot.is_some() {
                kept.push(sample.clone());
            }
        }
        if let Target::Command(child) = &mut target
            && let Some(s) = child.try_wait()?
        {
            status = Some(s);
            break;
        }
        if stop.load(Ordering::Relaxed) || ended {
            break;
        }
        sampler.wait();
        if stop.load(Ordering::Relaxed) {
            break;
        }
    }
    let code = match (&mut target, status) {
        (_, Some(s)) => exit_code(s),
        (Target::Command(child), None) => exit_code(end_child(child)?),
        (Target::Attached, None) => 0,
    };
    drop(output);
    if let Some(path) = &args.plot {
        let opts = plot::Options::default();
        plot::render(&kept, path, &opts)?;
    }
    if args.json {
        serde_json::to_writer(&mut *out, &summary)?;
        writeln!(out)?;
    } else {
        let mut err = io::stderr().lock();
        write_summary(
            &mut err,
            &summary,
            sampler.interval_value(),
            spark_metric,
            &sparkline_values,
        )?;
    }
    let budgets = [
        (Metric::Uss, args.max_uss),
        (Metric::Pss, args.max_pss),
        (Metric::Rss, args.max_rss),
    ];
    for (metric, limit) in budgets {
        let (Some(limit), Some(peak)) = (limit, summary.peak(metric)) else {
            continue;
        };
        if peak.bytes > limit {
            eprintln!(
                "memsight: peak {} {} went over --max-{} {}",
                metric.name(),
                bytes2human(peak.bytes),
                metric.name(),
                bytes2human(limit)
            );
            return Ok(EXIT_OVER_BUDGET);
        }
    }
    Ok(code)
}

impl Args {
    fn output_display(&self) -> String {
        self.output
            .as_deref()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    }
}

/// Ends a command still running after Ctrl-C: SIGINT first (it may be in memsight's process
/// group and have it already), SIGKILL after 5 s.
fn end_child(child: &mut Child) -> anyhow::Result<ExitStatus> {
    if let Some(pid) = rustix::process::Pid::from_raw(child.id() as i32) {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::INT);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    Ok(child.wait()?)
}

/// A child's exit status as ours: its code, or 128 + the signal that ended it (as shells do).
fn exit_code(status: ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => u8::try_from(code & 0xff).unwrap_or(1),
        (None, Some(sig)) => u8::try_from((128 + sig) & 0xff).unwrap_or(1),
        (None, None) => 1,
    }
}

/// Prints the end-of-recording summary: duration, samples, each peak with its time and the
/// process holding most of it, the sampler's cost, and a sparkline.
pub fn write_summary(
    w: &mut impl Write,
    s: &Summary,
    interval: Duration,
    spark_metric: Metric,
    spark: &[u64],
) -> io::Result<()> {
    writeln!(
        w,
        "memsight record: {:.2} s, {} samples every {} s, up to {} processes; \
         sampling took {:.3} ms per process (max {:.3} ms per sample)",
        s.duration(),
        s.samples,
        interval.as_secs_f64(),
        s.max_processes,
        s.seconds_per_process_sample() * 1e3,
        s.max_sample_seconds * 1e3,
    )?;
    writeln!(w, "{:<5} {:>8} {:>9}  held most by", "peak", "tree", "at")?;
    for metric in [Metric::Rss, Metric::Uss, Metric::Pss, Metric::Swap] {
        let Some(p) = s.peak(metric) else {
            continue;
        };
        writeln!(
            w,
            "{:<5} {:>8} {:>7.2} s  {} {} ({})",
            metric.name(),
            bytes2human(p.bytes),
            p.time,
            p.pid,
            p.name,
            bytes2human(p.process_bytes)
        )?;
    }
    writeln!(w, "{:<5} {}", spark_metric.name(), sparkline(spark, 60))
}

/// The values as a line of block characters (`▁` to `█`, 0 to the maximum), at most `width`
/// wide: each character shows the largest value of its share of the series.
pub fn sparkline(values: &[u64], width: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    if values.is_empty() || width == 0 {
        return String::new();
    }
    let cols = values.len().min(width);
    let max = values.iter().copied().max().unwrap_or(0);
    (0..cols)
        .map(|c| {
            let from = c * values.len() / cols;
            let to = ((c + 1) * values.len() / cols).max(from + 1);
            let v = values[from..to].iter().copied().max().unwrap_or(0);
            if max == 0 {
                BARS[0]
            } else {
                let level = (v as f64 / max as f64 * 7.0).round() as usize;
                BARS[level.min(7)]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use memsight::record::ProcessSample;

    fn sample() -> Sample {
        let mut s = Sample {
            time: 0.25,
            duration: 0.0005,
            processes: vec![
                ProcessSample {
                    pid: 7,
                    name: "a,\"b\"".into(),
                    name_bytes: None,
                    memory: Figures {
                        rss: 100,
                        vms: 200,
                        uss: Some(50),
                        pss: Some(60),
                        swap: Some(0),
                    },
                },
                ProcessSample {
                    pid: 9,
                    name: "sh".into(),
                    name_bytes: None,
                    memory: Figures {
                        rss: 10,
                        vms: 20,
                        uss: Some(5),
                        pss: Some(6),
                        swap: Some(1),
                    },
                },
            ],
            ..Sample::default()
        };
        s.sum();
        s
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("1.5G"), Ok(3 << 29));
        assert_eq!(parse_size("100MiB"), Ok(100 << 20));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("2k"), Ok(2048));
        assert!(parse_size("12X").is_err());
        assert!(parse_size("M").is_err());
        assert!(parse_size("1e30T").is_err());
    }

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("0.1"), Ok(0.1));
        assert!(parse_interval("0.001").is_err());
        assert!(parse_interval("NaN").is_err());
        assert!(parse_interval("x").is_err());
    }

    #[test]
    fn csv_rows_and_total() {
        let mut buf = Vec::new();
        write_csv_header(&mut buf).unwrap();
        write_csv(&mut buf, &sample()).unwrap();
        let text = String::from_utf8(buf).unwrap();
        assert_eq!(
            text,
            "time,duration,pid,name,rss,vms,uss,pss,swap\n\
             0.250000,0.000500,7,\"a,\"\"b\"\"\",100,200,50,60,0\n\
             0.250000,0.000500,9,sh,10,20,5,6,1\n\
             0.250000,0.000500,,total,110,220,55,66,1\n"
        );
    }

    #[test]
    fn jsonl_is_one_line_with_totals_at_top() {
        let mut buf = Vec::new();
        write_jsonl(&mut buf, &sample()).unwrap();
        let text = String::from_utf8(buf).unwrap();
        assert_eq!(text.lines().count(), 1);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["pss"], 66);
        assert_eq!(v["processes"][1]["pid"], 9);
        let back: Sample = serde_json::from_str(&text).unwrap();
        assert_eq!(back, sample());
    }

    #[test]
    fn sparklines() {
        assert_eq!(sparkline(&[], 10), "");
        assert_eq!(sparkline(&[0, 0], 10), "▁▁");
        assert_eq!(sparkline(&[0, 4, 7, 7], 10), "▁▅██");
        let long: Vec<u64> = (0..100).collect();
        let line = sparkline(&long, 10);
        assert_eq!(line.chars().count(), 10);
        assert!(line.ends_with('█'));
    }

    #[test]
    fn exit_codes() {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(exit_code(ExitStatus::from_raw(3 << 8)), 3);
        assert_eq!(exit_code(ExitStatus::from_raw(9)), 137);
    }

    #[test]
    fn summary_text() {
        let mut s = Summary::default();
        s.add(&sample());
        let mut buf = Vec::new();
        write_summary(
            &mut buf,
            &s,
            Duration::from_millis(100),
            Metric::Uss,
            &[1, 2],
        )
        .unwrap();
        let text = String::from_utf8(buf).unwrap();
        assert!(text.contains("1 samples"), "{text}");
        assert!(text.contains("pss        66B"), "{text}");
        assert!(text.contains("7 a,\"b\" (60B)"), "{text}");
        assert!(text.ends_with("uss   ▅█\n"), "{text}");
    }
}
