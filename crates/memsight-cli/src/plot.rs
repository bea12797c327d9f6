//! `memsight plot`: a recording of `memsight record` drawn as SVG or PNG, like `mprof plot`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use plotters::coord::Shift;
use plotters::prelude::*;

use memsight::record::{Figures, Metric, ProcessSample, Sample};

use crate::output::bytes2human;
use crate::record::{CSV_HEADER, is_csv};

/// DejaVu Sans Mono (see assets/DejaVuSansMono.LICENSE), so PNG text needs no system font.
static FONT: &[u8] = include_bytes!("../assets/DejaVuSansMono.ttf");

/// How many processes a `--stack` legend names (the largest by peak).
const LEGEND_PROCESSES: usize = 8;

/// Options of `memsight plot`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A recording written by `memsight record -o` (JSON lines, or CSV by extension).
    file: PathBuf,
    /// The picture to write: OUT.svg or OUT.png (default: FILE with the extension .svg).
    #[arg(short = 'o', long, value_name = "OUT")]
    output: Option<PathBuf>,
    /// The metrics to draw for the tree, comma-separated (rss, vms, uss, pss, swap); those the
    /// recording lacks (USS in a --fast one) are skipped.
    #[arg(long, value_name = "LIST", value_delimiter = ',', default_value = "uss,pss,rss", value_parser = parse_metric)]
    metric: Vec<Metric>,
    /// Draw the first metric as stacked areas, one per process (the legend names the 8 largest).
    #[arg(long)]
    stack: bool,
    /// The picture's width in pixels.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(200..=10000))]
    width: u32,
    /// The picture's height in pixels.
    #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u32).range(150..=10000))]
    height: u32,
}

fn parse_metric(s: &str) -> Result<Metric, String> {
    Metric::from_name(s.trim())
        .ok_or_else(|| format!("not a metric (rss, vms, uss, pss, swap): {s}"))
}

/// How to draw a recording.
#[derive(Debug, Clone)]
pub struct Options {
    /// The tree metrics to draw, in order.
    pub metrics: Vec<Metric>,
    /// Stack the first metric per process.
    pub stack: bool,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            metrics: vec![Metric::Uss, Metric::Pss, Metric::Rss],
            stack: false,
            width: 1000,
            height: 600,
        }
    }
}

/// Runs `memsight plot`.
pub fn run(args: &Args, out: &mut impl std::io::Write) -> anyhow::Result<()> {
    let bytes = std::fs::read(&args.file).with_context(|| format!("{}", args.file.display()))?;
    let samples = if is_csv(&args.file) {
        read_csv(&bytes)
    } else {
        read_jsonl(&bytes)
    }
    .with_context(|| format!("{}", args.file.display()))?;
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| args.file.with_extension("svg"));
    let opts = Options {
        metrics: args.metric.clone(),
        stack: args.stack,
        width: args.width,
        height: args.height,
    };
    render(&samples, &output, &opts)?;
    writeln!(out, "{}", output.display())?;
    Ok(())
}

/// Reads a JSON-lines recording: one [`Sample`] a line; blank lines are skipped.
pub fn read_jsonl(bytes: &[u8]) -> anyhow::Result<Vec<Sample>> {
    let text = std::str::from_utf8(bytes).context("not UTF-8")?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).with_context(|| format!("line {}", i + 1)))
        .collect()
}

/// Reads a CSV recording (see [`CSV_HEADER`]): process rows, each sample closed by its `total`
/// row (empty pid). Process rows after the last total row (a cut-off file) are dropped.
pub fn read_csv(bytes: &[u8]) -> anyhow::Result<Vec<Sample>> {
    let text = std::str::from_utf8(bytes).context("not UTF-8")?;
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, h)) if h.trim() == CSV_HEADER => {}
        _ => bail!("line 1: not the header {CSV_HEADER}"),
    }
    let mut samples = Vec::new();
    let mut current: Vec<ProcessSample> = Vec::new();
    for (i, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let mut row = || -> anyhow::Result<()> {
            let f = split_csv(line);
            let [time, duration, pid, name, rss, vms, uss, pss, swap] = f.as_slice() else {
                bail!("expected 9 fields, found {}", f.len());
            };
            let num = |s: &str| -> anyhow::Result<u64> {
                s.parse().map_err(|_| anyhow!("not a number: {s}"))
            };
            let opt = |s: &str| -> anyhow::Result<Option<u64>> {
                if s.is_empty() {
                    Ok(None)
                } else {
                    num(s).map(Some)
                }
            };
            let secs = |s: &str| -> anyhow::Result<f64> {
                s.parse().map_err(|_| anyhow!("not a time: {s}"))
            };
            let figures = Figures {
                rss: num(rss)?,
                vms: num(vms)?,
                uss: opt(uss)?,
                pss: opt(pss)?,
                swap: opt(swap)?,
            };
            if pid.is_empty() {
                samples.push(Sample {
                    time: secs(time)?,
                    duration: secs(duration)?,
                    total: figures,
                    processes: std::mem::take(&mut current),
                });
            } else {
                current.push(ProcessSample {
                    pid: pid.parse().map_err(|_| anyhow!("not a pid: {pid}"))?,
                    name: name.clone(),
                    name_bytes: None,
                    memory: figures,
                });
            }
            Ok(())
        };
        row().with_context(|| format!("line {}", i + 1))?;
    }
    Ok(samples)
}

/// Splits one CSV line into fields, undoing RFC 4180 quoting.
fn split_csv(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                push(&mut fields, '"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(String::new()),
            (c, _) => push(&mut fields, c),
        }
    }
    fields
}

fn push(fields: &mut [String], c: char) {
    if let Some(last) = fields.last_mut() {
        last.push(c);
    }
}

/// The colour of each tree metric's line.
fn metric_color(m: Metric) -> RGBColor {
    match m {
        Metric::Uss => RGBColor(31, 119, 180),
        Metric::Pss => RGBColor(44, 160, 44),
        Metric::Rss => RGBColor(214, 39, 40),
        Metric::Vms => RGBColor(148, 103, 189),
        Metric::Swap => RGBColor(255, 127, 14),
    }
}

/// Draws `samples` to `path` (SVG, or PNG when it ends in .png).
pub fn render(samples: &[Sample], path: &Path, opts: &Options) -> anyhow::Result<()> {
    let size = (opts.width, opts.height);
    let png = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"));
    // Both backends lay text out with the font: PNG draws its glyphs, SVG sizes its labels.
    plotters::style::register_font("sans-serif", FontStyle::Normal, FONT)
        .map_err(|_| anyhow!("the bundled font does not load"))?;
    let result = if png {
        let root = BitMapBackend::new(path, size).into_drawing_area();
        draw(&root, samples, opts).and_then(|()| root.present().map_err(|e| anyhow!("{e}")))
    } else {
        let root = SVGBackend::new(path, size).into_drawing_area();
        draw(&root, samples, opts).and_then(|()| root.present().map_err(|e| anyhow!("{e}")))
    };
    result.with_context(|| format!("{}", path.display()))
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    samples: &[Sample],
    opts: &Options,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("{e}");
    root.fill(&WHITE).map_err(err)?;
    let metrics: Vec<Metric> = opts
        .metrics
        .iter()
        .copied()
        .filter(|m| samples.iter().any(|s| m.of(&s.total).is_some()))
        .collect();
    let metrics = if metrics.is_empty() {
        vec![Metric::Rss]
    } else {
        metrics
    };
    let t_end = samples.last().map_or(1.0, |s| s.time).max(0.001);
    let t_start = samples.first().map_or(0.0, |s| s.time).min(t_end - 0.001);
    let y_max = samples
        .iter()
        .flat_map(|s| metrics.iter().filter_map(|m| m.of(&s.total)))
        .max()
        .unwrap_or(0)
        .max(1024);
    let y_top = y_max + y_max / 8;
    let title = format!(
        "memory over time: {} samples, {:.2} s",
        samples.len(),
        t_end - t_start
    );
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(80)
        .build_cartesian_2d(t_start..t_end, 0u64..y_top)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("time (s)")
        .y_desc("memory")
        .y_label_formatter(&|v| bytes2human(*v))
        .x_label_formatter(&|t| format!("{t:.1}"))
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(err)?;

    if opts.stack
        && let Some(&first) = metrics.first()
    {
        draw_stack(&mut chart, samples, first).map_err(err)?;
    }
    for (row, &m) in metrics.iter().enumerate() {
        let color = metric_color(m);
        let points = samples
            .iter()
            .filter_map(|s| Some((s.time, m.of(&s.total)?)));
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))
            .map_err(err)?
            .label(format!("tree {}", m.name()))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        let peak = samples
            .iter()
            .filter_map(|s| Some((s.time, m.of(&s.total)?)))
            .fold(None, |best: Option<(f64, u64)>, p| match best {
                Some(b) if b.1 >= p.1 => Some(b),
                _ => Some(p),
            });
        if let Some((t, v)) = peak {
            let label = format!("peak {} {} at {:.2} s", m.name(), bytes2human(v), t);
            // One row per metric above the marker, on its left past mid-plot so it stays inside.
            let dy = -16 * (metrics.len() - row) as i32;
            let dx = if t > (t_start + t_end) / 2.0 {
                -8 - 8 * label.len() as i32
            } else {
                8
            };
            chart
                .draw_series(std::iter::once(
                    EmptyElement::at((t, v))
                        + Circle::new((0, 0), 5, color.filled())
                        + Text::new(
                            label,
                            (dx, dy),
                            ("sans-serif", 13).into_font().color(&color),
                        ),
                ))
                .map_err(err)?;
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 13))
        .draw()
        .map_err(err)?;
    Ok(())
}

/// Per-process stacked areas of `m`: each process's band sits on those of lower pids.
fn draw_stack<DB: DrawingBackend>(
    chart: &mut ChartContext<
        '_,
        DB,
        Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordu64>,
    >,
    samples: &[Sample],
    m: Metric,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let mut names: BTreeMap<u32, String> = BTreeMap::new();
    for s in samples {
        for p in &s.processes {
            // The latest name: a process that exec'd is shown as the program it became.
            names.insert(p.pid, p.name.clone());
        }
    }
    let pids: Vec<u32> = names.keys().copied().collect();
    // tops[k][i]: the sum of `m` over the first k+1 processes at sample i.
    let mut tops: Vec<Vec<u64>> = Vec::with_capacity(pids.len());
    for (k, pid) in pids.iter().enumerate() {
        let row = samples
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let own = s
                    .processes
                    .iter()
                    .find(|p| p.pid == *pid)
                    .and_then(|p| m.of(&p.memory))
                    .unwrap_or(0);
                let below = if k == 0 { 0 } else { tops[k - 1][i] };
                below.saturating_add(own)
            })
            .collect();
        tops.push(row);
    }
    // The legend names the largest processes only (by peak), so short-lived helpers of a
    // shell script do not crowd it out.
    let mut by_peak: Vec<(u64, u32)> = pids
        .iter()
        .map(|&pid| {
            let peak = samples
                .iter()
                .flat_map(|s| s.processes.iter().filter(|p| p.pid == pid))
                .filter_map(|p| m.of(&p.memory))
                .max()
                .unwrap_or(0);
            (peak, pid)
        })
        .collect();
    by_peak.sort_unstable_by(|a, b| b.cmp(a));
    let labelled: Vec<u32> = by_peak
        .iter()
        .take(LEGEND_PROCESSES)
        .map(|&(_, pid)| pid)
        .collect();
    // Highest band first, each filled down to 0, so lower bands paint over the ones above.
    for (k, pid) in pids.iter().enumerate().rev() {
        let color = Palette99::pick(k).mix(0.6);
        let points: Vec<(f64, u64)> = samples
            .iter()
            .map(|s| s.time)
            .zip(tops[k].iter().copied())
            .collect();
        let name = names.get(pid).cloned().unwrap_or_default();
        let series = chart.draw_series(AreaSeries::new(points, 0, color.filled()))?;
        if labelled.contains(pid) {
            series
                .label(format!("{pid} {name} {}", m.name()))
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 20, y + 5)], color.filled())
                });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{write_csv, write_csv_header, write_jsonl};

    fn samples() -> Vec<Sample> {
        (0..5u64)
            .map(|i| {
                let mut s = Sample {
                    time: i as f64 * 0.125,
                    duration: 0.001,
                    processes: vec![
                        ProcessSample {
                            pid: 10,
                            name: "x, \"y\"".into(),
                            name_bytes: None,
                            memory: Figures {
                                rss: (i + 1) << 20,
                                vms: 8 << 20,
                                uss: Some(i << 20),
                                pss: Some(i << 20),
                                swap: Some(0),
                            },
                        },
                        ProcessSample {
                            pid: 11,
                            name: "child".into(),
                            name_bytes: None,
                            memory: Figures {
                                rss: 1 << 20,
                                vms: 4 << 20,
                                uss: None,
                                pss: None,
                                swap: None,
                            },
                        },
                    ],
                    ..Sample::default()
                };
                s.sum();
                s
            })
            .collect()
    }

    #[test]
    fn csv_round_trip() {
        let mut buf = Vec::new();
        write_csv_header(&mut buf).unwrap();
        for s in samples() {
            write_csv(&mut buf, &s).unwrap();
        }
        // A file cut off after a process row keeps only complete samples.
        buf.extend_from_slice(b"0.5,0.001,10,x,1,2,3,4,5\n");
        assert_eq!(read_csv(&buf).unwrap(), samples());
    }

    #[test]
    fn jsonl_round_trip() {
        let mut buf = Vec::new();
        for s in samples() {
            write_jsonl(&mut buf, &s).unwrap();
        }
        buf.extend_from_slice(b"\n");
        assert_eq!(read_jsonl(&buf).unwrap(), samples());
    }

    #[test]
    fn bad_files_name_the_line() {
        let err = read_csv(b"nope\n").unwrap_err();
        assert!(format!("{err:#}").contains("line 1"));
        let bad = format!("{CSV_HEADER}\n0.1,0.1,,total,x,1,,,\n");
        let err = read_csv(bad.as_bytes()).unwrap_err();
        assert!(
            format!("{err:#}").contains("line 2: not a number: x"),
            "{err:#}"
        );
        let err = read_jsonl(b"{}\n{\"time\":").unwrap_err();
        assert!(format!("{err:#}").contains("line 1"), "{err:#}");
    }

    #[test]
    fn csv_quotes() {
        assert_eq!(split_csv("a,\"b,\"\"c\"\"\",,d"), ["a", "b,\"c\"", "", "d"]);
    }
}
