//! `memsight plot`: a recording of `memsight record` drawn as SVG or PNG, like `mprof plot`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use plotters::coord::Shift;
use plotters::prelude::*;

use memsight::record::{Metric, Sample};

use crate::recording;

/// DejaVu Sans (see assets/DejaVuSans.LICENSE), so PNG text needs no system font.
static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// How many processes `--stack` draws a band of their own (the largest by peak); the rest share
/// one "others" band, so a build's thousands of short-lived processes stay one band.
pub const STACK_PROCESSES: usize = 8;

/// Options of `memsight plot`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A recording written by `memsight record -o` (JSON lines, or CSV by extension): a regular
    /// file of at most 256 MiB. A last line cut mid-write is left out, with a warning.
    file: PathBuf,
    /// The picture to write: OUT.svg or OUT.png (default: FILE with the extension .svg).
    #[arg(short = 'o', long, value_name = "OUT")]
    output: Option<PathBuf>,
    /// The metrics to draw for the tree, comma-separated (rss, vms, uss, pss, swap); those the
    /// recording lacks (USS in a --fast one) are skipped.
    #[arg(long, value_name = "LIST", value_delimiter = ',', default_value = "uss,pss,rss", value_parser = parse_metric)]
    metric: Vec<Metric>,
    /// Draw the first metric as stacked areas: the 8 largest processes (by peak) a band each,
    /// every other process in one "others" band.
    #[arg(long)]
    stack: bool,
    /// The title (default: the name and pid of the process seen in most samples).
    #[arg(long, value_name = "TEXT")]
    title: Option<String>,
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
    /// What was recorded (the command line), for the title; `None` names the process seen in
    /// most samples.
    pub title: Option<String>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            metrics: vec![Metric::Uss, Metric::Pss, Metric::Rss],
            stack: false,
            width: 1000,
            height: 600,
            title: None,
        }
    }
}

/// Runs `memsight plot`.
pub fn run(args: &Args, out: &mut impl std::io::Write) -> anyhow::Result<()> {
    let file = args.file.display();
    let recording = recording::read_file(&args.file).with_context(|| format!("{file}"))?;
    if recording.cut_line_dropped {
        eprintln!(
            "memsight: warning: {file}: the last line is cut (the recording was interrupted); \
             it is left out"
        );
    }
    if recording.samples.is_empty() {
        bail!("{file}: no samples to draw");
    }
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| args.file.with_extension("svg"));
    let opts = Options {
        metrics: args.metric.clone(),
        stack: args.stack,
        width: args.width,
        height: args.height,
        title: args.title.clone(),
    };
    render(&recording.samples, &output, &opts)?;
    writeln!(out, "{}", output.display())?;
    Ok(())
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

/// Text as it can go into the picture: every control character, and every character XML 1.0
/// forbids (U+FFFE, U+FFFF), as `?`. The SVG backend escapes `<`, `&` and quotes itself.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() || matches!(c, '\u{fffe}' | '\u{ffff}') {
                '?'
            } else {
                c
            }
        })
        .collect()
}

/// A size for a label: one decimal and KiB, MiB, GiB... (powers of 1024), or bytes below 1 KiB.
pub fn human(n: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    for (i, unit) in UNITS.iter().enumerate().rev() {
        let size = 1u64 << ((i + 1) * 10);
        if n >= size {
            return format!("{:.1} {unit}", n as f64 / size as f64);
        }
    }
    format!("{n} B")
}

/// The memory axis: its top and its ticks, a power of two apart (0, 64 MiB, 128 MiB...), at most
/// 7 of them and at least 15% of headroom above `max` for the peak labels.
pub fn memory_ticks(max: u64) -> (u64, Vec<u64>) {
    let want = u128::from(max) * 115 / 100;
    let step = (want / 6).max(1).next_power_of_two();
    let top = want.div_ceil(step).max(1) * step;
    let top = u64::try_from(top).unwrap_or(u64::MAX);
    let step = u64::try_from(step).unwrap_or(u64::MAX);
    let ticks = (0..)
        .map_while(|k: u64| k.checked_mul(step).filter(|&v| v <= top))
        .collect();
    (top, ticks)
}

/// A tick's label: `step`'s unit (B, KiB, MiB...: the largest not above the step) and a whole
/// number of it, as "64 MiB"; 0 as "0".
pub fn tick_label(value: u64, step: u64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if value == 0 {
        return "0".to_string();
    }
    let power = (step.max(1).ilog2() / 10).min(6);
    let unit = 1u64 << (10 * power);
    let amount = value as f64 / unit as f64;
    let name = UNITS[power as usize];
    if value.is_multiple_of(unit) {
        format!("{} {name}", value / unit)
    } else {
        format!("{amount:.1} {name}")
    }
}

/// A time tick's label with as many decimals as the span needs.
fn time_label(t: f64, span: f64) -> String {
    match span {
        s if s >= 20.0 => format!("{t:.0}"),
        s if s >= 2.0 => format!("{t:.1}"),
        _ => format!("{t:.2}"),
    }
}

/// The process that `samples` follow longest (the recorded root, normally: descendants come and
/// go), as "NAME (pid N)" with its latest name; ties go to the lowest pid.
pub fn main_process(samples: &[Sample]) -> Option<String> {
    let mut seen: HashMap<u32, (usize, &str)> = HashMap::new();
    for s in samples {
        for p in &s.processes {
            let e = seen.entry(p.pid).or_insert((0, ""));
            e.0 += 1;
            e.1 = &p.name;
        }
    }
    let (pid, (_, name)) = seen
        .into_iter()
        .max_by_key(|&(pid, (n, _))| (n, std::cmp::Reverse(pid)))?;
    Some(format!("{} (pid {pid})", printable(name)))
}

/// Draws `samples` to `path` (SVG, or PNG when it ends in .png). An empty recording is an error:
/// there is nothing to draw.
pub fn render(samples: &[Sample], path: &Path, opts: &Options) -> anyhow::Result<()> {
    if samples.is_empty() {
        bail!("no samples to draw");
    }
    let size = (opts.width, opts.height);
    let png = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"));
    // Both backends lay text out with the font: PNG draws its glyphs, SVG sizes its labels.
    plotters::style::register_font("sans-serif", FontStyle::Normal, FONT)
        .map_err(|_| anyhow!("the bundled font does not load"))?;
    let result = if png {
        let root = BitMapBackend::new(path, size).into_drawing_area();
        draw(&root, samples, opts, true).and_then(|()| root.present().map_err(|e| anyhow!("{e}")))
    } else {
        let root = SVGBackend::new(path, size).into_drawing_area();
        draw(&root, samples, opts, false).and_then(|()| root.present().map_err(|e| anyhow!("{e}")))
    };
    result.with_context(|| format!("{}", path.display()))
}

/// One peak label: where its marker is (pixels) and what it says.
struct PeakLabel {
    at: (i32, i32),
    text: String,
    color: RGBColor,
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    samples: &[Sample],
    opts: &Options,
    bitmap: bool,
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
    let first = samples.first().map_or(0.0, |s| s.time);
    // A recording's clock starts at its first sample: the axis starts at 0 to show it, unless
    // the samples start late in it (a cut recording).
    let t_start = if (0.0..=t_end / 10.0).contains(&first) {
        0.0
    } else {
        first.min(t_end - 0.001)
    };
    let span = t_end - t_start;
    let y_max = samples
        .iter()
        .flat_map(|s| metrics.iter().filter_map(|m| m.of(&s.total)))
        .max()
        .unwrap_or(0)
        .max(1024);
    let (y_top, ticks) = memory_ticks(y_max);
    let step = ticks.get(1).copied().unwrap_or(y_top);
    let what = match &opts.title {
        Some(t) => printable(t),
        None => main_process(samples).unwrap_or_else(|| "memsight record".to_string()),
    };
    let title = format!("{what}: {} samples over {span:.1} s", samples.len());
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 18))
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(76)
        .build_cartesian_2d(t_start..t_end, (0u64..y_top).with_key_points(ticks))
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("time (s)")
        .y_desc("memory")
        .y_label_formatter(&|v| tick_label(*v, step))
        .x_label_formatter(&|t| time_label(*t, span))
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 14))
        .light_line_style(WHITE.mix(0.0))
        .bold_line_style(BLACK.mix(0.12))
        .draw()
        .map_err(err)?;

    if opts.stack
        && let Some(&first) = metrics.first()
    {
        draw_stack(&mut chart, samples, first).map_err(err)?;
    }
    let mut peaks = Vec::new();
    for &m in &metrics {
        let color = metric_color(m);
        let name = m.name().to_uppercase();
        let points: Vec<(f64, u64)> = samples
            .iter()
            .filter_map(|s| Some((s.time, m.of(&s.total)?)))
            .collect();
        let points = thin(&points, |p| chart.backend_coord(p));
        let style = color.stroke_width(2);
        // The bitmap backend joins a wide line's segments with unbounded miters: a line that
        // turns back on itself (a sawtooth) draws spikes across the picture. Segments drawn
        // one by one have no joins; SVG viewers bound their miters themselves.
        let series = if bitmap {
            let segments = points
                .windows(2)
                .map(|w| PathElement::new(vec![w[0], w[1]], style));
            chart.draw_series(segments)
        } else {
            chart.draw_series(LineSeries::new(points, style))
        };
        series
            .map_err(err)?
            .label(format!("tree {name}"))
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
            chart
                .draw_series(std::iter::once(Circle::new((t, v), 4, color.filled())))
                .map_err(err)?;
            peaks.push(PeakLabel {
                at: chart.backend_coord(&(t, v)),
                text: format!("peak {name} {} at {t:.2} s", human(v)),
                color,
            });
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .label_font(("sans-serif", 13))
        .draw()
        .map_err(err)?;
    let plot_area = chart.plotting_area().get_pixel_range();
    draw_peak_labels(root, &peaks, plot_area).map_err(err)?;
    Ok(())
}

/// The points of a line as few as draw the same picture: per pixel column, the first, lowest,
/// highest and last point in time order, and never two in a row on the same pixel. Thousands of
/// samples across a few hundred columns become a few per column, and the bitmap backend's wide
/// lines (which divide by a segment's length) get no zero-length segment to turn into spikes.
pub fn thin(points: &[(f64, u64)], pixel: impl Fn(&(f64, u64)) -> (i32, i32)) -> Vec<(f64, u64)> {
    let mut out: Vec<(f64, u64)> = Vec::new();
    let mut last_pixel: Option<(i32, i32)> = None;
    let mut push = |out: &mut Vec<(f64, u64)>, p: (f64, u64)| {
        let px = pixel(&p);
        if last_pixel != Some(px) {
            out.push(p);
            last_pixel = Some(px);
        }
    };
    let mut i = 0;
    while i < points.len() {
        let column = pixel(&points[i]).0;
        let mut j = i + 1;
        while j < points.len() && pixel(&points[j]).0 == column {
            j += 1;
        }
        let group = &points[i..j];
        let low = (0..group.len()).min_by_key(|&k| group[k].1).unwrap_or(0);
        let high = (0..group.len()).max_by_key(|&k| group[k].1).unwrap_or(0);
        let mut keep = [0, low, high, group.len() - 1];
        keep.sort_unstable();
        for (n, &k) in keep.iter().enumerate() {
            if n == 0 || keep[n - 1] != k {
                push(&mut out, group[k]);
            }
        }
        i = j;
    }
    out
}

/// Where each peak label goes: `(x, y)` of its top-left corner. Labels are stacked in one column
/// above their markers, from the lowest marker up, each at least a line above the previous, so
/// none overlaps another even when the peaks coincide (USS, PSS and RSS usually peak together);
/// if the column would leave the plot at the top, it is moved down as a whole. A marker right of
/// the middle has its label on its left, so the text stays inside.
pub fn place_labels(
    markers: &[(i32, i32)],
    sizes: &[(u32, u32)],
    x_range: std::ops::Range<i32>,
    top: i32,
) -> Vec<(i32, i32)> {
    const GAP: i32 = 4;
    let mut order: Vec<usize> = (0..markers.len()).collect();
    // Lowest marker (largest y) first.
    order.sort_by_key(|&i| std::cmp::Reverse(markers[i].1));
    let mut placed = vec![(0, 0); markers.len()];
    let mut ceiling = i32::MAX;
    for &i in &order {
        let (mx, my) = markers[i];
        let (w, h) = (sizes[i].0 as i32, sizes[i].1 as i32);
        let y = (my - h - 10).min(ceiling.saturating_sub(h + GAP));
        let mid = (x_range.start + x_range.end) / 2;
        let x = if mx > mid { mx - 12 - w } else { mx + 12 };
        let x = x.clamp(x_range.start, (x_range.end - w).max(x_range.start));
        placed[i] = (x, y);
        ceiling = y;
    }
    let highest = placed.iter().map(|p| p.1).min().unwrap_or(top);
    if highest < top {
        for p in &mut placed {
            p.1 += top - highest;
        }
    }
    placed
}

fn draw_peak_labels<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    peaks: &[PeakLabel],
    area: (std::ops::Range<i32>, std::ops::Range<i32>),
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let font: TextStyle = ("sans-serif", 13).into();
    let sizes: Vec<(u32, u32)> = peaks
        .iter()
        .map(|p| root.estimate_text_size(&p.text, &font))
        .collect::<Result<_, _>>()?;
    let markers: Vec<(i32, i32)> = peaks.iter().map(|p| p.at).collect();
    let (x_range, y_range) = area;
    let places = place_labels(&markers, &sizes, x_range, y_range.start + 2);
    for ((p, &(x, y)), &(w, h)) in peaks.iter().zip(&places).zip(&sizes) {
        let (w, h) = (w as i32, h as i32);
        // A thin leader from the marker to the label's nearer edge.
        let edge = if x > p.at.0 { x - 2 } else { x + w + 2 };
        root.draw(&PathElement::new(
            vec![p.at, (edge, y + h / 2)],
            p.color.mix(0.6).stroke_width(1),
        ))?;
        root.draw(&Rectangle::new(
            [(x - 2, y - 1), (x + w + 2, y + h + 1)],
            WHITE.mix(0.8).filled(),
        ))?;
        root.draw(&Text::new(p.text.clone(), (x, y), font.color(&p.color)))?;
    }
    Ok(())
}

/// The bands of a stacked plot of `m`: the [`STACK_PROCESSES`] processes with the highest peaks
/// (in pid order, with their latest names) and, when there are more, "others" for the rest;
/// `values[b][i]` is band `b`'s value at sample `i`. One pass over the rows, so a recording of
/// thousands of short-lived processes costs what its size does.
pub fn stack_bands(samples: &[Sample], m: Metric) -> (Vec<String>, Vec<Vec<u64>>) {
    // pid -> (peak, latest name)
    let mut procs: HashMap<u32, (u64, &str)> = HashMap::new();
    for s in samples {
        for p in &s.processes {
            let e = procs.entry(p.pid).or_insert((0, ""));
            e.0 = e.0.max(m.of(&p.memory).unwrap_or(0));
            e.1 = &p.name;
        }
    }
    let mut by_peak: Vec<(u64, u32)> = procs.iter().map(|(&pid, &(peak, _))| (peak, pid)).collect();
    by_peak.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut top: Vec<u32> = by_peak
        .iter()
        .take(STACK_PROCESSES)
        .map(|&(_, pid)| pid)
        .collect();
    top.sort_unstable();
    let slot: HashMap<u32, usize> = top.iter().enumerate().map(|(i, &pid)| (pid, i)).collect();
    let others = procs.len() > top.len();
    let bands = top.len() + usize::from(others);
    let mut values = vec![vec![0u64; samples.len()]; bands];
    for (i, s) in samples.iter().enumerate() {
        for p in &s.processes {
            let v = m.of(&p.memory).unwrap_or(0);
            let b = slot.get(&p.pid).copied().unwrap_or(top.len());
            if let Some(band) = values.get_mut(b) {
                band[i] = band[i].saturating_add(v);
            }
        }
    }
    let mut names: Vec<String> = top
        .iter()
        .map(|pid| {
            let name = procs.get(pid).map_or("", |p| p.1);
            format!("{pid} {}", printable(name))
        })
        .collect();
    if others {
        names.push(format!("{} others", procs.len() - top.len()));
    }
    (names, values)
}

/// Stacked areas of `m`: one band per large process and one for the others, each on top of the
/// ones before it.
fn draw_stack<DB: DrawingBackend, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, Y>>,
    samples: &[Sample],
    m: Metric,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>>
where
    Y: Ranged<ValueType = u64>,
{
    let (names, values) = stack_bands(samples, m);
    // tops[b][i]: the sum of bands 0..=b at sample i.
    let mut tops = values;
    for b in 1..tops.len() {
        let (below, rest) = tops.split_at_mut(b);
        for (v, under) in rest[0].iter_mut().zip(&below[b - 1]) {
            *v = v.saturating_add(*under);
        }
    }
    let others = names.last().is_some_and(|n| n.ends_with(" others")) && names.len() > 1;
    // Highest band first, each filled down to 0, so lower bands paint over the ones above.
    for (b, (name, top)) in names.iter().zip(&tops).enumerate().rev() {
        let color = if others && b == names.len() - 1 {
            RGBColor(150, 150, 150).mix(0.5)
        } else {
            Palette99::pick(b).mix(0.55)
        };
        let points: Vec<(f64, u64)> = samples
            .iter()
            .map(|s| s.time)
            .zip(top.iter().copied())
            .collect();
        let points = thin(&points, |p| chart.backend_coord(p));
        chart
            .draw_series(AreaSeries::new(points, 0, color.filled()))?
            .label(format!("{name} {}", m.name().to_uppercase()))
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 20, y + 5)], color.filled()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use memsight::record::{Figures, ProcessSample};

    fn sample(time: f64, procs: &[(u32, &str, u64)]) -> Sample {
        let mut s = Sample {
            time,
            duration: 0.001,
            processes: procs
                .iter()
                .map(|&(pid, name, rss)| ProcessSample {
                    pid,
                    name: name.into(),
                    name_bytes: None,
                    memory: Figures {
                        rss,
                        vms: rss * 2,
                        uss: Some(rss / 2),
                        pss: Some(rss / 2),
                        swap: Some(0),
                    },
                })
                .collect(),
            ..Sample::default()
        };
        s.sum();
        s
    }

    #[test]
    fn ticks_are_powers_of_two_in_binary_units() {
        const MIB: u64 = 1 << 20;
        let (top, ticks) = memory_ticks(200 * MIB);
        assert_eq!(top, 256 * MIB);
        assert_eq!(ticks, [0, 64 * MIB, 128 * MIB, 192 * MIB, 256 * MIB]);
        let labels: Vec<String> = ticks.iter().map(|&t| tick_label(t, 64 * MIB)).collect();
        assert_eq!(labels, ["0", "64 MiB", "128 MiB", "192 MiB", "256 MiB"]);
        // Headroom: a peak just under a tick gets the next one.
        assert_eq!(memory_ticks(250 * MIB).0, 320 * MIB);
        for max in [0, 1, 1000, 3 << 30, 7 << 40, u64::MAX / 2, u64::MAX] {
            let (top, ticks) = memory_ticks(max);
            assert!(top >= max.min(u64::MAX / 100 * 100), "{max}");
            assert!((2..=8).contains(&ticks.len()), "{max}: {ticks:?}");
            let step = ticks[1];
            assert!(step.is_power_of_two(), "{max}: {step}");
            assert!(ticks.windows(2).all(|w| w[1] - w[0] == step));
        }
        assert_eq!(tick_label(3 << 29, 1 << 29), "1536 MiB");
        assert_eq!(tick_label(2 << 30, 1 << 30), "2 GiB");
        assert_eq!(tick_label(512, 256), "512 B");
    }

    #[test]
    fn peak_labels_never_overlap() {
        let sizes = [(150, 15), (150, 15), (150, 15)];
        // USS, PSS and RSS peaking at the same pixel, left and right of the middle.
        for x in [100, 700] {
            let markers = [(x, 300), (x, 300), (x, 298)];
            let places = place_labels(&markers, &sizes, 80..900, 40);
            for i in 0..3 {
                let (xi, yi) = places[i];
                assert!(xi >= 80 && xi + 150 <= 900, "{places:?}");
                assert!(yi >= 40, "{places:?}");
                for j in 0..i {
                    let (_, yj) = places[j];
                    assert!((yi - yj).abs() >= 15, "{places:?}");
                }
            }
        }
        // Peaks at the top of the plot push the column down inside it.
        let places = place_labels(&[(100, 45), (100, 45)], &sizes[..2], 80..900, 40);
        assert!(places.iter().all(|p| p.1 >= 40), "{places:?}");
        assert!((places[0].1 - places[1].1).abs() >= 15, "{places:?}");
    }

    #[test]
    fn stack_keeps_the_largest_processes_and_one_others_band() {
        let mut samples = Vec::new();
        for i in 0..50u32 {
            // A long-lived parent, a big child, and a short-lived helper per sample.
            let helper = 1000 + i;
            samples.push(sample(
                f64::from(i) * 0.1,
                &[
                    (10, "make", 4 << 20),
                    (11, "cc1", 100 << 20),
                    (helper, "sh", 1 << 20),
                ],
            ));
        }
        let (names, values) = stack_bands(&samples, Metric::Rss);
        assert_eq!(names.len(), STACK_PROCESSES + 1);
        assert_eq!(names[0], "10 make");
        assert_eq!(names[1], "11 cc1");
        assert_eq!(names.last().map(String::as_str), Some("44 others"));
        // Every sample's bands add up to its total.
        for (i, s) in samples.iter().enumerate() {
            let sum: u64 = values.iter().map(|b| b[i]).sum();
            assert_eq!(sum, s.total.rss);
        }
        let (names, _) = stack_bands(&samples[..1], Metric::Rss);
        assert_eq!(names.len(), 3, "no others band when all fit: {names:?}");
    }

    #[test]
    fn names_in_pictures_are_printable_xml() {
        assert_eq!(printable("a\u{1b}[2J\u{7}b\u{ffff}<&>"), "a?[2J?b?<&>");
        let s = [sample(0.0, &[(5, "x\u{1}y", 1 << 20)])];
        assert_eq!(main_process(&s).as_deref(), Some("x?y (pid 5)"));
    }

    #[test]
    fn main_process_is_the_longest_followed() {
        let samples = [
            sample(0.0, &[(7, "bash", 1)]),
            sample(0.1, &[(7, "python3", 1), (8, "helper", 1)]),
            sample(0.2, &[(7, "python3", 1)]),
        ];
        assert_eq!(main_process(&samples).as_deref(), Some("python3 (pid 7)"));
        assert_eq!(main_process(&[]), None);
    }

    #[test]
    fn empty_recordings_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = render(&[], &dir.path().join("x.svg"), &Options::default()).unwrap_err();
        assert!(format!("{err:#}").contains("no samples"), "{err:#}");
    }

    #[test]
    fn thinning_keeps_each_columns_extremes_and_no_repeated_pixel() {
        // 10 points a column over 3 columns; pixel = (t as column, value).
        let points: Vec<(f64, u64)> = (0..30u64)
            .map(|i| (i as f64 / 10.0, (i * 7) % 11))
            .collect();
        let pixel = |p: &(f64, u64)| (p.0 as i32, p.1 as i32);
        let thinned = thin(&points, pixel);
        assert!(thinned.len() <= 12, "{thinned:?}");
        for column in 0..3 {
            let all: Vec<u64> = points
                .iter()
                .filter(|p| p.0 as i32 == column)
                .map(|p| p.1)
                .collect();
            let kept: Vec<u64> = thinned
                .iter()
                .filter(|p| p.0 as i32 == column)
                .map(|p| p.1)
                .collect();
            assert!(kept.contains(all.iter().max().unwrap()));
            assert!(kept.contains(all.iter().min().unwrap()));
        }
        assert_eq!(thinned.first(), points.first());
        assert_eq!(thinned.last(), points.last());
        assert!(thinned.windows(2).all(|w| pixel(&w[0]) != pixel(&w[1])));
        // Times stay in order.
        assert!(thinned.windows(2).all(|w| w[0].0 <= w[1].0));
        let flat = vec![(0.0, 5u64); 100];
        assert_eq!(thin(&flat, |p| (0, p.1 as i32)).len(), 1);
        assert!(thin(&[], pixel).is_empty());
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human(0), "0 B");
        assert_eq!(human(1536), "1.5 KiB");
        assert_eq!(human(200 << 20), "200.0 MiB");
        assert_eq!(human(u64::MAX), "16.0 EiB");
    }
}
