//! The picture of a failed check (`LeakTest::plot_dir`, `MEMSIGHT_LEAK_PLOT_DIR`): real leaking
//! functions under the harness, the SVG parsed as XML and its elements checked.

use std::path::{Path, PathBuf};
#[cfg(not(windows))]
use std::time::Duration;

#[cfg(not(windows))]
use crate::common::{self, scenarios};
use memsight_leak::{LeakTest, Metric, Report};

/// The file a report's note says was written.
fn written(r: &Report) -> PathBuf {
    let note = r
        .notes
        .iter()
        .find_map(|n| n.strip_prefix("plot written to "))
        .unwrap_or_else(|| panic!("no plot note\n{r}"));
    PathBuf::from(note)
}

/// Parses the SVG and checks what a reader needs: the title (check name, verdict), one panel
/// per blamed metric with its series and fit as polylines, the interval band, human sizes.
fn check_svg(path: &Path, r: &Report) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    let texts: Vec<String> = root
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| n.text().unwrap_or("").trim().to_owned())
        .collect();
    let title = &texts[0];
    assert!(title.contains(&r.name), "{title}");
    assert!(title.contains("LEAK"), "{title}");
    let blamed: Vec<_> = r.metrics.iter().filter(|m| m.leaking).collect();
    assert!(!blamed.is_empty(), "{r}");
    for m in &blamed {
        let name = m.metric.name();
        assert!(
            texts.iter().any(|t| t.starts_with(&format!("{name}: "))),
            "no panel for {name}: {texts:?}"
        );
    }
    // Per panel: the cumulative growth, a polyline with a point at 0 and one after each batch,
    // and the fitted line.
    let polylines: Vec<_> = root
        .descendants()
        .filter(|n| n.has_tag_name("polyline"))
        .filter_map(|n| n.attribute("points"))
        .collect();
    let series = polylines
        .iter()
        .filter(|p| p.split_whitespace().count() == r.batches.len() + 1)
        .count();
    assert!(
        series >= blamed.len() && polylines.len() >= 2 * blamed.len(),
        "{} series polylines for {} metrics\n{text}",
        polylines.len(),
        blamed.len()
    );
    assert!(
        root.descendants().any(|n| n.has_tag_name("polygon")),
        "no interval band"
    );
    assert!(texts.iter().any(|t| t.starts_with("fit: ")), "{texts:?}");
    assert!(texts.iter().any(|t| t == "calls"), "no x axis label");
    text
}

#[test]
fn a_rust_leak_is_drawn_into_the_option_s_directory() {
    memsight_test_support::settle_harness();
    let dir = tempfile::tempdir().unwrap();
    let plots = dir.path().join("plots"); // created by the harness
    let err = LeakTest::new()
        .name("plot::rust_box_leak_64")
        .plot_dir(&plots)
        .check(|| {
            Box::leak(Box::new([0u8; 64]));
        })
        .unwrap_err();
    let r = err.report().unwrap();
    let path = written(r);
    assert_eq!(path, plots.join("plot.rust_box_leak_64.svg"));
    // The note is in the message a failing test prints.
    assert!(err.to_string().contains(&path.display().to_string()));
    let svg = check_svg(&path, r);
    assert!(svg.contains("rust_heap: +64.000 B/call"), "{svg}");
    // 64 B a call over about 3,000 calls: up to about 190 KiB, on an axis in K.
    let ticks: Vec<f64> = svg
        .lines()
        .filter_map(|l| l.strip_suffix('K')?.parse().ok())
        .collect();
    assert!(ticks.len() >= 3 && ticks.iter().any(|&k| k >= 8.0), "{svg}");
    assert_eq!(r.metric(Metric::RustHeap).unwrap().per_call, 64.0);
}

#[test]
#[cfg(not(windows))]
fn a_c_leak_is_drawn_into_the_environment_s_directory() {
    memsight_test_support::settle_harness();
    if memsight_test_support::is_rerun_child() {
        let f = scenarios::make("c_malloc_16", common::clib()).unwrap();
        let err = LeakTest::new().name("c_malloc_16").check(f).unwrap_err();
        // The parent parses what the child printed.
        println!("{err}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = memsight_test_support::rerun(
        &memsight_test_support::test_path(
            module_path!(),
            "a_c_leak_is_drawn_into_the_environment_s_directory",
        ),
        &[("MEMSIGHT_LEAK_PLOT_DIR", dir.path().to_str().unwrap())],
        Duration::from_secs(120),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = dir.path().join("c_malloc_16.svg");
    assert!(
        stdout.contains(&format!("note: plot written to {}", path.display())),
        "{stdout}"
    );
    let text = std::fs::read_to_string(&path).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    let texts: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .map(str::trim)
        .collect();
    assert!(
        texts[0].contains("c_malloc_16") && texts[0].contains("LEAK"),
        "{texts:?}"
    );
    // glibc's 32-byte chunk per call, blamed on the native heap.
    assert!(
        texts.iter().any(|t| t.starts_with("heap: +32.0")),
        "{texts:?}"
    );
    assert!(
        doc.descendants()
            .filter(|n| n.has_tag_name("polyline"))
            .count()
            >= 2
    );
}

#[test]
fn a_passing_check_writes_nothing() {
    memsight_test_support::settle_harness();
    let dir = tempfile::tempdir().unwrap();
    let plots = dir.path().join("plots");
    let r = LeakTest::new()
        .plot_dir(&plots)
        .check(|| drop(std::hint::black_box(vec![1u8; 100])))
        .unwrap();
    assert!(r.passed());
    assert!(!plots.exists(), "{r}");
    assert!(!r.notes.iter().any(|n| n.contains("plot")), "{r}");
}

#[test]
fn an_unwritable_directory_is_a_note_not_a_panic() {
    memsight_test_support::settle_harness();
    let dir = tempfile::tempdir().unwrap();
    // A directory under a regular file cannot be made, whoever runs the test (root too).
    let file = dir.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    let plots = file.join("plots");
    let err = LeakTest::new()
        .name("unwritable")
        .plot_dir(&plots)
        .check(|| {
            Box::leak(Box::new(0u64));
        })
        .unwrap_err();
    let r = err.report().unwrap();
    let note = r
        .notes
        .iter()
        .find(|n| n.starts_with("plot not written: "))
        .unwrap_or_else(|| panic!("{r}"));
    assert!(note.contains(&plots.display().to_string()), "{note}");
    assert!(!note.contains("plot written to"));
    // The verdict is unaffected.
    assert!(r.metric(Metric::RustHeap).unwrap().leaking, "{r}");
}
