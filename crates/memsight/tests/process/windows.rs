//! The Windows backend on processes the test starts (run under Wine here:
//! `scripts/test-cross.sh`). The child is this test binary again, running `child_helper` with
//! `MEMSIGHT_CHILD` set.
#![cfg(windows)]
#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the test failing
#![allow(unsafe_code)] // HeapAlloc/VirtualAlloc/HeapCreate to move heap::info

use memsight::{Error, Process};
use memsight_test_support::self_child::{HELPER_ARGS, Kid, TEST_VAR};
use memsight_test_support::{ensure, retry};

const MIB: u64 = 1 << 20;

/// Tests that allocate, map or free in this process move its process-wide figures (USS,
/// heap::info): they run one at a time, or one test's free shows up in another's reading. The
/// other tests of this binary still allocate while they run (spawning children, reading other
/// processes), so each such test also retries its before/after comparison.
static IN_PROCESS: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    IN_PROCESS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[test]
fn system_memory_adds_up() {
    let m = memsight::virtual_memory().unwrap();
    assert!(m.total > 0 && m.available <= m.total && m.used == m.total - m.available);
    assert_eq!(m.free, m.available);
    let s = memsight::swap_memory().unwrap();
    assert!(s.used <= s.total && s.free == s.total - s.used);
    let booted = memsight::boot_time().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(booted > 1e9 && booted < now, "{booted} {now}");
    assert!(memsight::page_size() >= 4096);
}

#[test]
fn pids_and_the_current_process() {
    let pids = memsight::pids().unwrap();
    assert!(pids.contains(&std::process::id()));
    assert!(pids.windows(2).all(|w| w[0] < w[1]));
    let me = Process::current().unwrap();
    assert!(me.is_running());
    assert!(me.num_threads().unwrap() >= 1);
    me.num_handles().unwrap(); // Wine answers 0

    assert!(me.cpu_times().unwrap().user >= 0.0);
    me.io_counters().unwrap(); // Wine answers zeros
    assert!(!me.username().unwrap().is_empty());
    assert_eq!(
        me.status().unwrap(),
        memsight::process::ProcessStatus::Running
    );
    assert_eq!(me, Process::current().unwrap());
}

#[test]
fn a_child_touching_64_mib_shows_it_and_drops_after_freeing() {
    let dir = std::env::temp_dir();
    let mut kid = Kid::spawn("alloc64", &dir);
    let p = Process::new(kid.pid()).unwrap();
    let m = p.memory_info().unwrap();
    assert!(m.rss >= 64 * MIB, "working set {m:?}");
    assert!(m.vms >= 64 * MIB, "private bytes {m:?}");
    assert!(m.peak_rss >= m.rss && m.peak_vms >= m.vms, "{m:?}");
    let ex = p.memory_info_ex().unwrap();
    assert!(ex.r#virtual >= ex.vms, "{ex:?}");
    // Not memory_footprint: Wine 8 walks only the calling process's working set (see
    // the_own_footprint_counts_touched_memory).
    let pct = p.memory_percent(memsight::MemType::Rss).unwrap();
    assert!(pct > 0.0 && pct <= 100.0);
    kid.say("free");
    kid.wait_for("freed");
    let after = p.memory_info().unwrap();
    assert!(
        after.vms + 32 * MIB < m.vms,
        "private bytes did not drop: {m:?} -> {after:?}"
    );
}

#[test]
fn the_own_footprint_counts_touched_memory() {
    let _serial = one_at_a_time();
    let me = Process::current().unwrap();
    // Under Wine 8 QueryWorkingSet answers ERROR_INVALID_PARAMETER: this runs the
    // QueryWorkingSetEx fallback there, the working-set list on Windows.
    retry(|| {
        let before = me.memory_footprint().unwrap().uss;
        let block = vec![1u8; 64 << 20];
        let after = me.memory_footprint().unwrap().uss;
        drop(block);
        ensure(after >= before + 60 * MIB, || {
            format!("uss {before} -> {after}")
        })
    });
    let full = me.memory_full_info().unwrap();
    assert!(full.uss > 0 && full.rss > 0);
}

#[test]
fn memory_scan_lists_this_process_with_its_memory() {
    let me = std::process::id();
    let mut scan = memsight::memory_scan().unwrap();
    // USS and RSS are two readings of this process while other test threads allocate: retried
    // until one scan has them in order.
    retry(|| {
        scan = memsight::memory_scan().unwrap();
        let p = scan.processes.iter().find(|p| p.pid == me);
        ensure(p.is_some_and(|p| p.rss >= p.uss), || format!("{p:?}"))
    });
    let mine: Vec<_> = scan.processes.iter().filter(|p| p.pid == me).collect();
    let [p] = mine.as_slice() else {
        panic!("this process once in the scan: {scan:?}")
    };
    assert!(p.uss > 0 && p.rss > 0 && p.vms > 0, "{p:?}");
    assert_eq!(p.username, Process::current().unwrap().username().unwrap());
    let exe = std::env::current_exe().unwrap();
    let exe_name = exe.file_name().unwrap().to_string_lossy().to_lowercase();
    assert_eq!(p.name.to_lowercase(), exe_name);
    assert!(!p.cmdline.is_empty());
    // Pid order; the kernel's pids 0 and 4 and processes without USS left out.
    assert!(scan.processes.windows(2).all(|w| w[0].pid < w[1].pid));
    assert!(
        scan.processes
            .iter()
            .all(|p| p.pid != 0 && p.pid != 4 && p.uss > 0)
    );
    assert!(scan.errors.iter().all(|(pid, _)| *pid != me));
    // A pid list reads only those: this process, the child (Wine gives no USS for it: an
    // Unsupported error, not a record), not the one that is gone.
    let dir = std::env::temp_dir();
    let kid = Kid::spawn("idle", &dir);
    let mut gone = Kid::spawn("idle", &dir);
    gone.end();
    let one = memsight::memory_scan_pids(&[gone.pid(), kid.pid(), me]);
    let read: Vec<u32> = one.processes.iter().map(|p| p.pid).collect();
    let failed: Vec<u32> = one.errors.iter().map(|(pid, _)| *pid).collect();
    assert!(read.contains(&me) && !failed.contains(&me), "{one:?}");
    assert!(
        read.contains(&kid.pid()) != failed.contains(&kid.pid()),
        "{one:?}"
    );
    assert!(
        one.errors
            .iter()
            .all(|(_, e)| matches!(e, Error::Unsupported(_))),
        "{one:?}"
    );
    assert!(
        !read.contains(&gone.pid()) && !failed.contains(&gone.pid()),
        "{one:?}"
    );
    assert!(read.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn a_second_process_is_read_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path().canonicalize().unwrap();
    let kid = Kid::spawn("idle", &cwd);
    let p = Process::new(kid.pid()).unwrap();
    let exe = std::env::current_exe().unwrap();
    let exe_name = exe.file_name().unwrap().to_string_lossy().into_owned();
    assert_eq!(p.name().unwrap().to_lowercase(), exe_name.to_lowercase());
    let cmdline = p.cmdline().unwrap();
    assert_eq!(&cmdline[1..], HELPER_ARGS);
    let want_cwd = cwd
        .to_string_lossy()
        .trim_start_matches(r"\\?\")
        .to_string();
    assert_eq!(
        p.cwd().unwrap().to_string_lossy().to_lowercase(),
        want_cwd.to_lowercase()
    );
    let env = p.environ().unwrap();
    assert_eq!(env.get(TEST_VAR.0).map(String::as_str), Some(TEST_VAR.1));
    assert_eq!(p.ppid().unwrap(), std::process::id());
    let me = Process::current().unwrap();
    assert_eq!(p.parent().unwrap().as_ref(), Some(&me));
    assert!(me.children(false).unwrap().contains(&p));
    assert!(p.create_time().unwrap() >= me.create_time().unwrap());
}

#[test]
fn a_vanished_pid_is_no_such_process() {
    let dir = std::env::temp_dir();
    let mut kid = Kid::spawn("idle", &dir);
    let pid = kid.pid();
    let p = Process::new(pid).unwrap();
    kid.end();
    assert!(!p.is_running());
    assert!(matches!(p.memory_info(), Err(Error::NoSuchProcess { pid: q, .. }) if q == pid));
    assert!(matches!(p.cmdline(), Err(Error::NoSuchProcess { .. })));
    drop(p);
    drop(kid);
    match Process::new(pid) {
        Err(Error::NoSuchProcess { pid: q, .. }) => assert_eq!(q, pid),
        // The pid may already belong to a new process, which must then be another one.
        Ok(other) => assert!(other.is_running()),
        Err(e) => panic!("{e}"),
    }
}

mod heap {
    use windows_sys::Win32::System::Memory::{
        GetProcessHeap, HeapAlloc, HeapCreate, HeapDestroy, HeapFree, MEM_COMMIT, MEM_RELEASE,
        MEM_RESERVE, PAGE_READWRITE, VirtualAlloc, VirtualFree,
    };

    use super::{MIB, ensure, retry};

    #[test]
    fn heap_alloc_small_and_large_move_heap_used() {
        let _serial = super::one_at_a_time();
        for size in [64usize, 1 << 16] {
            retry(|| {
                let before = memsight::heap::info().unwrap();
                // SAFETY: a fresh block of the default heap, freed below.
                let p = unsafe { HeapAlloc(GetProcessHeap(), 0, size * 100) };
                assert!(!p.is_null());
                let during = memsight::heap::info().unwrap();
                // SAFETY: `p` came from HeapAlloc on the same heap.
                unsafe { HeapFree(GetProcessHeap(), 0, p) };
                let after = memsight::heap::info().unwrap();
                ensure(
                    during.heap_used >= before.heap_used + (size * 100) as u64 / 2
                        && after.heap_used < during.heap_used,
                    || format!("{size}: {before:?} {during:?} {after:?}"),
                )
            });
        }
    }

    #[test]
    fn virtual_alloc_moves_mmap_used() {
        let _serial = super::one_at_a_time();
        let size = 8 * MIB as usize;
        retry(|| {
            let before = memsight::heap::info().unwrap();
            // SAFETY: a fresh private region, released below.
            let p = unsafe {
                VirtualAlloc(
                    std::ptr::null(),
                    size,
                    MEM_COMMIT | MEM_RESERVE,
                    PAGE_READWRITE,
                )
            };
            assert!(!p.is_null());
            let during = memsight::heap::info().unwrap();
            // SAFETY: `p` is the base of the region VirtualAlloc returned.
            unsafe { VirtualFree(p, 0, MEM_RELEASE) };
            let after = memsight::heap::info().unwrap();
            ensure(
                during.mmap_used >= before.mmap_used + size as u64
                    && after.mmap_used + (size as u64) <= during.mmap_used,
                || format!("{before:?} {during:?} {after:?}"),
            )
        });
    }

    #[test]
    fn heap_create_moves_heap_count() {
        let _serial = super::one_at_a_time();
        retry(|| {
            let before = memsight::heap::info().unwrap();
            // SAFETY: a new private heap, destroyed below.
            let h = unsafe { HeapCreate(0, 0, 0) };
            assert!(!h.is_null());
            let during = memsight::heap::info().unwrap();
            // SAFETY: `h` came from HeapCreate.
            unsafe { HeapDestroy(h) };
            let after = memsight::heap::info().unwrap();
            ensure(
                during.heap_count == before.heap_count + 1 && after.heap_count == before.heap_count,
                || format!("{before:?} {during:?} {after:?}"),
            )
        });
        memsight::heap::trim().unwrap();
    }
}

#[test]
fn threads_lists_each_started_thread_and_charges_cpu_to_the_spinner() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, mpsc};
    use windows_sys::Win32::System::Threading::GetCurrentThreadId;

    let stop = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel();
    let workers: Vec<_> = (0..3)
        .map(|i| {
            let (stop, tx) = (Arc::clone(&stop), tx.clone());
            std::thread::spawn(move || {
                // SAFETY: GetCurrentThreadId only reads the calling thread's id.
                tx.send(unsafe { GetCurrentThreadId() }).unwrap();
                let mut x = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    if i == 0 {
                        // The spinner: user-mode CPU time only.
                        x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
                    } else {
                        std::thread::park_timeout(std::time::Duration::from_millis(10));
                    }
                }
            })
        })
        .collect();
    let tids: Vec<u32> = (0..3).map(|_| rx.recv().unwrap()).collect();
    // SAFETY: as above.
    let main = unsafe { GetCurrentThreadId() };
    let me = Process::current().unwrap();
    let mut spinner_time = 0.0;
    // The other tests of this binary run on threads of this process too, starting and ending
    // between two snapshots: `threads()` and `num_threads()` must agree at least once, when a
    // count taken before the list and one taken after it are the same.
    let mut counts_agreed = false;
    for _ in 0..500 {
        let before = me.num_threads().unwrap();
        let threads = me.threads().unwrap();
        let after = me.num_threads().unwrap();
        assert!(
            threads.windows(2).all(|w| w[0].id < w[1].id),
            "sorted by id"
        );
        for tid in tids.iter().chain([&main]) {
            assert!(threads.iter().any(|t| t.id == *tid), "thread {tid} missing");
        }
        // Two events inside the window can leave the counts equal and the list not: tried again.
        counts_agreed |= before == after && threads.len() as u64 == before;
        spinner_time = threads.iter().find(|t| t.id == tids[0]).unwrap().user_time;
        if spinner_time > 0.0 && counts_agreed {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(
        counts_agreed,
        "threads() never listed as many threads as num_threads() counted around it"
    );
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    assert!(spinner_time > 0.0, "the spinning thread shows no user time");
}

#[test]
fn disk_io_counters_per_drive_sum_to_the_total() {
    use memsight::DiskIoCounters;
    let DiskIoCounters::PerDisk(drives) = memsight::disk_io_counters(true, false).unwrap() else {
        panic!("perdisk gives the map");
    };
    for name in drives.keys() {
        assert!(name.starts_with("PhysicalDrive"), "{name}");
    }
    let DiskIoCounters::Total(total) = memsight::disk_io_counters(false, true).unwrap() else {
        panic!("no perdisk gives the total");
    };
    // Wine gives no \\.\PhysicalDriveN with performance counters: psutil's None there.
    assert_eq!(total.is_none(), drives.is_empty(), "{total:?} {drives:?}");
    if let Some(total) = total {
        let reads: u64 = drives.values().map(|d| d.read_bytes).sum();
        assert!(total.read_bytes >= reads, "counters only grow");
    }
    memsight::disk_io_counters_cache_clear();
}

#[test]
fn net_if_addrs_has_loopback_with_its_netmask_and_the_hosts_macs() {
    use memsight::process::AddressFamily;
    let nics = memsight::net_if_addrs().unwrap();
    assert!(!nics.is_empty());
    let loopback = nics
        .values()
        .flatten()
        .find(|a| a.address == "127.0.0.1")
        .unwrap_or_else(|| panic!("no 127.0.0.1 in {nics:?}"));
    assert_eq!(loopback.family, AddressFamily::Inet);
    assert_eq!(loopback.netmask.as_deref(), Some("255.0.0.0"));
    let mut compared = 0;
    for (name, addrs) in &nics {
        for a in addrs {
            assert_eq!(
                a.netmask.is_none(),
                a.family == AddressFamily::Link,
                "{name}: {a:?}"
            );
            assert!(a.broadcast.is_none() && a.ptp.is_none());
        }
        // Under Wine the adapters are the host's: the MAC matches Linux's sysfs (Z: is /).
        let sysfs = format!("Z:\\sys\\class\\net\\{name}\\address");
        let Some(mac) = addrs.iter().find(|a| a.family == AddressFamily::Link) else {
            continue;
        };
        if let Ok(host) = std::fs::read_to_string(&sysfs) {
            assert_eq!(
                mac.address,
                host.trim().to_uppercase().replace(':', "-"),
                "{name}"
            );
            compared += 1;
        }
    }
    if std::path::Path::new("Z:\\sys\\class\\net").is_dir() {
        assert!(
            compared > 0,
            "no adapter's MAC was compared with the host's"
        );
    }
}

mod maps {
    use std::ffi::c_void;
    use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};

    use memsight::Process;
    use windows_sys::Win32::System::Memory::{
        CreateFileMappingW, FILE_MAP_READ, MEMORY_BASIC_INFORMATION, MEMORY_MAPPED_VIEW_ADDRESS,
        MapViewOfFile, PAGE_READONLY, UnmapViewOfFile, VirtualQuery,
    };

    use super::{Kid, MIB};

    /// A read-only view of a whole file the test wrote, unmapped on drop.
    struct View {
        base: *mut c_void,
        len: usize,
        _mapping: OwnedHandle,
        _file: std::fs::File,
    }

    impl View {
        fn of_new_file(path: &std::path::Path, len: usize) -> View {
            std::fs::write(path, vec![7u8; len]).unwrap();
            let file = std::fs::File::open(path).unwrap();
            // SAFETY: a read-only mapping of an open file; the handle is owned below.
            let mapping = unsafe {
                CreateFileMappingW(
                    file.as_raw_handle(),
                    std::ptr::null(),
                    PAGE_READONLY,
                    0,
                    0,
                    std::ptr::null(),
                )
            };
            assert!(!mapping.is_null(), "CreateFileMappingW");
            // SAFETY: `mapping` is a fresh handle nothing else owns.
            let mapping = unsafe { OwnedHandle::from_raw_handle(mapping) };
            // SAFETY: maps the whole file read-only; unmapped in Drop.
            let view = unsafe { MapViewOfFile(mapping.as_raw_handle(), FILE_MAP_READ, 0, 0, 0) };
            assert!(!view.Value.is_null(), "MapViewOfFile");
            View {
                base: view.Value,
                len,
                _mapping: mapping,
                _file: file,
            }
        }

        /// Reads one byte of every 4 KiB, faulting each page in.
        fn touch(&self) -> u64 {
            (0..self.len)
                .step_by(4096)
                // SAFETY: `off` < `len`, inside the mapped view.
                .map(|off| u64::from(unsafe { self.base.cast::<u8>().add(off).read_volatile() }))
                .sum()
        }

        /// `RegionSize` of the view's first region (`VirtualQuery`).
        fn region_size(&self) -> u64 {
            // SAFETY: VirtualQuery writes at most the struct's size into the zeroed local.
            let mbi = unsafe {
                let mut mbi: MEMORY_BASIC_INFORMATION = std::mem::zeroed();
                let n = VirtualQuery(
                    self.base,
                    &mut mbi,
                    std::mem::size_of::<MEMORY_BASIC_INFORMATION>(),
                );
                assert!(n > 0, "VirtualQuery");
                mbi
            };
            mbi.RegionSize as u64
        }

        /// This view's record in `maps`.
        fn record<'a>(&self, maps: &'a [memsight::MemoryMap]) -> &'a memsight::MemoryMap {
            let addr = format!("{:#x}", self.base as usize);
            maps.iter()
                .find(|m| m.addr == addr)
                .unwrap_or_else(|| panic!("no region at {addr} in {maps:?}"))
        }
    }

    impl Drop for View {
        fn drop(&mut self) {
            // SAFETY: `base` is the view MapViewOfFile returned, unmapped once.
            unsafe { UnmapViewOfFile(MEMORY_MAPPED_VIEW_ADDRESS { Value: self.base }) };
        }
    }

    #[test]
    fn a_touched_file_view_is_resident_and_an_untouched_one_is_not() {
        let _serial = super::one_at_a_time();
        let dir = tempfile::tempdir().unwrap();
        let len = 8 * MIB as usize;
        let touched = View::of_new_file(&dir.path().join("touched.bin"), len);
        let untouched = View::of_new_file(&dir.path().join("untouched.bin"), len);
        assert_eq!(touched.touch(), 7 * (len as u64 / 4096));
        let maps = Process::current().unwrap().memory_maps(false).unwrap();
        let (t, u) = (touched.record(&maps), untouched.record(&maps));
        let (t_size, u_size) = (touched.region_size(), untouched.region_size());
        eprintln!(
            "touched: rss {} of region {t_size}; untouched: rss {} of region {u_size}",
            t.rss, u.rss
        );
        assert!(t.path.ends_with("touched.bin"), "{t:?}");
        assert!(
            t.rss <= t_size && t_size >= len as u64,
            "{t:?} region {t_size}"
        );
        assert!(
            t.rss >= len as u64 * 9 / 10,
            "{t:?}: the touched pages are resident"
        );
        assert!(
            u.rss < len as u64 / 2,
            "{u:?}: an untouched view is not resident"
        );
        let grouped = Process::current().unwrap().memory_maps(true).unwrap();
        let g = grouped.iter().find(|m| m.path == t.path).unwrap();
        assert!(g.addr.is_empty() && g.rss >= t.rss, "{g:?}");
    }

    #[test]
    fn another_process_maps_are_read() {
        let kid = Kid::spawn("idle", &std::env::temp_dir());
        // Under Wine QueryWorkingSetEx refuses other processes: the region sizes stand in.
        let maps = Process::new(kid.pid()).unwrap().memory_maps(false).unwrap();
        let rss: u64 = maps.iter().map(|m| m.rss).sum();
        eprintln!("child: {} mapped regions, rss {rss}", maps.len());
        // Its own image is mapped and read: resident (or, under Wine, its region size), not 0.
        assert!(rss > 0, "{maps:?}");
        assert!(
            maps.iter()
                .all(|m| !m.path.is_empty() && !m.addr.is_empty())
        );
    }
}

#[test]
fn the_sampler_follows_this_process_and_a_child() {
    use memsight::record::{Metric, Sample, Sampler, Summary};
    let dir = std::env::temp_dir();
    let mut kid = Kid::spawn("alloc64", &dir);
    let mut sampler = Sampler::new(Process::current().unwrap()).children(true);
    let (mut s, mut summary) = (Sample::default(), Summary::default());
    sampler.sample(&mut s);
    summary.add(&s);
    assert!(sampler.root_running());
    let me = s.processes.iter().find(|p| p.pid == std::process::id());
    let child = s.processes.iter().find(|p| p.pid == kid.pid());
    let (Some(me), Some(child)) = (me, child) else {
        panic!("this process and the child {} in {s:?}", kid.pid());
    };
    assert!(me.memory.rss > 0 && me.memory.vms > 0, "{me:?}");
    // USS of the sampler's own process (Wine walks no other process's working set).
    assert!(me.memory.uss.is_some_and(|u| u > 0), "{me:?}");
    assert!(child.memory.rss >= 64 * MIB, "{child:?}");
    assert_eq!((child.memory.pss, child.memory.swap), (None, None));
    let exe = std::env::current_exe().unwrap();
    let exe_name = exe.file_name().unwrap().to_string_lossy().to_lowercase();
    assert_eq!(child.name.to_lowercase(), exe_name);
    assert!(s.total.rss >= me.memory.rss + child.memory.rss);
    assert_eq!(summary.peak(Metric::Pss), None);
    assert!(
        summary
            .peak(Metric::Rss)
            .is_some_and(|p| p.bytes == s.total.rss)
    );
    // Once ended, the child is left out and no longer followed.
    kid.end();
    sampler.sample(&mut s);
    assert!(!s.processes.iter().any(|p| p.pid == kid.pid()), "{s:?}");
    assert!(s.processes.iter().any(|p| p.pid == std::process::id()));
    // Fast mode reads no USS.
    let mut fast = Sampler::new(Process::current().unwrap()).fast(true);
    fast.sample(&mut s);
    assert_eq!(s.processes.len(), 1);
    assert_eq!((s.total.uss, s.processes[0].memory.uss), (None, None));
}
