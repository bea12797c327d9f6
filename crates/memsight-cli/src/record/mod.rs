//! `memsight record`: memory of a process (tree) over time, like mprof and psrecord, with USS and
//! PSS, and a peak-memory budget for CI, on every OS. What differs per OS (stop signals, waiting
//! for the command, tying it to memsight's life, its exit status) is in `unix.rs` and
//! `windows.rs`, behind the same few functions.

// The process control of each OS family.
#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as os;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as os;

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Context;
use memsight::record::{Metric, Sample, Sampler, Summary};

use crate::host::Host;
use crate::output::{bytes2human, sanitize};
use crate::plot;
use crate::recording;

/// The exit status of `memsight record` when the tree's peak went over a `--max-*` budget.
pub const EXIT_OVER_BUDGET: u8 = 3;

/// Options of `memsight record`.
#[derive(Debug, clap::Args)]
#[command(
    group = clap::ArgGroup::new("target").required(true).args(["pid", "command"]),
    after_help = after_help()
)]
pub struct Args {
    /// Seconds between samples (0.01 to 3600).
    #[arg(short = 'i', long, value_name = "SECS", default_value_t = 0.1, value_parser = parse_interval, allow_negative_numbers = true)]
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
    /// Exit with status 3 if the tree's peak USS goes over SIZE (bytes, or with K/M/G/T; not on
    /// FreeBSD, which has no USS).
    #[arg(long, value_name = "SIZE", value_parser = parse_size, group = "budget")]
    max_uss: Option<u64>,
    /// Exit with status 3 if the tree's peak PSS goes over SIZE (bytes, or with K/M/G/T; Linux
    /// only).
    #[arg(long, value_name = "SIZE", value_parser = parse_size, group = "budget")]
    max_pss: Option<u64>,
    /// Exit with status 3 if the tree's peak RSS goes over SIZE (bytes, or with K/M/G/T).
    #[arg(long, value_name = "SIZE", value_parser = parse_size, group = "budget")]
    max_rss: Option<u64>,
    /// Read only RSS and VMS (on Linux statm, not smaps_rollup: about 10x cheaper), no
    /// USS/PSS/swap.
    #[arg(long, conflicts_with_all = ["max_uss", "max_pss"])]
    fast: bool,
    /// Print the summary as JSON on stdout (sizes in bytes, times in seconds).
    #[arg(long)]
    json: bool,
    /// Attach to this running process instead of starting one.
    #[arg(short = 'p', long, value_name = "PID", conflicts_with = "command")]
    pid: Option<u32>,
    /// The command to run and record (after `--`).
    #[arg(last = true, value_name = "CMD")]
    command: Vec<OsString>,
}

/// The text after `--help`: the exit status and the stops, as this OS has them.
fn after_help() -> String {
    format!(
        "Exit status: CMD's own ({}); 0 when attached with -p; 3 when the tree's peak went \
         over a --max-uss/--max-pss/--max-rss budget (this wins over CMD's status); 1 on a \
         runtime error, or when a budget's figure could not be read or the --plot picture \
         could not be drawn and the status would otherwise be 0; 2 on a usage error (a budget \
         this OS has no figure for).\n{}\n\
         A write error on -o FILE (a full disk) is a warning: the recording goes on without it.\n\
         The summary goes to stderr (or, with --json, to stdout as JSON).",
        os::STATUS_HELP,
        os::STOP_HELP
    )
}

/// The longest `--interval`: one hour. Longer is a typo (`-i 1e12`), not a sampling plan.
const MAX_INTERVAL_SECS: f64 = 3600.0;

/// `--interval`: seconds, finite, from 0.01 to [`MAX_INTERVAL_SECS`].
fn parse_interval(s: &str) -> Result<f64, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("not a number of seconds: {s}"))?;
    if !(0.01..=MAX_INTERVAL_SECS).contains(&secs) {
        return Err(format!(
            "the interval must be from 0.01 to {MAX_INTERVAL_SECS} s (one hour), not {s}"
        ));
    }
    Ok(secs)
}

pub use crate::size::parse_size;

/// Where the samples go. A write error (a full disk) is a warning: the recording goes on, the
/// summary and the budget still come, and the file ends at the last sample written.
struct Output {
    path: PathBuf,
    format: Format,
    w: BufWriter<File>,
    failed: bool,
}

enum Format {
    Csv,
    Jsonl,
}

impl Output {
    fn create(path: &Path) -> anyhow::Result<Output> {
        let file = File::create(path).with_context(|| format!("{}", path.display()))?;
        let mut w = BufWriter::new(file);
        let format = if recording::is_csv(path) {
            recording::write_csv_header(&mut w)
                .and_then(|()| w.flush())
                .with_context(|| format!("{}", path.display()))?;
            Format::Csv
        } else {
            Format::Jsonl
        };
        Ok(Output {
            path: path.to_path_buf(),
            format,
            w,
            failed: false,
        })
    }

    /// Writes one sample and flushes, so the file ends on a complete line unless the write
    /// itself fails; after a failure, warns once and writes no more.
    fn write(&mut self, s: &Sample) {
        if self.failed {
            return;
        }
        let written = match self.format {
            Format::Csv => recording::write_csv(&mut self.w, s),
            Format::Jsonl => recording::write_jsonl(&mut self.w, s),
        }
        .and_then(|()| self.w.flush());
        if let Err(e) = written {
            self.failed = true;
            eprintln!(
                "memsight: warning: {}: {e}; recording goes on without it",
                self.path.display()
            );
        }
    }
}

/// What is being recorded: a command memsight started, or a process it attached to.
enum Target {
    Command(Child),
    Attached,
}

/// What wakes the sampling loop before its next tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    /// A stop (SIGINT, SIGTERM or SIGHUP on Unix, Ctrl-C or Ctrl-Break on Windows) reached
    /// memsight: end the recording.
    Stop,
    /// The command (or the attached process) exited.
    Exited,
}

/// Checks that the picture of `--plot` can be written, before anything starts: a failure at the
/// end would lose a whole run. Leaves the file empty until the end.
fn check_writable(path: &Path) -> anyhow::Result<()> {
    File::create(path).with_context(|| format!("--plot {}", path.display()))?;
    Ok(())
}

/// The command line as a plot's title: printable, at most about 80 characters.
fn title_of(command: &[OsString]) -> String {
    let line = command
        .iter()
        .map(|a| a.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ");
    let line = sanitize(&line);
    match line.char_indices().nth(80) {
        Some((cut, _)) => format!("{}...", &line[..cut]),
        None => line.into_owned(),
    }
}

/// Runs `memsight record`, returning the exit status.
pub fn run(args: &Args, host: &Host, out: &mut impl Write) -> anyhow::Result<u8> {
    let budgets = [
        (Metric::Uss, args.max_uss),
        (Metric::Pss, args.max_pss),
        (Metric::Rss, args.max_rss),
    ];
    // A budget this OS has no figure for could never be checked: a usage error, before anything
    // starts, rather than a run that silently passes.
    if let Some((metric, _)) = budgets
        .iter()
        .find(|(m, limit)| limit.is_some() && !m.is_read_here())
    {
        eprintln!(
            "memsight: --max-{}: this system has no {} figure",
            metric.name(),
            metric.name().to_uppercase()
        );
        return Ok(2);
    }
    if let Some(path) = &args.plot {
        check_writable(path)?;
    }
    let mut output = args.output.as_deref().map(Output::create).transpose()?;
    let (tx, events) = mpsc::channel();
    os::watch_stops(tx.clone())?;
    let (root, mut target) = match (args.pid, args.command.split_first()) {
        (Some(pid), _) => {
            let root = host.process(pid)?;
            os::watch_attached(pid, tx.clone());
            (root, Target::Attached)
        }
        (None, Some((program, rest))) => {
            let child = os::spawn(program, rest)
                .with_context(|| format!("cannot run {}", program.to_string_lossy()))?;
            os::watch_child(&child, tx.clone());
            match host.process(child.id()) {
                Ok(root) => (root, Target::Command(child)),
                Err(e) => {
                    let mut child = child;
                    let status = child.wait()?;
                    eprintln!(
                        "memsight: {} exited before the first sample ({e})",
                        child.id()
                    );
                    return Ok(os::exit_code(status));
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
    // The sparkline shows the tree's USS, or its RSS where USS was not read in every sample
    // (fast mode, FreeBSD, a process whose USS was denied).
    let mut spark_rss: Vec<u64> = Vec::new();
    let mut spark_uss: Vec<Option<u64>> = Vec::new();
    let mut status = None;
    loop {
        sampler.sample(&mut sample);
        let ended = !sampler.root_running() && sample.processes.is_empty();
        if !ended || summary.samples == 0 {
            summary.add(&sample);
            spark_rss.push(sample.total.rss);
            spark_uss.push(sample.total.uss);
            if let Some(o) = output.as_mut() {
                o.write(&sample);
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
        if ended {
            break;
        }
        // Sleeps until the next tick, woken early by a stop signal or the command's exit.
        match events.recv_timeout(sampler.until_next()) {
            Ok(Event::Stop) => break,
            Ok(Event::Exited) | Err(_) => {}
        }
    }
    let mut code = match (&mut target, status) {
        (_, Some(s)) => os::exit_code(s),
        (Target::Command(child), None) => os::exit_code(end_child(child, &events)?),
        (Target::Attached, None) => 0,
    };
    drop(output);
    if let Some(path) = &args.plot {
        let opts = plot::Options {
            // Attached: the plot names the process it followed longest, as `memsight plot` does.
            title: match &target {
                Target::Command(_) => Some(title_of(&args.command)),
                Target::Attached => None,
            },
            ..plot::Options::default()
        };
        if let Err(e) = plot::render(&kept, path, &opts) {
            // The budget's status and the command's come first; a lost picture turns only a
            // success into a failure.
            eprintln!("memsight: --plot: {e:#}");
            if code == 0 {
                code = 1;
            }
        }
    }
    if args.json {
        serde_json::to_writer(&mut *out, &summary)?;
        writeln!(out)?;
    } else {
        let uss: Option<Vec<u64>> = spark_uss.into_iter().collect();
        let (spark_metric, spark) = match uss {
            Some(uss) => (Metric::Uss, uss),
            None => (Metric::Rss, spark_rss),
        };
        let mut err = io::stderr().lock();
        write_summary(
            &mut err,
            &summary,
            sampler.interval_value(),
            spark_metric,
            &spark,
        )?;
    }
    for (metric, limit) in budgets {
        let Some(limit) = limit else {
            continue;
        };
        let Some(peak) = summary.peak(metric) else {
            // Read on this OS but not for this tree (a process that denied it): unchecked is
            // not passed.
            eprintln!(
                "memsight: --max-{}: the tree's {} could not be read in any sample",
                metric.name(),
                metric.name().to_uppercase()
            );
            return Ok(code.max(1));
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

/// Ends a command still running after a stop: asked first (Unix: SIGINT; Windows: it had the
/// same Ctrl-C), killed after 5 s or at a second stop.
fn end_child(child: &mut Child, events: &mpsc::Receiver<Event>) -> anyhow::Result<ExitStatus> {
    os::interrupt(child);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        // The exit wakes this at once; the 100 ms bound only covers a missed wake-up.
        match events.recv_timeout(left.min(Duration::from_millis(100))) {
            Ok(Event::Stop) => break,
            Ok(Event::Exited) | Err(_) => {}
        }
    }
    let _ = child.kill();
    Ok(child.wait()?)
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
            sanitize(&p.name),
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
    use memsight::record::{Figures, ProcessSample};

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
        assert_eq!(parse_interval("3600"), Ok(3600.0));
        assert!(parse_interval("0.001").is_err());
        for absurd in ["3601", "1e12", "1e20", "inf", "-inf"] {
            let err = parse_interval(absurd).unwrap_err();
            assert!(err.contains("from 0.01 to 3600 s"), "{err}");
        }
        assert!(parse_interval("NaN").is_err());
        assert!(parse_interval("x").is_err());
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

    #[test]
    fn summary_names_cannot_drive_the_terminal() {
        let mut hostile = sample();
        hostile.processes[0].name = "\x1b]0;PWNED\x07\x1b[2J\nx\u{9b}2J".into();
        let mut s = Summary::default();
        s.add(&hostile);
        let mut buf = Vec::new();
        write_summary(&mut buf, &s, Duration::from_millis(100), Metric::Uss, &[1]).unwrap();
        let text = String::from_utf8(buf).unwrap();
        assert!(!text.contains(['\x1b', '\x07', '\u{9b}']), "{text:?}");
        assert!(text.contains("7 ?]0;PWNED??[2J?x?2J (60B)"), "{text:?}");
        // Header, four peaks and the sparkline: the name's newline split no line.
        assert_eq!(text.lines().count(), 7, "{text:?}");
    }
}
