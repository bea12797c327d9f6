//! Sums and products of numbers from a hostile or corrupt `/proc` saturate at
//! `u64::MAX` (the crate's documented choice) instead of panicking in debug builds or wrapping to
//! a small wrong figure in release ones. Debug test builds panic on overflow, so the property
//! tests below, over numbers up to `u64::MAX`, catch any sum or product that forgot to saturate.
#![cfg(target_os = "linux")] // /proc, ptrace modes, psutil oracles: see windows.rs for Windows
#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the test failing

use std::path::Path;

use memsight::linux::ProcFs;
use proptest::prelude::*;

/// The largest kB figure whose byte count still fits: `u64::MAX / 1024`.
const MAX_KB: u64 = u64::MAX / 1024;

fn write(path: &Path, data: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, data).unwrap();
}

fn root_with(files: &[(&str, String)]) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    for (name, data) in files {
        write(&root.path().join(name), data.as_bytes());
    }
    root
}

const STAT: &str = "4242 (hostile) S 1 4242 4242 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 100 0 0 0\n";

fn saturating_bytes(kb: u64) -> u64 {
    kb.saturating_mul(1024)
}

#[test]
fn virtual_memory_cached_plus_sreclaimable_and_inact_sum_saturate() {
    // An old (2.4-era) kernel's Inact_* lines instead of Inactive, every figure near the top.
    let root = root_with(&[(
        "meminfo",
        format!(
            "MemTotal: {MAX_KB} kB\nMemFree: {MAX_KB} kB\nMemAvailable: {MAX_KB} kB\n\
             Buffers: {MAX_KB} kB\nCached: {MAX_KB} kB\nSReclaimable: {MAX_KB} kB\n\
             Shmem: 1 kB\nActive: 1 kB\nInact_dirty: {MAX_KB} kB\nInact_clean: {MAX_KB} kB\n\
             Inact_laundry: {MAX_KB} kB\n"
        ),
    )]);
    let m = ProcFs::new(root.path()).virtual_memory().unwrap();
    assert_eq!(m.cached, u64::MAX);
    assert_eq!(m.inactive, u64::MAX);
    assert_eq!(m.total, MAX_KB * 1024);
}

#[test]
fn meminfo_kb_beyond_u64_bytes_saturates() {
    let root = root_with(&[(
        "meminfo",
        "MemTotal: 18446744073709551615 kB\nMemFree: 18446744073709551615 kB\n\
         MemAvailable: 18446744073709551615 kB\n"
            .to_string(),
    )]);
    let m = ProcFs::new(root.path()).virtual_memory().unwrap();
    assert_eq!(
        (m.total, m.free, m.available),
        (u64::MAX, u64::MAX, u64::MAX)
    );
}

#[test]
fn available_estimate_active_file_plus_inactive_file_saturates() {
    // No MemAvailable: the kernel 3.14 estimate sums Active(file) + Inactive(file) and the zones'
    // low watermarks.
    let root = root_with(&[
        (
            "meminfo",
            format!(
                "MemTotal: 1000 kB\nMemFree: 10 kB\nCached: 5 kB\nSReclaimable: {MAX_KB} kB\n\
                 Active(file): {MAX_KB} kB\nInactive(file): {MAX_KB} kB\n"
            ),
        ),
        (
            "zoneinfo",
            format!(
                "Node 0, zone Normal\n        low      {0}\nNode 0, zone Movable\n        low      {0}\n",
                u64::MAX
            ),
        ),
    ]);
    let m = ProcFs::new(root.path()).virtual_memory().unwrap();
    assert!(m.available <= m.total, "{m:?}");
}

#[test]
fn memory_info_statm_pages_times_page_size_saturates() {
    let root = root_with(&[
        ("4242/stat", STAT.to_string()),
        ("4242/statm", format!("{0} {0} {0} {0} 0 {0} 0\n", u64::MAX)),
    ]);
    let p = ProcFs::new(root.path()).process(4242).unwrap();
    let m = p.memory_info().unwrap();
    assert_eq!(
        (m.rss, m.vms, m.shared, m.text, m.data),
        (u64::MAX, u64::MAX, u64::MAX, u64::MAX, u64::MAX)
    );
}

fn smaps_entry(addr: &str, kb: u64) -> String {
    format!(
        "{addr} r--p 00000000 08:01 42 /usr/lib/hostile.so\nSize: {kb} kB\nRss: {kb} kB\n\
         Pss: {kb} kB\nShared_Clean: {kb} kB\nShared_Dirty: {kb} kB\nPrivate_Clean: {kb} kB\n\
         Private_Dirty: {kb} kB\nReferenced: {kb} kB\nAnonymous: {kb} kB\nSwap: {kb} kB\n"
    )
}

#[test]
fn grouped_memory_maps_sums_saturate() {
    let root = root_with(&[
        ("4242/stat", STAT.to_string()),
        (
            "4242/smaps",
            smaps_entry("1000-2000", MAX_KB) + &smaps_entry("3000-4000", MAX_KB),
        ),
    ]);
    let p = ProcFs::new(root.path()).process(4242).unwrap();
    let grouped = p.memory_maps(true).unwrap();
    assert_eq!(grouped.len(), 1);
    let g = &grouped[0];
    for v in [
        g.rss,
        g.size,
        g.pss,
        g.shared_clean,
        g.shared_dirty,
        g.private_clean,
        g.private_dirty,
        g.referenced,
        g.anonymous,
        g.swap,
    ] {
        assert_eq!(v, u64::MAX, "{g:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn virtual_memory_never_overflows(
        cached in any::<u64>(), reclaimable in any::<u64>(),
        dirty in any::<u64>(), clean in any::<u64>(), laundry in any::<u64>(),
        active_file in any::<u64>(), inactive_file in any::<u64>(), low in any::<u64>(),
    ) {
        let kb = |v: u64| v / 1024;
        let root = root_with(&[
            ("meminfo", format!(
                "MemTotal: {} kB\nMemFree: 7 kB\nBuffers: 1 kB\nCached: {} kB\n\
                 SReclaimable: {} kB\nShmem: 1 kB\nActive: 1 kB\nInact_dirty: {} kB\n\
                 Inact_clean: {} kB\nInact_laundry: {} kB\nActive(file): {} kB\n\
                 Inactive(file): {} kB\n",
                kb(u64::MAX), kb(cached), kb(reclaimable), kb(dirty), kb(clean), kb(laundry),
                kb(active_file), kb(inactive_file),
            )),
            ("zoneinfo", format!("zone\n  low {low}\nzone\n  low {low}\n")),
        ]);
        let m = ProcFs::new(root.path()).virtual_memory().unwrap();
        let b = |v: u64| saturating_bytes(kb(v));
        prop_assert_eq!(m.cached, b(cached).saturating_add(b(reclaimable)));
        prop_assert_eq!(m.inactive, b(dirty).saturating_add(b(clean)).saturating_add(b(laundry)));
        prop_assert!(m.available <= m.total);
    }

    #[test]
    fn memory_info_never_overflows(pages in proptest::collection::vec(any::<u64>(), 7)) {
        let statm = pages.iter().map(u64::to_string).collect::<Vec<_>>().join(" ") + "\n";
        let root = root_with(&[("4242/stat", STAT.to_string()), ("4242/statm", statm)]);
        let p = ProcFs::new(root.path()).process(4242).unwrap();
        let m = p.memory_info().unwrap();
        let page = rustix::param::page_size() as u64;
        prop_assert_eq!(m.rss, pages[1].saturating_mul(page));
        prop_assert_eq!(m.vms, pages[0].saturating_mul(page));
    }

    #[test]
    fn grouped_memory_maps_never_overflow(kbs in proptest::collection::vec(any::<u64>(), 1..6)) {
        let smaps: String = kbs
            .iter()
            .enumerate()
            .map(|(i, kb)| smaps_entry(&format!("{:x}-{:x}", 2 * i * 4096, (2 * i + 1) * 4096), *kb))
            .collect();
        let root = root_with(&[("4242/stat", STAT.to_string()), ("4242/smaps", smaps)]);
        let p = ProcFs::new(root.path()).process(4242).unwrap();
        let grouped = p.memory_maps(true).unwrap();
        let want = kbs.iter().fold(0u64, |sum, kb| sum.saturating_add(saturating_bytes(*kb)));
        prop_assert_eq!(grouped.len(), 1);
        prop_assert_eq!(grouped[0].rss, want);
        prop_assert_eq!(grouped[0].swap, want);
    }
}
