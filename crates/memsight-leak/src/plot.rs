//! The picture of a failed check: for each metric that made the verdict, its cumulative growth
//! against the calls made (one point after each batch), the fitted line (the per-call slope the
//! report gives) and the band of its 95% confidence interval, as one SVG file, with the leaking
//! allocation sites in the caption. Cumulative rather than per batch: batches grow while
//! something grows, so growth per batch would rise in steps and look as if it levelled off.
//!
//! Drawn with plotters' SVG backend. Every piece of text is drawn as a plain SVG `<text>`
//! element (no caption, no legend box), so nothing needs a font's metrics: the picture is the
//! same whether or not plotters was built with a font feature (another crate of the workspace
//! may turn one on).

use std::path::{Path, PathBuf};

use plotters::prelude::*;

use crate::metric::Metric;
use crate::report::{Batch, LeakReason, MetricReport, Report, Verdict};

/// The environment variable naming the directory failed checks are drawn into.
pub(crate) const PLOT_DIR_ENV: &str = "MEMSIGHT_LEAK_PLOT_DIR";

const WIDTH: u32 = 960;
const TITLE_HEIGHT: u32 = 64;
const PANEL_HEIGHT: u32 = 380;
const SERIES: RGBColor = RGBColor(31, 119, 180);
const FIT: RGBColor = RGBColor(214, 39, 40);

/// Writes the picture of `report` into `dir` (created if missing), named after the check.
/// Returns the file written.
pub(crate) fn write(report: &Report, dir: &Path) -> Result<PathBuf, String> {
    let path = dir.join(file_name(&report.name));
    let svg = render(report)?;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    std::fs::write(&path, svg).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

/// A file name for a check's name: letters, digits, `-` and `_` kept, `::` becomes `.`, every
/// other character `_`; empty segments (`{{closure}}` alone) dropped; at most 120 bytes; `.svg`.
pub(crate) fn file_name(name: &str) -> String {
    let mapped: String = name
        .replace("::", ".")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut stem = mapped
        .split('.')
        .map(|s| s.trim_matches('_'))
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(".");
    // Runs of '_' left by generics and braces: one is enough.
    while stem.contains("__") {
        stem = stem.replace("__", "_");
    }
    stem.truncate(120);
    let stem = stem.trim_end_matches(['.', '_']);
    if stem.is_empty() {
        "leak-check.svg".to_owned()
    } else {
        format!("{stem}.svg")
    }
}

/// The metrics to draw: those that made the verdict, else those that grew at all.
fn drawn(report: &Report) -> Vec<&MetricReport> {
    let leaking: Vec<&MetricReport> = report.metrics.iter().filter(|r| r.leaking).collect();
    if !leaking.is_empty() {
        return leaking;
    }
    report.metrics.iter().filter(|r| r.total > 0).collect()
}

/// The batches a metric's summary was computed over: resources start with the one-call
/// windows, as in [`crate::report`].
fn batches_of(report: &Report, m: Metric) -> Vec<Batch> {
    if m.is_resource() {
        report
            .probes
            .iter()
            .chain(&report.batches)
            .copied()
            .collect()
    } else {
        report.batches.clone()
    }
}

fn verdict_text(v: Verdict) -> &'static str {
    match v {
        Verdict::Clean => "no leak",
        Verdict::Bounded => "bounded growth (passes)",
        Verdict::Leak(LeakReason::Persistent) => "LEAK: growth persisted",
        Verdict::Leak(LeakReason::MemoryBudget) => "LEAK: stopped at the memory budget",
        Verdict::Leak(LeakReason::CallBudget) => "LEAK: call budget exhausted, still growing",
    }
}

/// psutil's `bytes2human` (one decimal, K/M/G/T/P/E in powers of 1024, `NB` below 1 KiB) with a
/// sign, for a figure that may be negative or fractional.
pub(crate) fn human(v: f64) -> String {
    const SYMBOLS: [char; 6] = ['K', 'M', 'G', 'T', 'P', 'E'];
    let sign = if v < 0.0 { "-" } else { "" };
    let a = v.abs();
    for (i, symbol) in SYMBOLS.iter().enumerate().rev() {
        let unit = (1u64 << ((i + 1) * 10)) as f64;
        if a >= unit {
            return format!("{sign}{:.1}{symbol}", a / unit);
        }
    }
    if a.fract() == 0.0 {
        format!("{sign}{a:.0}B")
    } else {
        format!("{sign}{a:.1}B")
    }
}

/// A figure of metric `m` for a heading: human bytes, or a count.
fn figure(m: Metric, v: f64) -> String {
    if m.is_bytes() { human(v) } else { count(v) }
}

fn count(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// The unit of a byte axis whose largest figure is `max` bytes: the divisor and psutil's
/// symbol (`B` below 1 KiB), so that ticks fall on round numbers of that unit.
pub(crate) fn axis_unit(max: f64) -> (f64, &'static str) {
    const SYMBOLS: [&str; 6] = ["K", "M", "G", "T", "P", "E"];
    for (i, symbol) in SYMBOLS.iter().enumerate().rev() {
        let unit = (1u64 << ((i + 1) * 10)) as f64;
        if max >= unit {
            return (unit, symbol);
        }
    }
    (1.0, "B")
}

/// Text safe in an SVG document: control characters (not allowed in XML) become `?`.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// The SVG document for `report`.
pub(crate) fn render(report: &Report) -> Result<String, String> {
    let metrics = drawn(report);
    let panels = metrics.len().max(1) as u32;
    let caption = caption(report);
    let caption_height = if caption.is_empty() {
        0
    } else {
        16 + 18 * caption.len() as u32
    };
    let height = TITLE_HEIGHT + panels * PANEL_HEIGHT + caption_height;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let (top, rest) = root.split_vertically(TITLE_HEIGHT);
        let (rest, bottom) = rest.split_vertically(panels * PANEL_HEIGHT);
        let title = format!(
            "memsight-leak: {} — {}",
            clean(&report.name),
            verdict_text(report.verdict)
        );
        let subtitle = format!(
            "{} calls ({} first call + warm-up, then {} batches) in {:.1} ms",
            report.calls,
            report.warmup_calls,
            report.batches.len(),
            report.elapsed.as_secs_f64() * 1e3
        );
        top.draw(&Text::new(title, (12, 10), ("sans-serif", 20).into_font()))
            .map_err(|e| e.to_string())?;
        top.draw(&Text::new(
            subtitle,
            (12, 38),
            ("sans-serif", 14).into_font().color(&BLACK.mix(0.7)),
        ))
        .map_err(|e| e.to_string())?;
        if metrics.is_empty() {
            rest.draw(&Text::new(
                "no metric grew".to_owned(),
                (12, 20),
                ("sans-serif", 16).into_font(),
            ))
            .map_err(|e| e.to_string())?;
        }
        for (area, r) in rest
            .split_evenly((metrics.len().max(1), 1))
            .iter()
            .zip(metrics)
        {
            panel(area, r, &batches_of(report, r.metric)).map_err(|e| e.to_string())?;
        }
        // The caption last: the title stays the document's first text.
        for (i, line) in caption.iter().enumerate() {
            bottom
                .draw(&Text::new(
                    clean(line),
                    (12, 8 + 18 * i as i32),
                    ("monospace", 13).into_font(),
                ))
                .map_err(|e| e.to_string())?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// The caption: the leaking allocation sites (at most 5), as the report prints them.
fn caption(report: &Report) -> Vec<String> {
    if report.leak_sites.is_empty() {
        return Vec::new();
    }
    let mut lines = vec!["leaking sites:".to_owned()];
    lines.extend(report.leak_sites.iter().take(5).map(|s| format!("  {s}")));
    lines
}

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;
type DrawResult = Result<(), DrawingAreaErrorKind<std::io::Error>>;

/// One metric: a heading, its cumulative growth against calls, the fit and its interval.
fn panel(area: &Area<'_>, r: &MetricReport, batches: &[Batch]) -> DrawResult {
    let m = r.metric;
    let unit = if m.is_bytes() { " B" } else { "" };
    let (head, body) = area.split_vertically(52);
    let heading = format!(
        "{}: {:+.3}{unit}/call (95% CI {:+.3}..{:+.3}), total {}, grew in {}/{} batches",
        m.name(),
        r.per_call,
        r.ci.0,
        r.ci.1,
        figure(m, r.total as f64),
        r.grew,
        r.batches
    );
    head.draw(&Text::new(heading, (12, 6), ("sans-serif", 15).into_font()))?;
    if batches.is_empty() {
        return body.draw(&Text::new(
            "no batch was measured (the check stopped during the warm-up)".to_owned(),
            (12, 20),
            ("sans-serif", 14).into_font(),
        ));
    }

    // After batch i: the calls made so far and the growth so far (from 0 at 0).
    let (xs, ys) = crate::policy::series(batches, m);
    let total_calls = xs.last().copied().unwrap_or(0.0);
    let growth: Vec<(f64, f64)> = xs.iter().copied().zip(ys.iter().copied()).collect();
    // The fitted line passes through the points' centre; the band turns about it with the
    // interval's slopes.
    let nf = xs.len() as f64;
    let (mx, my) = (xs.iter().sum::<f64>() / nf, ys.iter().sum::<f64>() / nf);
    let line = |slope: f64| -> Vec<(f64, f64)> {
        vec![
            (0.0, my - slope * mx),
            (total_calls, my + slope * (total_calls - mx)),
        ]
    };
    let fit = line(r.per_call);
    let bounded = r.ci.0.is_finite() && r.ci.1.is_finite();
    let (lo, hi) = if bounded {
        (line(r.ci.0), line(r.ci.1))
    } else {
        (Vec::new(), Vec::new())
    };

    let all = growth.iter().chain(&fit).chain(&lo).chain(&hi).map(|p| p.1);
    let (mut y0, mut y1) = all.fold((0f64, 0f64), |(a, b), y| (a.min(y), b.max(y)));
    // Byte axes are drawn in one unit (K, M, ...) so that ticks are round numbers of it.
    let (scale, symbol) = if m.is_bytes() {
        axis_unit(y0.abs().max(y1.abs()))
    } else {
        (1.0, "")
    };
    let scaled = |v: Vec<(f64, f64)>| -> Vec<(f64, f64)> {
        v.into_iter().map(|(x, y)| (x, y / scale)).collect()
    };
    let (growth, fit, lo, hi) = (scaled(growth), scaled(fit), scaled(lo), scaled(hi));
    (y0, y1) = (y0 / scale, y1 / scale);
    let pad = if y1 > y0 { (y1 - y0) * 0.08 } else { 1.0 };
    y0 -= if y0 < 0.0 { pad } else { 0.0 };
    y1 += pad;

    let x_desc = if m.is_resource() {
        "calls (the first two: the one-call windows)"
    } else {
        "calls"
    };
    let y_desc = format!("growth of {} so far", m.name());
    let mut chart = ChartBuilder::on(&body)
        .margin_left(12)
        .margin_right(24)
        .margin_bottom(8)
        .x_label_area_size(44)
        .y_label_area_size(80)
        .build_cartesian_2d(0.0..total_calls.max(1.0) * 1.02, y0..y1)?;
    chart
        .configure_mesh()
        .x_labels(10)
        // Counts tick at whole numbers where the axis is short.
        .y_labels(if m.is_bytes() {
            8
        } else {
            ((y1 - y0).ceil() as usize + 1).clamp(2, 8)
        })
        .x_label_formatter(&|x| count(x.round()))
        .y_label_formatter(&|y| {
            if *y == 0.0 || symbol.is_empty() {
                count(*y)
            } else if symbol == "B" {
                format!("{}B", count(*y))
            } else {
                format!("{y:.1}{symbol}")
            }
        })
        .x_desc(x_desc)
        .y_desc(y_desc)
        .light_line_style(BLACK.mix(0.05))
        .draw()?;

    if bounded {
        let band: Vec<(f64, f64)> = lo.iter().chain(hi.iter().rev()).copied().collect();
        chart.draw_series(std::iter::once(Polygon::new(band, FIT.mix(0.15).filled())))?;
    }
    chart.draw_series(LineSeries::new(fit, FIT.stroke_width(2)))?;
    chart.draw_series(LineSeries::new(
        growth.iter().copied(),
        SERIES.stroke_width(2),
    ))?;
    chart.draw_series(growth.iter().map(|&p| Circle::new(p, 3, SERIES.filled())))?;

    // The legend, a row under the heading, drawn as plain text and lines (see the module's
    // note on fonts). Widths are estimated at 6 px a character.
    let mut x = 12;
    let y = 36;
    let entries = [
        (
            SERIES.to_rgba(),
            "growth so far, after each batch".to_owned(),
            false,
        ),
        (
            FIT.to_rgba(),
            format!("fit: {:+.3}{unit}/call", r.per_call),
            false,
        ),
        (
            FIT.mix(0.3),
            if bounded {
                "95% confidence interval of the slope".to_owned()
            } else {
                "95% interval unbounded (too few batches)".to_owned()
            },
            true,
        ),
    ];
    for (color, label, filled) in entries {
        if filled {
            head.draw(&Rectangle::new(
                [(x, y - 5), (x + 24, y + 5)],
                color.filled(),
            ))?;
        } else {
            head.draw(&PathElement::new(
                vec![(x, y), (x + 24, y)],
                color.stroke_width(2),
            ))?;
        }
        let width = 6 * label.len() as i32;
        head.draw(&Text::new(
            label,
            (x + 30, y - 7),
            ("sans-serif", 13).into_font(),
        ))?;
        x += 30 + width + 24;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_safe_and_readable() {
        assert_eq!(
            file_name("caught::c_leak::{{closure}}"),
            "caught.c_leak.closure.svg"
        );
        assert_eq!(file_name("my test/../x"), "my_test.x.svg");
        assert_eq!(file_name("a<Vec<u8>>::f"), "a_Vec_u8.f.svg");
        assert_eq!(file_name(""), "leak-check.svg");
        assert_eq!(file_name("../../etc/passwd"), "etc_passwd.svg");
        assert_eq!(file_name(&"x".repeat(500)).len(), 124);
    }

    #[test]
    fn human_sizes_like_psutil_with_a_sign() {
        assert_eq!(human(0.0), "0B");
        assert_eq!(human(1023.0), "1023B");
        assert_eq!(human(0.5), "0.5B");
        assert_eq!(human(1024.0), "1.0K");
        assert_eq!(human(-10_000.0), "-9.8K");
        assert_eq!(human((3u64 << 30) as f64), "3.0G");
    }

    #[test]
    fn byte_axes_take_the_largest_unit_below_their_top() {
        assert_eq!(axis_unit(0.0), (1.0, "B"));
        assert_eq!(axis_unit(1023.0), (1.0, "B"));
        assert_eq!(axis_unit(8192.0), (1024.0, "K"));
        assert_eq!(axis_unit(3.5 * 1048576.0), (1048576.0, "M"));
    }

    #[test]
    fn control_characters_never_reach_the_svg() {
        assert_eq!(clean("a\x01b\nc"), "a?b?c");
    }
}
