//! `cgroups()` against the synthetic trees written by scripts/make-cgroup-fixtures.py: a cgroup
//! v2 host laid out by systemd, a Kubernetes node, a hybrid v1 host, broken memory.stat files.
//! Every figure in those trees is derived from the cgroup's index `i` (see the script).
#![cfg(target_os = "linux")] // /proc, ptrace modes, psutil oracles: see windows.rs for Windows

use std::path::PathBuf;

use memsight::Error;
use memsight::linux::{Cgroup, ProcFs};

const MIB: u64 = 1 << 20;
const CID: &str = "4f3c1a2b9d8e7f60112233445566778899aabbccddeeff00112233445566aabb";

fn fixture(name: &str) -> ProcFs {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(name);
    ProcFs::new(root.join("proc")).with_sys_root(root.join("sys"))
}

fn by_path<'a>(all: &'a [Cgroup], path: &str) -> &'a Cgroup {
    all.iter()
        .find(|c| c.path == path)
        .unwrap_or_else(|| panic!("no {path} in {:?}", paths(all)))
}

fn paths(all: &[Cgroup]) -> Vec<&str> {
    all.iter().map(|c| c.path.as_str()).collect()
}

/// Every v2 figure of the cgroup with index `i` in the script's tree.
fn assert_v2_figures(cg: &Cgroup, i: u64) {
    assert_eq!(cg.version, 2);
    assert_eq!(cg.usage, (i + 1) * MIB, "{}", cg.path);
    assert_eq!(cg.working_set, (i + 1) * MIB - i * 64 * 1024, "{}", cg.path);
    assert_eq!(cg.peak, Some((i + 2) * MIB));
    assert_eq!(cg.high, i.is_multiple_of(2).then_some((i + 100) * MIB));
    assert_eq!(cg.low, Some(i * MIB / 2));
    assert_eq!(cg.min, Some(i * 4096));
    assert_eq!(cg.swap, Some(i * 8192));
    assert_eq!(cg.swap_limit, i.is_multiple_of(2).then_some((i + 10) * MIB));
    let e = cg.events;
    assert_eq!(
        (e.low, e.high, e.max, e.oom, e.oom_kill),
        (Some(i), Some(i + 1), Some(i + 2), Some(i + 3), Some(i + 4))
    );
    let p = cg.pressure.expect("memory.pressure");
    assert_eq!(p.some.avg10, i as f64 / 100.0);
    assert_eq!(p.some.total, i as f64);
    assert_eq!(p.full.total, i as f64 / 2.0);
    let s = &cg.stat;
    // The script gives line k of memory.stat the value i*4096 + k.
    let line = |k: u64| Some(i * 4096 + k);
    assert_eq!(
        (s.anon, s.file, s.kernel, s.kernel_stack),
        (line(0), line(1), line(2), line(3))
    );
    assert_eq!(
        (s.pagetables, s.percpu, s.sock, s.vmalloc),
        (line(4), line(6), line(7), line(8))
    );
    assert_eq!(
        (s.shmem, s.zswap, s.zswapped),
        (line(9), line(10), line(11))
    );
    assert_eq!(
        (s.file_mapped, s.file_dirty, s.file_writeback),
        (line(12), line(13), line(14))
    );
    assert_eq!(
        (s.swapcached, s.anon_thp, s.file_thp, s.shmem_thp),
        (line(15), line(16), line(17), line(18))
    );
    assert_eq!((s.inactive_anon, s.active_anon), (line(19), line(20)));
    assert_eq!(s.inactive_file, Some(i * 64 * 1024));
    assert_eq!((s.active_file, s.unevictable), (line(22), line(23)));
    assert_eq!(
        (s.slab_reclaimable, s.slab_unreclaimable, s.slab),
        (line(24), line(25), line(26))
    );
    assert_eq!(
        (s.workingset_refault_anon, s.workingset_refault_file),
        (line(27), line(28))
    );
    assert_eq!((s.pgfault, s.pgmajfault), (line(31), line(32)));
    assert_eq!(
        s.swap, None,
        "v2 swap is memory.swap.current, not a memory.stat line"
    );
    let other: Vec<(&str, u64)> = s.other.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(
        other,
        [
            ("pgscan", i * 4096 + 30),
            ("sec_pagetables", i * 4096 + 5),
            ("thp_fault_alloc", i * 4096 + 33),
            ("workingset_activate_anon", i * 4096 + 29)
        ]
    );
}

#[test]
fn systemd_v2_host_tree_names_and_every_figure() {
    let all = fixture("cgroups-v2-systemd").cgroups().unwrap();
    let docker = format!("/system.slice/docker-{CID}.scope");
    assert_eq!(
        paths(&all),
        [
            "/init.scope",
            "/system.slice",
            docker.as_str(),
            "/system.slice/sshd.service",
            "/user.slice",
            "/user.slice/user-1000.slice",
            "/user.slice/user-1000.slice/session-2.scope",
        ],
        "parents first, siblings by name; the root (no memory.current) and nomem.slice left out"
    );
    let script_index = [
        ("/init.scope", 1),
        ("/system.slice", 2),
        ("/system.slice/sshd.service", 3),
        (docker.as_str(), 4),
        ("/user.slice", 5),
        ("/user.slice/user-1000.slice", 6),
        ("/user.slice/user-1000.slice/session-2.scope", 7),
    ];
    for (path, i) in script_index {
        assert_v2_figures(by_path(&all, path), i);
    }
    let sshd = by_path(&all, "/system.slice/sshd.service");
    assert_eq!(sshd.name.as_deref(), Some("sshd.service"));
    assert_eq!((sshd.depth, sshd.processes), (2, 2));
    assert_eq!(
        (sshd.limit, sshd.effective_limit),
        (Some(64 * MIB), Some(64 * MIB))
    );
    assert_eq!(
        by_path(&all, &docker).name.as_deref(),
        Some("docker 4f3c1a2b9d8e")
    );
    let session = by_path(&all, "/user.slice/user-1000.slice/session-2.scope");
    assert_eq!(session.processes, 3);
    assert_eq!(session.limit, Some(1024 * MIB));
    let user = by_path(&all, "/user.slice/user-1000.slice");
    assert_eq!(
        (user.limit, user.effective_limit),
        (None, Some(8192 * MIB)),
        "user.slice's limit applies"
    );
    assert_eq!(by_path(&all, "/system.slice").effective_limit, None);
    let pct = session.limit_percent().unwrap();
    assert!(
        (pct - 100.0 * session.working_set as f64 / (1024 * MIB) as f64).abs() <= 0.05,
        "rounded to one decimal as psutil does"
    );
    assert_eq!(by_path(&all, "/init.scope").limit_percent(), None);
}

#[test]
fn kubernetes_node_pods_qos_classes_and_containers() {
    let all = fixture("cgroups-v2-kubernetes").cgroups().unwrap();
    assert_eq!(all.len(), 12);
    for cg in &all {
        assert!(cg.name.is_some(), "{} has a name", cg.path);
        assert!(cg.working_set <= cg.usage);
    }
    let names: Vec<(&str, usize)> = all
        .iter()
        .map(|c| (c.name.as_deref().unwrap_or(""), c.depth))
        .collect();
    assert_eq!(
        names,
        [
            ("kubepods", 1),
            ("kubepods besteffort", 2),
            ("pod 99999999-8888-7777-6666-555555555555 (besteffort)", 3),
            ("cri-o 4f3c1a2b9d8e", 4),
            ("kubepods burstable", 2),
            ("pod 11111111-2222-3333-4444-555555555555 (burstable)", 3),
            ("containerd 0123456789ab", 4),
            ("pod 8a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9 (guaranteed)", 2),
            ("containerd 4f3c1a2b9d8e", 3),
            ("system.slice", 1),
            ("containerd.service", 2),
            ("kubelet.service", 2),
        ]
    );
    let guaranteed_ctr = &all[8];
    assert!(
        guaranteed_ctr
            .path
            .starts_with("/kubepods.slice/kubepods-pod8a1b2c3d_4e5f_"),
        "raw path kept"
    );
    assert_v2_figures(guaranteed_ctr, 3);
    assert_eq!(guaranteed_ctr.processes, 1);
    let burstable_ctr = &all[6];
    assert_eq!(burstable_ctr.limit, None);
    assert_eq!(
        burstable_ctr.effective_limit,
        Some(1024 * MIB),
        "the pod's limit"
    );
    assert_eq!(all[3].effective_limit, Some(4096 * MIB), "kubepods' limit");
}

#[test]
fn depth_bounds_the_walk() {
    let procfs = fixture("cgroups-v2-kubernetes");
    let top = procfs.cgroups_to_depth(1).unwrap();
    assert_eq!(paths(&top), ["/kubepods.slice", "/system.slice"]);
    assert!(
        procfs.cgroups_to_depth(0).unwrap().is_empty(),
        "the v2 root has no memory files"
    );
    assert_eq!(procfs.cgroups_to_depth(3).unwrap().len(), 10);
}

#[test]
fn hybrid_v1_host_walks_the_memory_controller_with_v1_names_mapped() {
    let all = fixture("cgroups-v1-hybrid").cgroups().unwrap();
    let ctr = format!("/docker/{CID}");
    let child = format!("{ctr}/child");
    assert_eq!(
        paths(&all),
        ["/", "/docker", ctr.as_str(), child.as_str()],
        "no v2 memory cgroup"
    );
    for (i, cg) in (1..).zip(&all) {
        assert_eq!(cg.version, 1);
        assert_eq!(cg.usage, i * 3 * MIB);
        assert_eq!(
            cg.working_set,
            i * 3 * MIB - i * MIB / 2,
            "usage - total_inactive_file"
        );
        assert_eq!(cg.peak, Some(i * 4 * MIB));
        assert_eq!(
            cg.swap,
            Some(i * 12288),
            "memory.stat total_swap, not memsw - usage"
        );
        assert_eq!((cg.events.max, cg.events.oom_kill), (Some(i * 5), Some(i)));
        assert_eq!(
            (cg.events.low, cg.events.high, cg.events.oom),
            (None, None, None)
        );
        assert_eq!(
            (cg.high, cg.low, cg.min, cg.pressure),
            (None, None, None, None)
        );
        let s = &cg.stat;
        assert_eq!(
            (s.anon, s.file),
            (Some(i * 2 * MIB), Some(i * MIB)),
            "total_rss, total_cache"
        );
        assert_eq!(
            (s.shmem, s.file_mapped, s.file_dirty),
            (Some(i * 4096), Some(i * 8192), Some(4096))
        );
        assert_eq!((s.pgfault, s.pgmajfault), (Some(90), Some(10)));
        assert_eq!(s.inactive_anon, Some(i * 4096));
        assert_eq!(s.kernel_stack, None, "v1 has no such line");
    }
    assert_eq!(all[0].processes, 2);
    assert_eq!(
        (all[0].limit, all[0].effective_limit, all[0].swap_limit),
        (None, None, None)
    );
    assert_eq!(all[2].name.as_deref(), Some("docker 4f3c1a2b9d8e"));
    assert_eq!(
        (all[2].limit, all[2].effective_limit),
        (Some(256 * MIB), Some(256 * MIB))
    );
    assert_eq!(all[2].swap_limit, Some(16 * MIB), "memsw limit - limit");
    assert_eq!(all[3].limit, Some(512 * MIB));
    assert_eq!(
        all[3].effective_limit,
        Some(256 * MIB),
        "hierarchical_memory_limit"
    );
    assert_eq!(all[3].swap_limit, Some(0));
    assert_eq!(all[3].depth, 3);
}

#[test]
fn v1_swap_is_the_counter_not_a_racy_difference_of_two_reads() {
    // memsw.usage_in_bytes - usage_in_bytes = 958464 here, as once seen on a host with no swap;
    // memory.stat says total_swap 0.
    let cg = fixture("cgroup-v1-swap-race")
        .cgroup_memory()
        .unwrap()
        .unwrap();
    assert_eq!(cg.swap_usage, Some(0));
    let cg = fixture("cgroup-v1").cgroup_memory().unwrap().unwrap();
    assert_eq!(cg.swap_usage, Some(10 << 20));
}

#[test]
fn malformed_and_truncated_memory_stat_name_the_file_and_line() {
    for (name, line) in [("cgroups-v2-malformed", 3), ("cgroups-v2-truncated", 3)] {
        match fixture(name).cgroups().unwrap_err() {
            Error::Parse { path, line: l, .. } => {
                assert!(path.ends_with("system.slice/memory.stat"), "{path:?}");
                assert_eq!(l, line, "{name}");
            }
            e => panic!("{name}: expected a parse error, got {e}"),
        }
    }
}

#[test]
fn system_wide_memory_pressure() {
    let p = fixture("cgroups-v2-systemd")
        .memory_pressure()
        .unwrap()
        .unwrap();
    assert_eq!(
        (p.some.avg10, p.some.avg60, p.some.avg300, p.some.total),
        (1.25, 0.5, 0.1, 3.0)
    );
    assert_eq!((p.full.avg10, p.full.total), (0.75, 1.5));
    assert_eq!(
        fixture("cgroup-v1").memory_pressure().unwrap(),
        None,
        "no PSI"
    );
}

#[test]
fn json_keys_are_stable() {
    let all = fixture("cgroups-v1-hybrid").cgroups().unwrap();
    let json = serde_json::to_value(&all[2]).unwrap();
    for key in [
        "version",
        "path",
        "name",
        "depth",
        "usage",
        "working_set",
        "limit",
        "effective_limit",
        "peak",
        "swap",
        "swap_limit",
        "stat",
        "events",
        "processes",
    ] {
        assert!(json.get(key).is_some(), "{key} in {json}");
    }
    assert!(json.get("high").is_none(), "v2-only fields left out on v1");
    assert_eq!(json["stat"]["anon"], 6 * MIB);
    assert!(json["stat"].get("kernel_stack").is_none());
}
