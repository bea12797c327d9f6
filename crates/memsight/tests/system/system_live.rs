//! virtual_memory and swap_memory on this machine against procps `free -b` and `vmstat -s`,
//! with psutil's tolerance (5 MiB) and retries for figures that move between two samples.
#![cfg(target_os = "linux")] // /proc, ptrace modes, psutil oracles: see windows.rs for Windows

use memsight_test_support::retry;
use std::process::Command;

const TOLERANCE: u64 = 5 << 20;

fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .env("LANG", "C.UTF-8")
        .output()
        .unwrap_or_else(|e| panic!("{program} is needed (scripts/setup.sh installs procps): {e}"));
    assert!(out.status.success(), "{program} {args:?} failed");
    String::from_utf8(out.stdout).unwrap()
}

/// The numbers of the `free -b` line starting with `label`.
fn free_row(label: &str) -> Vec<u64> {
    run("free", &["-b", "-w"])
        .lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no {label} line"))
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().unwrap())
        .collect()
}

/// `vmstat -s` value (KiB) of the line ending with `name` in `text`, in bytes.
fn vmstat(text: &str, name: &str) -> u64 {
    text.lines()
        .find(|l| l.trim_end().ends_with(name))
        .unwrap_or_else(|| panic!("no `{name}` in vmstat -s"))
        .split_whitespace()
        .next()
        .unwrap()
        .parse::<u64>()
        .unwrap()
        * 1024
}

/// Whether procps' figure, read between memsight's `before` and `after`, is within the tolerance
/// of the range the two span: on a busy machine free memory moves by more than the tolerance
/// while one `vmstat` process starts (seen: 14.7 MB), so one reading on one side is not enough.
fn close(what: &str, theirs: u64, before: u64, after: u64) -> Result<(), String> {
    let (low, high) = (before.min(after), before.max(after));
    if (low.saturating_sub(TOLERANCE)..=high.saturating_add(TOLERANCE)).contains(&theirs) {
        Ok(())
    } else {
        Err(format!(
            "{what}: procps {theirs} vs memsight {before} before and {after} after"
        ))
    }
}

#[test]
fn mem_line_matches_free() {
    let mem = memsight::virtual_memory().unwrap();
    assert_eq!(free_row("Mem:")[0], mem.total, "total is exact");
    retry(|| {
        let a = memsight::virtual_memory().map_err(|e| e.to_string())?;
        let row = free_row("Mem:");
        let b = memsight::virtual_memory().map_err(|e| e.to_string())?;
        close("used", row[1], a.used, b.used)?;
        close("free", row[2], a.free, b.free)?;
        close("shared", row[3], a.shared, b.shared)?;
        close("buffers", row[4], a.buffers, b.buffers)?;
        close("cache", row[5], a.cached, b.cached)?;
        close("available", row[6], a.available, b.available)
    });
}

#[test]
fn mem_matches_vmstat() {
    retry(|| {
        let a = memsight::virtual_memory().map_err(|e| e.to_string())?;
        let text = run("vmstat", &["-s"]);
        let b = memsight::virtual_memory().map_err(|e| e.to_string())?;
        let v = |name: &str| vmstat(&text, name);
        close("total", v("total memory"), a.total, b.total)?;
        close("used", v("used memory"), a.used, b.used)?;
        close("free", v("free memory"), a.free, b.free)?;
        close("buffers", v("buffer memory"), a.buffers, b.buffers)?;
        close("active", v("active memory"), a.active, b.active)?;
        close("inactive", v("inactive memory"), a.inactive, b.inactive)
    });
}

#[test]
fn swap_line_matches_free_and_sysinfo() {
    retry(|| {
        let a = memsight::swap_memory().map_err(|e| e.to_string())?;
        let row = free_row("Swap:");
        let b = memsight::swap_memory().map_err(|e| e.to_string())?;
        close("total", row[0], a.total, b.total)?;
        close("used", row[1], a.used, b.used)?;
        close("free", row[2], a.free, b.free)
    });
    let swap = memsight::swap_memory().unwrap();
    let info = rustix::system::sysinfo();
    assert_eq!(swap.total, info.totalswap as u64 * u64::from(info.mem_unit));
    assert!(swap.missing.is_empty(), "{:?}", swap.missing);
}

#[test]
fn the_3_14_estimate_is_within_15_percent_of_the_kernel() {
    // psutil's test_avail_old_percent: the fallback on this machine's real meminfo and zoneinfo.
    let dir = tempfile::tempdir().unwrap();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    let kernel_available: u64 = meminfo
        .lines()
        .find(|l| l.starts_with("MemAvailable:"))
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
        * 1024;
    let without: String = meminfo
        .lines()
        .filter(|l| !l.starts_with("MemAvailable:"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(dir.path().join("meminfo"), without).unwrap();
    std::fs::copy("/proc/zoneinfo", dir.path().join("zoneinfo")).unwrap();
    let estimate = memsight::linux::ProcFs::new(dir.path())
        .virtual_memory()
        .unwrap()
        .available;
    let ratio = estimate as f64 / kernel_available as f64;
    assert!(
        (0.85..=1.15).contains(&ratio),
        "estimate {estimate} vs kernel {kernel_available}"
    );
}
