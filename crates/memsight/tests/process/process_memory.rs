//! memory_info, memory_info_ex, memory_full_info, memory_percent and memory_maps on processes the
//! test starts with known memory, against procps `ps` and `pmap -x`, `/proc/PID/status` and psutil.
#![cfg(target_os = "linux")] // /proc, ptrace modes, psutil oracles: see windows.rs for Windows
#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the test failing

use memsight_test_support as support;

use std::collections::BTreeMap;
use std::process::Command;

use memsight::{Error, MemType, Process};
use support::{Kid, kernel_thread, psutil, psutil_alive, spawn_python_ready, zombie};

const MIB: u64 = 1 << 20;

/// How far USS and PSS of a python child may move between two reads while other processes on
/// the machine start and stop mapping the same libpython and libc (their text is about 4 MiB).
const SHARING_SLACK: u64 = 8 * MIB;

/// A child that mallocs and writes 64 MiB, then waits.
fn touches_64_mib() -> Kid {
    support::holding(64)
}

#[test]
fn private_64_mib_shows_in_uss() {
    let kid = touches_64_mib();
    let p = Process::new(kid.pid()).unwrap();
    let full = p.memory_full_info().unwrap();
    assert!(full.uss >= 64 * MIB, "uss {} < 64 MiB", full.uss);
    assert!(full.pss >= full.uss, "pss {} < uss {}", full.pss, full.uss);
    assert!(full.rss >= 64 * MIB);
    // The same figures as psutil. USS and PSS move when any process maps or unmaps a shared
    // file (the oracle's own python, and other tests' pythons, share libpython and libc), so
    // those two get SHARING_SLACK.
    let (theirs, _oracle) = psutil_alive(
        "m = psutil.Process(int(sys.argv[1])).memory_full_info()\nprint(json.dumps(m._asdict()))",
        &[kid.pid().to_string()],
    );
    let full = p.memory_full_info().unwrap();
    let mut mine = serde_json::to_value(full).unwrap();
    for key in ["uss", "pss"] {
        let (m, t) = (mine[key].as_u64().unwrap(), theirs[key].as_u64().unwrap());
        assert!(m.abs_diff(t) <= SHARING_SLACK, "{key}: {m} vs psutil {t}");
        mine[key] = theirs[key].clone();
    }
    assert_eq!(mine, theirs);
    // memory_percent divides by MemTotal.
    let total = memsight::virtual_memory().unwrap().total as f64;
    let pct = p.memory_percent(MemType::Uss).unwrap();
    assert!((pct - full.uss as f64 / total * 100.0).abs() < 1e-9);
    let theirs = psutil(
        "p = psutil.Process(int(sys.argv[1]))\nprint(json.dumps([p.memory_percent(t) for t in ['rss', 'vms', 'swap']]))",
        &[kid.pid().to_string()],
    );
    let mine: Vec<f64> = [MemType::Rss, MemType::Vms, MemType::Swap]
        .into_iter()
        .map(|t| p.memory_percent(t).unwrap())
        .collect();
    for (m, t) in mine.iter().zip(theirs.as_array().unwrap()) {
        assert!(
            (m - t.as_f64().unwrap()).abs() < 1e-9,
            "{mine:?} vs {theirs}"
        );
    }
    assert!("uss".parse::<MemType>().is_ok());
    assert!("?!?".parse::<MemType>().is_err());
}

#[test]
fn shared_32_mib_is_split_in_pss() {
    // The parent writes 32 MiB of MAP_SHARED memory, then forks: both map the same pages.
    let kid = spawn_python_ready(
        "import ctypes, mmap, os, time\n\
         m = mmap.mmap(-1, 32 << 20, flags=mmap.MAP_SHARED)\n\
         m.write(b'\\x01' * (32 << 20))\n\
         r, w = os.pipe()\n\
         pid = os.fork()\n\
         if pid == 0:\n    ctypes.CDLL(None).prctl(1, 9)\n    sum(m[i] for i in range(0, 32 << 20, 4096))\n    os.write(w, b'x')\n    time.sleep(100)\n    os._exit(0)\n\
         os.read(r, 1)\n\
         print(pid, flush=True)\n\
         time.sleep(100)",
    );
    let parent = Process::new(kid.pid()).unwrap();
    let child_pid = support::children_of(kid.pid());
    let child = Process::new(child_pid).unwrap();
    for p in [&parent, &child] {
        let maps = p.memory_maps(false).unwrap();
        let shared: Vec<_> = maps
            .iter()
            .filter(|m| m.size == 32 * MIB && m.perms == "rw-s")
            .collect();
        assert_eq!(shared.len(), 1, "{maps:#?}");
        let m = shared[0];
        assert_eq!(m.rss, 32 * MIB);
        assert_eq!(m.shared_dirty + m.shared_clean, 32 * MIB);
        assert!(m.pss.abs_diff(16 * MIB) <= 64 * 1024, "pss {}", m.pss);
        let full = p.memory_full_info().unwrap();
        assert!(full.pss >= 16 * MIB, "pss {}", full.pss);
        assert!(
            full.uss < 16 * MIB,
            "shared pages are not unique: uss {}",
            full.uss
        );
    }
    // The child dies with its parent (PR_SET_PDEATHSIG).
}

#[test]
fn rss_and_vms_equal_ps_exactly() {
    let kids: Vec<Kid> = (0..3)
        .map(|_| support::spawn_settled("sleep", &["100"]))
        .chain([touches_64_mib()])
        .collect();
    for kid in &kids {
        let p = Process::new(kid.pid()).unwrap();
        let m = p.memory_info().unwrap();
        let out = Command::new("ps")
            .args(["-o", "rss=,vsz=", "-p", &kid.pid().to_string()])
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let kb: Vec<u64> = text
            .split_whitespace()
            .map(|f| f.parse().unwrap())
            .collect();
        assert_eq!(kb, [m.rss / 1024, m.vms / 1024], "pid {}", kid.pid());
    }
}

#[test]
fn memory_info_ex_matches_status() {
    let kid = touches_64_mib();
    let p = Process::new(kid.pid()).unwrap();
    let ex = p.memory_info_ex().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{}/status", kid.pid())).unwrap();
    let kb = |key: &str| -> u64 {
        let line = status
            .lines()
            .find(|l| l.starts_with(&format!("{key}:")))
            .unwrap();
        line.split_whitespace()
            .nth(1)
            .unwrap()
            .parse::<u64>()
            .unwrap()
            * 1024
    };
    assert_eq!(ex.peak_rss, kb("VmHWM"));
    assert_eq!(ex.peak_vms, kb("VmPeak"));
    assert_eq!(ex.rss_anon, kb("RssAnon"));
    assert_eq!(ex.rss_file, kb("RssFile"));
    assert_eq!(ex.rss_shmem, kb("RssShmem"));
    assert_eq!(ex.swap, kb("VmSwap"));
    assert_eq!(ex.hugetlb, kb("HugetlbPages"));
    assert_eq!(ex.rss, ex.rss_anon + ex.rss_file + ex.rss_shmem);
    assert_eq!(ex.vms, kb("VmSize"));
    assert!(ex.rss_anon >= 64 * MIB);
    assert!(ex.peak_rss >= ex.rss);
}

/// `pmap -x PID` rows: (start address, Kbytes, RSS kB, Dirty kB, mapping).
fn pmap_x(pid: u32) -> Vec<(u64, u64, u64, u64, String)> {
    let out = Command::new("pmap")
        .args(["-x", &pid.to_string()])
        .output()
        .unwrap();
    memsight_test_support::assert_success(&out);
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .skip(2)
        .take_while(|l| !l.starts_with("----"))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (
                u64::from_str_radix(f[0], 16).unwrap(),
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
                f[3].parse().unwrap(),
                f[5..].join(" "),
            )
        })
        .collect()
}

#[test]
fn maps_agree_with_pmap_and_psutil() {
    let kid = touches_64_mib();
    let p = Process::new(kid.pid()).unwrap();
    let maps = p.memory_maps(false).unwrap();
    let pmap = pmap_x(kid.pid());
    assert_eq!(maps.len(), pmap.len());
    for (m, (start, kbytes, rss, dirty, mapping)) in maps.iter().zip(&pmap) {
        let (lo, _) = m.addr.split_once('-').unwrap();
        assert_eq!(u64::from_str_radix(lo, 16).unwrap(), *start);
        assert_eq!(m.size / 1024, *kbytes, "{m:?}");
        assert_eq!(m.rss / 1024, *rss, "{m:?}");
        assert_eq!((m.shared_dirty + m.private_dirty) / 1024, *dirty, "{m:?}");
        if m.path.starts_with('/') {
            // pmap shows the base name.
            assert!(
                m.path.ends_with(mapping.as_str()),
                "{} vs {mapping}",
                m.path
            );
        }
    }
    // Field for field the same as psutil, both ungrouped and grouped (same order too). Sharing
    // moves with every process on the machine that maps the same files, so pss and the
    // clean shared/private split are compared as their sum (clean resident), the rest exactly.
    for grouped in [false, true] {
        let (theirs, _oracle) = psutil_alive(
            "p = psutil.Process(int(sys.argv[1]))\nprint(json.dumps([m._asdict() for m in p.memory_maps(grouped=sys.argv[2] == '1')]))",
            &[kid.pid().to_string(), (grouped as u8).to_string()],
        );
        let mine = serde_json::to_value(p.memory_maps(grouped).unwrap()).unwrap();
        let normalize = |v: &serde_json::Value| -> Vec<serde_json::Value> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|m| {
                    let mut m = m.as_object().unwrap().clone();
                    let clean =
                        m["shared_clean"].as_u64().unwrap() + m["private_clean"].as_u64().unwrap();
                    m.insert("clean".into(), clean.into());
                    for k in ["pss", "shared_clean", "private_clean"] {
                        m.remove(k);
                    }
                    serde_json::Value::Object(m)
                })
                .collect()
        };
        assert_eq!(normalize(&mine), normalize(&theirs), "grouped={grouped}");
    }
    // Summing the maps gives the rollup's figures (within rounding, psutil's 4096 B rule per map).
    // smaps and smaps_rollup are two reads: other processes mapping the same files between them
    // move pages between private and shared, so retry as psutil's retry_on_failure does.
    memsight_test_support::retry(|| {
        let (maps, full) =
            p.oneshot(|p| (p.memory_maps(false).unwrap(), p.memory_full_info().unwrap()));
        let uss: u64 = maps.iter().map(|m| m.private_clean + m.private_dirty).sum();
        let pss: u64 = maps.iter().map(|m| m.pss).sum();
        let slack = 4096 * maps.len() as u64;
        memsight_test_support::ensure(
            uss.abs_diff(full.uss) <= slack && pss.abs_diff(full.pss) <= slack,
            || format!("maps uss {uss} pss {pss}, rollup {full:?}, slack {slack}"),
        )
    });
    let grouped = p.memory_maps(true).unwrap();
    assert!(
        grouped
            .iter()
            .all(|g| g.addr.is_empty() && g.perms.is_empty())
    );
    let size = |v: &[memsight::MemoryMap]| v.iter().map(|m| m.size).sum::<u64>();
    assert_eq!(size(&grouped), size(&maps));
}

#[test]
fn deleted_file_and_path_with_spaces() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a file with spaces");
    std::fs::write(&path, vec![1u8; 8192]).unwrap();
    let kid = spawn_python_ready(&format!(
        "import mmap, os, time\n\
         f = open({path:?}, 'rb')\n\
         m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)\n\
         m[0]\n\
         os.unlink({path:?})\n\
         print('ready', flush=True)\n\
         time.sleep(100)",
        path = path.to_str().unwrap()
    ));
    let p = Process::new(kid.pid()).unwrap();
    let maps = p.memory_maps(false).unwrap();
    let want = path.to_str().unwrap();
    let m = maps
        .iter()
        .find(|m| m.path == want)
        .unwrap_or_else(|| panic!("no map of {want} without ` (deleted)`: {maps:#?}"));
    assert_eq!(m.size, 8192);
    // psutil agrees.
    let theirs = psutil(
        "p = psutil.Process(int(sys.argv[1]))\nprint(json.dumps([m.path for m in p.memory_maps(grouped=False)]))",
        &[kid.pid().to_string()],
    );
    let mine: Vec<&str> = maps.iter().map(|m| m.path.as_str()).collect();
    assert_eq!(serde_json::to_value(mine).unwrap(), theirs);
}

#[test]
fn kernel_thread_is_answered_as_psutil_does() {
    let p = Process::new(kernel_thread()).unwrap();
    assert_eq!(p.memory_info().unwrap(), memsight::MemoryInfo::default());
    let full = p.memory_full_info().unwrap();
    assert_eq!((full.uss, full.pss, full.swap, full.rss), (0, 0, 0, 0));
    assert_eq!(p.memory_maps(false).unwrap(), vec![]);
    assert_eq!(
        p.memory_info_ex().unwrap(),
        memsight::MemoryInfoEx::default()
    );
    // psutil raises NoSuchProcess here (the kernel answers ESRCH); memsight says: no environment.
    assert_eq!(p.environ().unwrap(), BTreeMap::new());
}

#[test]
fn zombie_is_answered_as_psutil_does() {
    let z = zombie();
    let p = Process::new(z.pid()).unwrap();
    assert_eq!(p.memory_info().unwrap(), memsight::MemoryInfo::default());
    let full = p.memory_full_info().unwrap();
    assert_eq!((full.uss, full.pss, full.swap), (0, 0, 0));
    let is_zombie =
        |r: Result<_, Error>| matches!(r, Err(Error::ZombieProcess { pid, .. }) if pid == z.pid());
    assert!(is_zombie(p.memory_maps(true).map(drop)));
    assert!(is_zombie(p.environ().map(drop)));
    assert!(is_zombie(p.cmdline().map(drop)));
    assert_eq!(p.name().unwrap(), "true");
}

#[test]
fn oneshot_reads_each_file_once() {
    // Inside oneshot, statm, status and smaps are read once: memory this process touches between
    // two calls does not show; outside, it does.
    let me = Process::current().unwrap();
    let mut hold = Vec::new();
    let (before, after, maps_before, maps_after) = me.oneshot(|p| {
        let before = p.memory_info().unwrap();
        let maps_before = p.memory_maps(true).unwrap();
        hold = vec![1u8; 32 << 20];
        let after = p.memory_info().unwrap();
        (before, after, maps_before, p.memory_maps(true).unwrap())
    });
    assert_eq!(before, after);
    assert_eq!(maps_before, maps_after);
    let outside = me.memory_info().unwrap();
    assert!(
        outside.rss >= before.rss + 30 * MIB,
        "{outside:?} vs {before:?}"
    );
    assert_eq!(hold.iter().map(|&b| b as u64).sum::<u64>(), 32 << 20);
}

#[test]
fn memory_scan_agrees_with_the_getters() {
    let kid = touches_64_mib();
    let scan = memsight::memory_scan().unwrap();
    let entry = scan
        .processes
        .iter()
        .find(|p| p.pid == kid.pid())
        .expect("the child is in the scan");
    let p = Process::new(kid.pid()).unwrap();
    let full = p.memory_full_info().unwrap();
    assert_eq!((entry.rss, entry.vms), (full.rss, full.vms));
    assert!(entry.uss.abs_diff(full.uss) <= SHARING_SLACK && entry.uss >= 64 * MIB);
    assert_eq!(entry.name, p.name().unwrap());
    assert_eq!(entry.cmdline, p.cmdline().unwrap());
    assert_eq!(entry.username, p.username().unwrap());
    // Pids ascending, no kernel threads, nothing with zero USS.
    assert!(scan.processes.windows(2).all(|w| w[0].pid < w[1].pid));
    assert!(scan.processes.iter().all(|p| p.uss > 0 && p.vms > 0));
    // psutil's test_process_all invariant (no hugetlbfs users here).
    assert!(
        scan.processes.iter().all(|p| p.pss >= p.uss),
        "{:?}",
        scan.processes
    );
    assert!(scan.processes.iter().all(|p| p.pid != 2));
    assert!(scan.errors.is_empty(), "{:?}", scan.errors);
    // The scan of a pid list reads only those.
    let procfs = memsight::linux::ProcFs::default();
    let one = procfs.memory_scan(&[kid.pid(), 4_194_303]);
    assert_eq!(one.processes.len(), 1);
    assert!(one.access_denied.is_empty());
    // The OS-neutral pid-list scan is that scan: the same record for the idle child (its sizes
    // within what sharing with the test process moves), the gone pid skipped.
    let neutral = memsight::memory_scan_pids(&[kid.pid(), 4_194_303]);
    assert!(neutral.access_denied.is_empty() && neutral.errors.is_empty());
    let [a] = neutral.processes.as_slice() else {
        panic!("one record: {:?}", neutral.processes)
    };
    let b = &one.processes[0];
    assert_eq!(
        (a.pid, &a.username, &a.name_os, &a.cmdline_os, a.uid, a.vms),
        (b.pid, &b.username, &b.name_os, &b.cmdline_os, b.uid, b.vms)
    );
    assert_eq!((&a.name, &a.cmdline), (&entry.name, &entry.cmdline));
    for (x, y) in [(a.uss, b.uss), (a.pss, b.pss), (a.rss, b.rss)] {
        assert!(x.abs_diff(y) <= SHARING_SLACK, "{a:?} vs {b:?}");
    }
    assert_eq!(a.uid, p.owner_uid().unwrap());
}

#[test]
fn memory_footprint_is_memory_full_info_without_statm() {
    let kid = touches_64_mib();
    let p = Process::new(kid.pid()).unwrap();
    let full = p.memory_full_info().unwrap();
    let f = p.memory_footprint().unwrap();
    assert!(f.uss >= 64 * MIB, "{f:?}");
    assert!(f.uss.abs_diff(full.uss) < 4 * MIB, "{f:?} {full:?}");
    assert!(
        f.pss >= f.uss && f.pss.abs_diff(full.pss) < 4 * MIB,
        "{f:?} {full:?}"
    );
    let by_name = |name: &str| p.memory_percent(name.parse().unwrap()).unwrap();
    assert!(by_name("uss") > 0.0 && by_name("peak_rss") >= by_name("rss_anon"));
}
