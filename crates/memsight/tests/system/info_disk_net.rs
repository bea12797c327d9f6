//! disk_io_counters against /proc/diskstats (awk sums and psutil on the same snapshot), a
//! synthetic wrap and the /sys/block fallback; net_if_addrs against `ip -j addr`, psutil, and
//! interfaces with known addresses in a network namespace the test creates (root).
#![cfg(target_os = "linux")] // /proc, ptrace modes, psutil oracles: see windows.rs for Windows
#![allow(clippy::unwrap_used)]

use memsight_test_support as support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use memsight::linux::ProcFs;
use memsight::process::AddressFamily;
use memsight::{DiskIo, DiskIoCounters, disk_io_counters_cache_clear};
use support::psutil;

/// (interface, family, address, netmask prefix length).
type IpRow = (String, String, String, Option<String>);
/// (address, netmask, broadcast, ptp).
type AddrRow = (String, Option<String>, Option<String>, Option<String>);

fn total(c: DiskIoCounters) -> DiskIo {
    match c {
        DiskIoCounters::Total(Some(t)) => t,
        other => panic!("expected a total, got {other:?}"),
    }
}

fn per_disk(c: DiskIoCounters) -> BTreeMap<String, DiskIo> {
    match c {
        DiskIoCounters::PerDisk(m) => m,
        other => panic!("expected per-disk counters, got {other:?}"),
    }
}

fn sh(script: &str) -> String {
    let out = Command::new("sh").arg("-c").arg(script).output().unwrap();
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn disk_counters_match_diskstats_sums_and_psutil() {
    // One snapshot of /proc/diskstats, read by memsight, awk and psutil alike.
    let root = tempfile::tempdir().unwrap();
    std::fs::copy("/proc/diskstats", root.path().join("diskstats")).unwrap();
    let procfs = ProcFs::new(root.path());
    let ours = total(procfs.disk_io_counters(false, false).unwrap());
    let awk = sh(&format!(
        "awk '(NF == 14 || NF >= 18) && system(\"test -e /sys/block/\" $3) == 0 \
         {{ r += $4; rm += $5; rs += $6; rt += $7; w += $8; wm += $9; ws += $10; wt += $11; b += $13 }} \
         END {{ printf \"%.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f\\n\", r, w, rs * 512, ws * 512, rt, wt, rm, wm, b }}' {}",
        root.path().join("diskstats").display()
    ));
    let want: Vec<u64> = awk.split_whitespace().map(|v| v.parse().unwrap()).collect();
    assert_eq!(
        vec![
            ours.read_count,
            ours.write_count,
            ours.read_bytes,
            ours.write_bytes,
            ours.read_time,
            ours.write_time,
            ours.read_merged_count,
            ours.write_merged_count,
            ours.busy_time
        ],
        want
    );
    let theirs = psutil(
        "psutil.PROCFS_PATH = sys.argv[1]\n\
         t = psutil.disk_io_counters(nowrap=False)._asdict()\n\
         d = {k: v._asdict() for k, v in psutil.disk_io_counters(perdisk=True, nowrap=False).items()}\n\
         print(json.dumps([t, d]))",
        &[root.path().display().to_string()],
    );
    assert_eq!(serde_json::to_value(ours).unwrap(), theirs[0]);
    let disks = per_disk(procfs.disk_io_counters(true, false).unwrap());
    assert_eq!(serde_json::to_value(&disks).unwrap(), theirs[1]);
    // Live: counters only grow, and bytes are whole sectors.
    let live = total(memsight::disk_io_counters(false, true).unwrap());
    assert!(live.read_count >= ours.read_count && live.read_bytes >= ours.read_bytes);
    assert_eq!(live.read_bytes % 512, 0);
}

fn write_diskstats(dir: &Path, sda: [u64; 11], sda1: [u64; 4]) {
    let join = |v: &[u64]| v.iter().map(u64::to_string).collect::<Vec<_>>().join(" ");
    std::fs::write(
        dir.join("diskstats"),
        format!(
            "   8       0 sda {} 0 0 0 0\n   8       1 sda1 {}\n",
            join(&sda),
            join(&sda1)
        ),
    )
    .unwrap();
}

#[test]
fn synthetic_wrap_is_compensated_per_disk_until_reset() {
    let root = tempfile::tempdir().unwrap();
    let sys = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(sys.path().join("block/sda")).unwrap();
    let procfs = ProcFs::new(root.path()).with_sys_root(sys.path());
    // reads reads_merged sectors_read read_time writes writes_merged sectors_written write_time
    // in_flight io_ticks weighted
    write_diskstats(
        root.path(),
        [4_000_000_000, 7, 100, 30, 50, 1, 10, 40, 0, 90, 0],
        [5, 6, 7, 8],
    );
    let first = total(procfs.disk_io_counters(false, true).unwrap());
    assert_eq!(first.read_count, 4_000_000_000);
    assert_eq!(first.read_bytes, 100 * 512);
    // sda1 is a partition: not under /sys/block, not in the total, but in perdisk.
    let parts = per_disk(procfs.disk_io_counters(true, true).unwrap());
    assert_eq!(
        parts["sda1"],
        DiskIo {
            read_count: 5,
            read_bytes: 6 * 512,
            write_count: 7,
            write_bytes: 8 * 512,
            ..DiskIo::default()
        }
    );

    // The read count wraps past 2^32 and the sectors read too; the rest grows.
    write_diskstats(
        root.path(),
        [1_000, 7, 20, 31, 60, 1, 12, 41, 0, 95, 0],
        [1, 6, 7, 9],
    );
    let wrapped = total(procfs.disk_io_counters(false, true).unwrap());
    assert_eq!(wrapped.read_count, 4_000_000_000 + 1_000);
    assert_eq!(wrapped.read_bytes, (100 + 20) * 512);
    assert_eq!((wrapped.write_count, wrapped.busy_time), (60, 95));
    let raw = total(procfs.disk_io_counters(false, false).unwrap());
    assert_eq!(raw.read_count, 1_000);
    // Per disk, the partition wrapped on its own.
    let parts = per_disk(procfs.disk_io_counters(true, true).unwrap());
    assert_eq!(parts["sda1"].read_count, 5 + 1);
    assert_eq!(parts["sda"].read_count, 4_000_000_000 + 1_000);

    // Growing again keeps the compensation; a reset forgets it.
    write_diskstats(
        root.path(),
        [2_000, 7, 20, 31, 60, 1, 12, 41, 0, 95, 0],
        [1, 6, 7, 9],
    );
    assert_eq!(
        total(procfs.disk_io_counters(false, true).unwrap()).read_count,
        4_000_002_000
    );
    disk_io_counters_cache_clear();
    assert_eq!(
        total(procfs.disk_io_counters(false, true).unwrap()).read_count,
        2_000
    );
}

#[test]
fn sys_block_fallback_and_bad_layouts() {
    let root = tempfile::tempdir().unwrap();
    let sys = tempfile::tempdir().unwrap();
    let vda = sys.path().join("block/vda");
    std::fs::create_dir_all(vda.join("vda1")).unwrap();
    std::fs::write(
        vda.join("stat"),
        "  100 5 2000 30 200 6 4000 40 0 55 70 0 0 0 0 0 0\n",
    )
    .unwrap();
    std::fs::write(vda.join("vda1/stat"), "  10 0 200 3 20 0 400 4 0 5 7\n").unwrap();
    let procfs = ProcFs::new(root.path()).with_sys_root(sys.path());
    let disks = per_disk(procfs.disk_io_counters(true, false).unwrap());
    assert_eq!(disks.len(), 2);
    assert_eq!(
        (
            disks["vda"].read_count,
            disks["vda"].write_bytes,
            disks["vda"].busy_time
        ),
        (100, 4000 * 512, 55)
    );
    assert_eq!(disks["vda1"].read_bytes, 200 * 512);
    let all = total(procfs.disk_io_counters(false, false).unwrap());
    assert_eq!(all.read_count, 100, "vda1 is not under /sys/block itself");

    std::fs::write(root.path().join("diskstats"), " 8 0 sda 1 2 3\n").unwrap();
    let err = procfs.disk_io_counters(true, false).unwrap_err();
    assert!(
        matches!(err, memsight::Error::Parse { line: 1, .. }),
        "{err}"
    );
    std::fs::write(root.path().join("diskstats"), "").unwrap();
    assert_eq!(
        procfs.disk_io_counters(false, false).unwrap(),
        DiskIoCounters::Total(None)
    );
}

/// `ip -j addr` as (ifname, family, address, netmask-prefix, broadcast) plus MACs from `ip -j link`.
fn ip_addresses(netns: Option<&str>) -> Vec<IpRow> {
    let ns = netns.map(|n| format!("-n {n} ")).unwrap_or_default();
    let addr: serde_json::Value = serde_json::from_str(&sh(&format!("ip {ns}-j addr"))).unwrap();
    let mut out = Vec::new();
    for link in addr.as_array().unwrap() {
        let ifname = link["ifname"].as_str().unwrap();
        if let Some(mac) = link["address"]
            .as_str()
            .filter(|m| !m.is_empty() && link["link_type"] != "none")
        {
            out.push((ifname.to_owned(), "AF_PACKET".into(), mac.to_owned(), None));
        }
        for a in link["addr_info"].as_array().unwrap() {
            let family = if a["family"] == "inet" {
                "AF_INET"
            } else {
                "AF_INET6"
            };
            let label = a["label"].as_str().unwrap_or(ifname).to_owned();
            let mut address = a["local"].as_str().unwrap().to_owned();
            if a["scope"] == "link" && family == "AF_INET6" {
                address = format!("{address}%{ifname}");
            }
            let prefix = a["prefixlen"].as_u64().unwrap();
            out.push((label, family.into(), address, Some(prefix.to_string())));
        }
    }
    out.sort();
    out
}

fn prefix_of(netmask: &str) -> String {
    let bits: u32 = if let Ok(v4) = netmask.parse::<std::net::Ipv4Addr>() {
        u32::from(v4).count_ones()
    } else {
        netmask
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets()
            .iter()
            .map(|b| b.count_ones())
            .sum()
    };
    bits.to_string()
}

fn ours_as_tuples(nics: &BTreeMap<String, Vec<memsight::NicAddr>>) -> Vec<IpRow> {
    let mut out = Vec::new();
    for (name, addrs) in nics {
        for a in addrs {
            out.push((
                name.clone(),
                a.family.name().to_owned(),
                a.address.clone(),
                a.netmask.as_deref().map(prefix_of),
            ));
        }
    }
    out.sort();
    out
}

fn psutil_nics(netns: Option<&str>) -> serde_json::Value {
    let script = "import psutil, json\nprint(json.dumps({k: [[int(a.family), a.address, a.netmask, a.broadcast, a.ptp] for a in v] for k, v in psutil.net_if_addrs().items()}))";
    let python = support::python();
    let mut cmd = match netns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns]).arg(&python);
            c
        }
        None => Command::new(&python),
    };
    let out = cmd.arg("-c").arg(script).output().unwrap();
    memsight_test_support::assert_success(&out);
    serde_json::from_slice(&out.stdout).unwrap()
}

fn ours_as_psutil(nics: &BTreeMap<String, Vec<memsight::NicAddr>>) -> serde_json::Value {
    nics.iter()
        .map(|(k, v)| {
            let rows: Vec<serde_json::Value> = v
                .iter()
                .map(|a| {
                    serde_json::json!([a.family.number(), a.address, a.netmask, a.broadcast, a.ptp])
                })
                .collect();
            (k.clone(), serde_json::Value::from(rows))
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

#[test]
fn net_if_addrs_match_ip_and_psutil() {
    let nics = memsight::net_if_addrs().unwrap();
    assert_eq!(ours_as_tuples(&nics), ip_addresses(None));
    assert_eq!(ours_as_psutil(&nics), psutil_nics(None));
    let lo = &nics["lo"];
    assert!(lo.iter().any(|a| a.family == AddressFamily::Inet
        && a.address == "127.0.0.1"
        && a.netmask.as_deref() == Some("255.0.0.0")
        && a.broadcast.is_none()));
}

/// A network namespace removed on drop.
struct Netns(String);

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// Needs root (CI runs as root): creates a namespace with a veth pair (broadcast) and a tun
/// (point-to-point) with known addresses, and reads them from a thread moved into it.
#[test]
fn net_if_addrs_in_a_namespace_with_known_interfaces_root() {
    support::require_root("creating a network namespace");
    let ns = Netns(format!("memsight-test-{}", std::process::id()));
    let n = &ns.0;
    sh(&format!(
        "ip netns add {n} && ip -n {n} link set lo up \
         && ip -n {n} link add d0 type veth peer name d1 && ip -n {n} link set d0 address 02:00:00:00:77:05 \
         && ip -n {n} addr add 10.77.0.5/24 broadcast 10.77.0.255 dev d0 \
         && ip -n {n} addr add 10.77.1.5/16 broadcast 10.77.255.255 dev d0 label d0:1 \
         && ip -n {n} -6 addr add fd00:77::5/64 dev d0 nodad && ip -n {n} link set d0 up && ip -n {n} link set d1 up \
         && ip netns exec {n} ip tuntap add mode tun name t0 \
         && ip -n {n} addr add 10.88.0.1 peer 10.88.0.2/32 dev t0 && ip -n {n} link set t0 up"
    ));
    let path = format!("/run/netns/{n}");
    let nics = std::thread::spawn(move || {
        let file = std::fs::File::open(path).unwrap();
        use std::os::fd::AsFd;
        rustix::thread::move_into_link_name_space(
            file.as_fd(),
            Some(rustix::thread::LinkNameSpaceType::Network),
        )
        .unwrap();
        memsight::net_if_addrs().unwrap()
    })
    .join()
    .unwrap();
    let addr = |nic: &str, family: AddressFamily| -> Vec<AddrRow> {
        nics[nic]
            .iter()
            .filter(|a| a.family == family)
            .map(|a| {
                (
                    a.address.clone(),
                    a.netmask.clone(),
                    a.broadcast.clone(),
                    a.ptp.clone(),
                )
            })
            .collect()
    };
    let s = |v: &str| Some(v.to_owned());
    assert_eq!(
        addr("d0", AddressFamily::Inet),
        [(
            "10.77.0.5".into(),
            s("255.255.255.0"),
            s("10.77.0.255"),
            None
        )]
    );
    assert_eq!(
        addr("d0:1", AddressFamily::Inet),
        [(
            "10.77.1.5".into(),
            s("255.255.0.0"),
            s("10.77.255.255"),
            None
        )]
    );
    let v6 = addr("d0", AddressFamily::Inet6);
    assert!(
        v6.contains(&("fd00:77::5".into(), s("ffff:ffff:ffff:ffff::"), None, None)),
        "{v6:?}"
    );
    assert!(
        v6.iter()
            .any(|a| a.0.starts_with("fe80::") && a.0.ends_with("%d0")),
        "{v6:?}"
    );
    assert_eq!(
        addr("d0", AddressFamily::Packet),
        [(
            "02:00:00:00:77:05".into(),
            None,
            s("ff:ff:ff:ff:ff:ff"),
            None
        )]
    );
    assert_eq!(
        addr("t0", AddressFamily::Inet),
        [(
            "10.88.0.1".into(),
            s("255.255.255.255"),
            None,
            s("10.88.0.2")
        )]
    );
    assert!(
        nics["t0"].iter().all(|a| a.family != AddressFamily::Packet),
        "a tun has no MAC"
    );
    assert_eq!(
        addr("lo", AddressFamily::Inet),
        [("127.0.0.1".into(), s("255.0.0.0"), None, None)]
    );
    // Order within a nic is by family number, as psutil sorts.
    let families: Vec<i32> = nics["d0"].iter().map(|a| a.family.number()).collect();
    assert!(families.windows(2).all(|w| w[0] <= w[1]), "{families:?}");
    assert!(!nics.contains_key("eth0") || nics.len() == 4);
    // The same as ip and psutil see from inside.
    assert_eq!(ours_as_tuples(&nics), ip_addresses(Some(n)));
    assert_eq!(ours_as_psutil(&nics), psutil_nics(Some(n)));
}
