#!/usr/bin/env python3
"""Writes the synthetic cgroup trees under fixtures/ that
crates/memsight/tests/cgroups/cgroups_fixtures.rs walks: a cgroup v2 host laid out by systemd
(with docker scopes), a Kubernetes node (systemd cgroup driver, guaranteed/burstable/besteffort
pods), a hybrid v1 host, and broken memory.stat files. Every figure is derived from the cgroup's
index `i` so the test can check each one: usage = (i+1) MiB, inactive_file = i*64 KiB,
anon = i*4096 + 1, ... (see v2_files)."""

import os
import shutil
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")
MIB = 1 << 20
CID = "4f3c1a2b9d8e7f60112233445566778899aabbccddeeff00112233445566aabb"
CID2 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
UID = "8a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"
UID2 = "11111111-2222-3333-4444-555555555555"
UID3 = "99999999-8888-7777-6666-555555555555"

V2_STAT = ["anon", "file", "kernel", "kernel_stack", "pagetables", "sec_pagetables", "percpu",
           "sock", "vmalloc", "shmem", "zswap", "zswapped", "file_mapped", "file_dirty",
           "file_writeback", "swapcached", "anon_thp", "file_thp", "shmem_thp", "inactive_anon",
           "active_anon", "inactive_file", "active_file", "unevictable", "slab_reclaimable",
           "slab_unreclaimable", "slab", "workingset_refault_anon", "workingset_refault_file",
           "workingset_activate_anon", "pgscan", "pgfault", "pgmajfault", "thp_fault_alloc"]


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def v2_files(d, i, limit="max", procs=()):
    stat = {name: i * 4096 + k for k, name in enumerate(V2_STAT)}
    stat["inactive_file"] = i * 64 * 1024
    write(f"{d}/memory.current", f"{(i + 1) * MIB}\n")
    write(f"{d}/memory.stat", "".join(f"{k} {v}\n" for k, v in stat.items()))
    write(f"{d}/memory.max", f"{limit}\n")
    write(f"{d}/memory.high", "max\n" if i % 2 else f"{(i + 100) * MIB}\n")
    write(f"{d}/memory.low", f"{i * MIB // 2}\n")
    write(f"{d}/memory.min", f"{i * 4096}\n")
    write(f"{d}/memory.peak", f"{(i + 2) * MIB}\n")
    write(f"{d}/memory.swap.current", f"{i * 8192}\n")
    write(f"{d}/memory.swap.max", "max\n" if i % 2 else f"{(i + 10) * MIB}\n")
    write(f"{d}/memory.events",
          f"low {i}\nhigh {i + 1}\nmax {i + 2}\noom {i + 3}\noom_kill {i + 4}\noom_group_kill 0\n")
    write(f"{d}/memory.pressure",
          f"some avg10=0.{i:02d} avg60=0.00 avg300=0.00 total={i * 1000000}\n"
          f"full avg10=0.00 avg60=0.00 avg300=0.00 total={i * 500000}\n")
    write(f"{d}/cgroup.procs", "".join(f"{p}\n" for p in procs))


def v2_root(d):
    write(f"{d}/cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n")
    write(f"{d}/cgroup.procs", "1\n")
    write(f"{d}/memory.pressure",
          "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")


def proc(base, mountinfo):
    write(f"{base}/proc/self/mountinfo", mountinfo)
    write(f"{base}/proc/pressure/memory",
          "some avg10=1.25 avg60=0.50 avg300=0.10 total=3000000\n"
          "full avg10=0.75 avg60=0.25 avg300=0.05 total=1500000\n")


V2_MOUNT = ("24 30 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - "
            "cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n")


def systemd():
    base = f"{ROOT}/cgroups-v2-systemd"
    shutil.rmtree(base, ignore_errors=True)
    proc(base, V2_MOUNT)
    cg = f"{base}/sys/fs/cgroup"
    v2_root(cg)
    tree = [
        ("init.scope", "max", [1]),
        ("system.slice", "max", []),
        ("system.slice/sshd.service", f"{64 * MIB}", [612, 613]),
        (f"system.slice/docker-{CID}.scope", f"{256 * MIB}", [4242]),
        ("user.slice", f"{8192 * MIB}", []),
        ("user.slice/user-1000.slice", "max", []),
        ("user.slice/user-1000.slice/session-2.scope", f"{1024 * MIB}", [900, 901, 902]),
    ]
    for i, (path, limit, procs) in enumerate(tree, start=1):
        v2_files(f"{cg}/{path}", i, limit, procs)
    # A directory of a cgroup without the memory controller: skipped, and so are its children.
    write(f"{cg}/nomem.slice/cgroup.procs", "")
    write(f"{cg}/nomem.slice/child/cgroup.procs", "")


def kubernetes():
    base = f"{ROOT}/cgroups-v2-kubernetes"
    shutil.rmtree(base, ignore_errors=True)
    proc(base, V2_MOUNT)
    cg = f"{base}/sys/fs/cgroup"
    v2_root(cg)
    u1, u2, u3 = (u.replace("-", "_") for u in (UID, UID2, UID3))
    tree = [
        ("kubepods.slice", f"{4096 * MIB}", []),
        (f"kubepods.slice/kubepods-pod{u1}.slice", f"{512 * MIB}", []),
        (f"kubepods.slice/kubepods-pod{u1}.slice/cri-containerd-{CID}.scope", f"{512 * MIB}", [100]),
        ("kubepods.slice/kubepods-burstable.slice", "max", []),
        (f"kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{u2}.slice", f"{1024 * MIB}", []),
        (f"kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{u2}.slice/cri-containerd-{CID2}.scope",
         "max", [200, 201]),
        ("kubepods.slice/kubepods-besteffort.slice", "max", []),
        (f"kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{u3}.slice", "max", []),
        (f"kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{u3}.slice/crio-{CID}.scope",
         "max", [300]),
        ("system.slice", "max", []),
        ("system.slice/kubelet.service", "max", [50]),
        ("system.slice/containerd.service", "max", [60]),
    ]
    for i, (path, limit, procs) in enumerate(tree, start=1):
        v2_files(f"{cg}/{path}", i, limit, procs)


def v1_files(d, i, limit, hier, procs=()):
    stat = (f"cache {i * 100}\nrss {i * 200}\nrss_huge 0\nshmem {i * 10}\nmapped_file {i * 20}\n"
            f"dirty {i}\nwriteback 0\nswap {i * 3}\nswapcached 0\npgpgin 5\npgpgout 4\npgfault 9\n"
            f"pgmajfault 1\ninactive_anon {i * 7}\nactive_anon {i * 8}\ninactive_file {i * 9}\n"
            f"active_file {i * 11}\nunevictable 0\nhierarchical_memory_limit {hier}\n"
            f"hierarchical_memsw_limit {hier}\n"
            f"total_cache {i * MIB}\ntotal_rss {i * 2 * MIB}\ntotal_rss_huge 0\ntotal_shmem {i * 4096}\n"
            f"total_mapped_file {i * 8192}\ntotal_dirty 4096\ntotal_writeback 0\ntotal_swap {i * 12288}\n"
            f"total_swapcached 0\ntotal_pgpgin 50\ntotal_pgpgout 40\ntotal_pgfault 90\ntotal_pgmajfault 10\n"
            f"total_inactive_anon {i * 4096}\ntotal_active_anon {i * 2 * MIB - i * 4096}\n"
            f"total_inactive_file {i * MIB // 2}\ntotal_active_file {i * MIB // 2}\ntotal_unevictable 0\n")
    write(f"{d}/memory.usage_in_bytes", f"{i * 3 * MIB}\n")
    write(f"{d}/memory.stat", stat)
    write(f"{d}/memory.limit_in_bytes", f"{limit}\n")
    write(f"{d}/memory.memsw.limit_in_bytes", f"{limit}\n" if i != 3 else f"{limit + 16 * MIB}\n")
    # memsw.usage - usage would say there is swap; the counter in memory.stat is what counts.
    write(f"{d}/memory.memsw.usage_in_bytes", f"{i * 3 * MIB + 958464}\n")
    write(f"{d}/memory.max_usage_in_bytes", f"{i * 4 * MIB}\n")
    write(f"{d}/memory.failcnt", f"{i * 5}\n")
    write(f"{d}/memory.oom_control", f"oom_kill_disable 0\nunder_oom 0\noom_kill {i}\n")
    write(f"{d}/cgroup.procs", "".join(f"{p}\n" for p in procs))


def hybrid_v1():
    base = f"{ROOT}/cgroups-v1-hybrid"
    shutil.rmtree(base, ignore_errors=True)
    proc(base,
         "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
         "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
         "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n")
    mem = f"{base}/sys/fs/cgroup/memory"
    unlimited = 9223372036854771712
    v1_files(mem, 1, unlimited, unlimited, [1, 2])
    v1_files(f"{mem}/docker", 2, unlimited, unlimited)
    v1_files(f"{mem}/docker/{CID}", 3, 256 * MIB, 256 * MIB, [4242])
    v1_files(f"{mem}/docker/{CID}/child", 4, 512 * MIB, 256 * MIB, [4243])
    # The unified hierarchy of a hybrid host: no memory controller, only PSI files at the root.
    uni = f"{base}/sys/fs/cgroup/unified"
    write(f"{uni}/cgroup.controllers", "hugetlb\n")
    write(f"{uni}/cgroup.procs", "1\n")
    write(f"{uni}/init.scope/cgroup.procs", "1\n")


def malformed():
    for name, stat in [("malformed", "anon 4096\nfile 8192\nkernel twelve\n"),
                       ("truncated", "anon 4096\nfile 8192\nkern")]:
        base = f"{ROOT}/cgroups-v2-{name}"
        shutil.rmtree(base, ignore_errors=True)
        proc(base, V2_MOUNT)
        cg = f"{base}/sys/fs/cgroup"
        v2_root(cg)
        v2_files(f"{cg}/system.slice", 1)
        write(f"{cg}/system.slice/memory.stat", stat)


if __name__ == "__main__":
    systemd()
    kubernetes()
    hybrid_v1()
    malformed()
    sys.exit(0)
