"""memsight's Python API against psutil 7.2.2 on the live machine: same names, same named-tuple
fields in the same order, same values, same exception classes.

Figures that cannot move between two reads (statm's, names, ids, limits) must be exact. For
moving ones memsight's reading is sandwiched between two psutil readings (psutil, memsight,
psutil), widened by a tolerance in the spirit of psutil's own tests, so a quiet process is
compared exactly and a busy one cannot fail the test by moving.
"""

import json
import os
import subprocess
import sys
import threading
import time

import psutil
import pytest

import memsight

MB = 1024 * 1024
ME = os.getpid()


# --- helpers ----------------------------------------------------------------------------------

def outcome(fun, *args):
    """`("ok", value)` or `("raised", exception class)`."""
    try:
        return ("ok", fun(*args))
    except (psutil.Error, memsight.Error, NotImplementedError, OSError) as e:
        return ("raised", type(e))


def same_class(m_exc, p_exc):
    """memsight's exception class is the one psutil raised (by name: the classes are twins)."""
    return m_exc.__name__ == p_exc.__name__


def sandwiched(before, value, after, tol=0):
    lo, hi = min(before, after), max(before, after)
    return lo - tol <= value <= hi + tol


def near_tuple(before, value, after, tol=0):
    assert value._fields == before._fields, (value._fields, before._fields)
    bad = [f for f in value._fields
           if not sandwiched(getattr(before, f), getattr(value, f), getattr(after, f), tol)]
    return not bad, bad


def exact(before, value, after):
    return value == before or value == after, "differs"


def by_tuple(tol):
    def check(before, value, after):
        return near_tuple(before, value, after, tol)
    return check


def number(tol):
    def check(before, value, after):
        return sandwiched(before, value, after, tol), "outside"
    return check


def cpu_times(before, value, after):
    return near_tuple(before, value, after, 0.05)


def status(before, value, after):
    # A process can be caught running by one reader and sleeping by the other.
    moving = {"running", "sleeping", "disk-sleep", "idle", "waking"}
    return value in (before, after) or {value, before, after} <= moving, "differs"


def threads(before, value, after):
    ids = {t.id for t in value}
    return ({t.id for t in before} & {t.id for t in after}) <= ids, "thread ids"


def open_files(before, value, after):
    key = lambda fs: {(f.path, f.fd, f.mode, f.flags) for f in fs}  # noqa: E731
    return key(before) & key(after) <= key(value), "files"


def grouped_maps(before, value, after):
    if value and type(value[0]).__name__ != "pmmap_grouped":
        return False, "type"
    b, m, a = ({x.path: x.size for x in maps} for maps in (before, value, after))
    common = set(b) & set(a)
    ok = common <= set(m) and all(sandwiched(b[p], m[p], a[p]) for p in common)
    return ok, "paths or sizes"


def ionice(before, value, after):
    return (int(value.ioclass), value.value) == (int(before.ioclass), before.value), "differs"


def float_close(tol):
    def check(before, value, after):
        return abs(value - before) <= tol, "differs"
    return check


# getter name -> how memsight's value is compared with psutil's.
GETTERS = {
    "name": exact,
    "exe": exact,
    "cmdline": exact,
    "cwd": exact,
    "create_time": float_close(0.02),
    "ppid": exact,
    "status": status,
    "username": exact,
    "uids": exact,
    "gids": exact,
    "terminal": exact,
    "nice": exact,
    "ionice": ionice,
    "cpu_affinity": exact,
    "cpu_num": lambda b, v, a: (0 <= v < os.cpu_count(), "range"),
    "num_threads": number(2),
    "num_fds": number(2),
    "cpu_times": cpu_times,
    "io_counters": by_tuple(64 * 1024),
    "num_ctx_switches": by_tuple(50),
    "threads": threads,
    "open_files": open_files,
    "environ": exact,
    "memory_info": by_tuple(0),
    "memory_full_info": by_tuple(1 * MB),
    "memory_maps": grouped_maps,
}


def readable_pids():
    return [p for p in psutil.pids() if p != ME]


def compare(getter, pid, check, m_call, p_call):
    """One process, one getter: (True, "") or (False, why). Processes that exit meanwhile and
    moving values on processes that change under the readers are judged as described above."""
    before = outcome(p_call)
    mine = outcome(m_call)
    after = outcome(p_call)
    if mine[0] == "raised" or before[0] == "raised" or after[0] == "raised":
        if mine[0] == before[0] == "raised":
            if same_class(mine[1], before[1]):
                return True, ""
        if not psutil.pid_exists(pid) or any(
                o[0] == "raised" and o[1].__name__ in ("NoSuchProcess", "ZombieProcess")
                for o in (before, mine, after)):
            return True, ""  # it exited meanwhile
        return False, "memsight %r, psutil %r then %r" % (mine, before, after)
    ok, why = check(before[1], mine[1], after[1])
    return ok, "" if ok else "%s: memsight %r, psutil %r then %r" % (why, mine[1], before[1],
                                                                      after[1])


# --- system-wide ------------------------------------------------------------------------------

def test_virtual_memory_fields_and_values():
    b, m, a = psutil.virtual_memory(), memsight.virtual_memory(), psutil.virtual_memory()
    assert type(m).__name__ == "svmem" and m._fields == b._fields
    assert m.total == b.total
    ok, bad = near_tuple(b, m, a, 8 * MB)
    assert ok, bad
    assert abs(m.percent - b.percent) <= 1.0


def test_swap_memory_fields_and_values():
    b, m, a = psutil.swap_memory(), memsight.swap_memory(), psutil.swap_memory()
    assert type(m).__name__ == "sswap" and m._fields == b._fields
    assert m.total == b.total
    ok, bad = near_tuple(b, m, a, 8 * MB)
    assert ok, bad


def test_heap_info_is_this_process_glibc_heap_like_psutil():
    b, m, a = psutil.heap_info(), memsight.heap_info(), psutil.heap_info()
    assert type(m).__name__ == "pheap" and m._fields == b._fields
    ok, bad = near_tuple(b, m, a, 256 * 1024)
    assert ok, bad
    blob = bytearray(8 * MB)  # malloc'd with mmap: mmap_used grows by about 8 MiB in both
    grown_p, grown_m = psutil.heap_info().mmap_used, memsight.heap_info().mmap_used
    assert grown_m >= m.mmap_used + 8 * MB and abs(grown_m - grown_p) <= MB
    del blob
    assert memsight.heap_trim() is None and psutil.heap_trim() is None


def test_pids_and_pid_exists():
    b, m, a = set(psutil.pids()), memsight.pids(), set(psutil.pids())
    assert m == sorted(m)
    assert b & a <= set(m) <= b | a | set(memsight.pids())
    for pid in sorted(b & a)[:50]:
        assert memsight.pid_exists(pid) == psutil.pid_exists(pid) or not psutil.pid_exists(pid)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    assert not memsight.pid_exists(dead.pid) and not psutil.pid_exists(dead.pid)
    assert memsight.pid_exists(ME) and not memsight.pid_exists(-1)


def test_boot_time():
    assert abs(memsight.boot_time() - psutil.boot_time()) < 1.0


def test_disk_io_counters():
    b, m, a = psutil.disk_io_counters(), memsight.disk_io_counters(), psutil.disk_io_counters()
    if b is None:
        assert m is None
        return
    assert type(m).__name__ == "sdiskio" and m._fields == b._fields
    ok, bad = near_tuple(b, m, a, 0)
    assert ok, (bad, b, m, a)
    pb, pm, pa = (psutil.disk_io_counters(perdisk=True), memsight.disk_io_counters(perdisk=True),
                  psutil.disk_io_counters(perdisk=True))
    assert set(pm) == set(pb)
    for disk in pm:
        ok, bad = near_tuple(pb[disk], pm[disk], pa[disk], 0)
        assert ok, (disk, bad)


def test_net_if_addrs():
    p, m = psutil.net_if_addrs(), memsight.net_if_addrs()
    assert set(m) == set(p)
    for nic in p:
        assert all(a._fields == p[nic][0]._fields for a in m[nic])
        assert sorted(m[nic]) == sorted(p[nic]), nic
    assert memsight.AF_LINK == psutil.AF_LINK


def test_constants_are_psutils():
    for name in dir(psutil):
        if name.isupper() and not name.startswith(("_", "POWER_", "NIC_")):
            assert hasattr(memsight, name), name
            assert getattr(memsight, name) == getattr(psutil, name), name
    assert memsight.LINUX and memsight.POSIX and not memsight.WINDOWS


# --- per process, every readable one ----------------------------------------------------------

@pytest.mark.parametrize("getter", sorted(GETTERS))
def test_getter_against_psutil_for_every_process(getter):
    check = GETTERS[getter]
    failures, compared = [], 0
    for pid in readable_pids():
        try:
            m, p = memsight.Process(pid), psutil.Process(pid)
        except (memsight.NoSuchProcess, psutil.NoSuchProcess):
            continue
        ok, why = compare(getter, pid, check, getattr(m, getter), getattr(p, getter))
        compared += 1
        if not ok:
            failures.append("pid %d %s" % (pid, why))
    assert compared >= 2
    assert not failures, "\n".join(failures[:10])


def test_named_tuple_fields_match_psutil():
    m, p = memsight.Process(), psutil.Process()
    for getter in ("memory_info", "memory_full_info", "cpu_times", "io_counters",
                   "num_ctx_switches", "uids", "gids", "ionice"):
        mv, pv = getattr(m, getter)(), getattr(p, getter)()
        assert type(mv).__name__ == type(pv).__name__, getter
        assert mv._fields == pv._fields, getter
    assert m.threads()[0]._fields == p.threads()[0]._fields
    for grouped in (True, False):
        mv, pv = m.memory_maps(grouped)[0], p.memory_maps(grouped)[0]
        assert type(mv).__name__ == type(pv).__name__ and mv._fields == pv._fields


def test_memory_info_of_a_quiet_child_is_exact():
    # A sleeping child's own pages do not move; its PSS does when another process maps or
    # unmaps a library it shares, so PSS is sandwiched between two psutil reads.
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        time.sleep(0.3)
        m, p = memsight.Process(child.pid), psutil.Process(child.pid)
        assert tuple(m.memory_info()) == tuple(p.memory_info())
        before, full, after = p.memory_full_info(), m.memory_full_info(), p.memory_full_info()
        assert full._replace(pss=0) == before._replace(pss=0)
        assert sandwiched(before.pss, full.pss, after.pss)
        before, maps, after = (p.memory_maps(grouped=False), m.memory_maps(grouped=False),
                               p.memory_maps(grouped=False))
        assert [tuple(x._replace(pss=0)) for x in maps] == \
            [tuple(x._replace(pss=0)) for x in before]
        assert all(sandwiched(b.pss, x.pss, a.pss) for b, x, a in zip(before, maps, after))
    finally:
        child.kill()
        child.wait()


def test_memory_footprint_and_memory_info_ex_agree_with_psutil_figures():
    # psutil 7.2.2 has neither (psutil 8 does): uss/pss/swap are memory_full_info's, and
    # memory_info_ex starts with memory_info's fields.
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        time.sleep(0.3)
        m, p = memsight.Process(child.pid), psutil.Process(child.pid)
        before, fp, after = p.memory_full_info(), m.memory_footprint(), p.memory_full_info()
        assert fp._fields == ("uss", "pss", "swap")
        assert (fp.uss, fp.swap) == (before.uss, before.swap)
        assert sandwiched(before.pss, fp.pss, after.pss)
        ex = m.memory_info_ex()
        assert tuple(ex)[:7] == tuple(p.memory_info())
        assert ex.peak_rss >= ex.rss and ex.rss_anon + ex.rss_file + ex.rss_shmem == ex.rss
    finally:
        child.kill()
        child.wait()


def test_memory_percent_against_psutil():
    m, p = memsight.Process(), psutil.Process()
    for memtype in ("rss", "vms", "uss", "pss"):
        assert abs(m.memory_percent(memtype) - p.memory_percent(memtype)) < 0.05, memtype
    with pytest.raises(ValueError):
        m.memory_percent("bogus")
    with pytest.raises(ValueError):
        p.memory_percent("bogus")


def test_rlimit_against_psutil():
    m, p = memsight.Process(), psutil.Process()
    for name in dir(psutil):
        if name.startswith("RLIMIT_"):
            res = getattr(psutil, name)
            assert m.rlimit(res) == p.rlimit(res), name


def test_parent_children_and_net_connections():
    m, p = memsight.Process(), psutil.Process()
    assert m.parent().pid == p.parent().pid
    assert [x.pid for x in m.parents()] == [x.pid for x in p.parents()]
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert [c.pid for c in m.children()] == [c.pid for c in p.children()]
        assert child.pid in [c.pid for c in m.children(recursive=True)]
    finally:
        child.kill()
        child.wait()
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        mine = m.net_connections("tcp")
        theirs = p.net_connections("tcp")
        assert [tuple(c) for c in mine] == [tuple(c) for c in theirs]
        assert any(c.status == memsight.CONN_LISTEN for c in mine)


def test_process_equality_and_identity():
    assert memsight.Process() == memsight.Process()
    assert memsight.Process().pid == ME
    assert hash(memsight.Process()) == hash(memsight.Process())
    assert memsight.Process(1) != memsight.Process()
    assert "pid=%d" % ME in repr(memsight.Process())
    with pytest.raises(ValueError):
        memsight.Process(-1)


# --- oneshot, as_dict, process_iter -----------------------------------------------------------

def test_oneshot_keeps_results_inside_only():
    m = memsight.Process()
    with m.oneshot():
        first = m.cpu_times()
        time.sleep(0.02)
        sum(range(200000))
        assert m.cpu_times() is first
        with m.oneshot():
            assert m.cpu_times() is first
        assert m.cpu_times() is first
    assert m.cpu_times() is not first


def test_as_dict_against_psutil():
    m, p = memsight.Process(), psutil.Process()
    dm, dp = m.as_dict(), p.as_dict()
    # memsight has no cpu_percent (a CPU figure, not a memory one).
    assert set(dp) - {"connections", "cpu_percent"} <= set(dm)
    for key in ("pid", "name", "exe", "cmdline", "ppid", "uids", "username", "environ", "nice"):
        assert dm[key] == dp[key], key
    assert m.as_dict(["pid", "name"]) == p.as_dict(["pid", "name"])
    for bad in (["bogus"], "name"):
        with pytest.raises((ValueError, TypeError)) as em:
            m.as_dict(bad)
        with pytest.raises(em.type):
            p.as_dict(bad)


def test_process_iter_against_psutil():
    attrs = ["pid", "name", "username", "ppid"]
    before = {p.pid: p.info for p in psutil.process_iter(attrs)}
    mine = {p.pid: p.info for p in memsight.process_iter(attrs, ad_value="AD")}
    after = {p.pid: p.info for p in psutil.process_iter(attrs)}
    both = set(before) & set(after)
    assert both <= set(mine)
    for pid in both:
        if before[pid] == after[pid]:
            assert mine[pid] == before[pid], pid
    assert all(isinstance(p, memsight.Process) for p in memsight.process_iter())
    scan = {p.pid: p.info for p in memsight.process_iter(["pid", "name", "memory_footprint"])}
    assert scan[ME]["memory_footprint"].uss > 0
    for bad in (["bogus"], ["name", "as_dict"]):
        with pytest.raises(ValueError):
            list(psutil.process_iter(bad))
        with pytest.raises(ValueError):
            list(memsight.process_iter(bad))


def test_read_ahead_answers_once_as_the_getters_would():
    """process_iter's read-ahead (two threads, forced), on idle children the test starts and one
    that is gone before the read: each process answers its next call from what was read,
    errors included, then reads again; inside oneshot the answer is kept."""
    kids = [subprocess.Popen(["sleep", "60"]) for _ in range(40)]
    try:
        procs = [memsight.Process(k.pid) for k in kids]
        gone = kids[7]
        gone.kill()
        gone.wait()
        attrs = ["name", "memory_footprint", "memory_info", "cmdline", "pid", "bogus", "name"]
        assert memsight._native.prefetch(procs, attrs, 2) == 2
        for k, p in zip(kids, procs):
            if k is gone:
                with pytest.raises(memsight.NoSuchProcess):
                    p.name()
                with pytest.raises(memsight.NoSuchProcess):
                    p.memory_footprint()
                continue
            ahead = p.memory_info()
            assert ahead == psutil.Process(k.pid).memory_info()  # statm of an idle sleep
            assert p.memory_info() is not ahead  # given out once, then read again
            assert p.name() == "sleep" and p.cmdline() == ["sleep", "60"]
            fp = p.memory_footprint()
            assert 0 < fp.uss <= p.memory_info().rss
        # The answer is what was read ahead: a child that grows after the read shows its
        # old size once, then the new one.
        grower = subprocess.Popen(
            [sys.executable, "-c", "import sys; sys.stdin.readline(); b = bytearray(64 << 20);"
             " print('grown', flush=True); sys.stdin.readline()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            g = memsight.Process(grower.pid)
            # Named twice, read once: no second, stale answer is left for a later call.
            memsight._native.prefetch([g, procs[0]], ["memory_info", "memory_info"], 2)
            grower.stdin.write("\n")
            grower.stdin.flush()
            assert grower.stdout.readline() == "grown\n"
            before, after, again = (g.memory_info().rss for _ in range(3))
            assert after - before >= 60 * MB, (before, after)
            assert again - before >= 60 * MB, (before, again)
        finally:
            grower.kill()
            grower.wait()
        # Inside oneshot the read-ahead answer is the kept one.
        p = procs[0]
        memsight._native.prefetch([p, procs[1]], ["cpu_times"], 2)
        with p.oneshot():
            first = p.cpu_times()
            assert p.cpu_times() is first
        assert p.cpu_times() is not first
        # One thread (or one process) reads nothing ahead.
        assert memsight._native.prefetch(procs[:1], ["name"], 2) == 1
    finally:
        for k in kids:
            k.kill()
            k.wait()


def test_process_iter_reads_ahead_like_as_dict():
    """process_iter with 300 more processes, where the scan policy may take two threads: every
    child's info is what as_dict gives."""
    kids = [subprocess.Popen(["sleep", "60"]) for _ in range(300)]
    try:
        attrs = ["pid", "name", "memory_info", "memory_footprint"]
        got = {p.pid: p.info for p in memsight.process_iter(attrs)}
        for k in kids:
            info = got[k.pid]
            assert info["name"] == "sleep"
            assert info["memory_info"] == psutil.Process(k.pid).memory_info()
            assert 0 < info["memory_footprint"].uss <= info["memory_info"].rss
    finally:
        for k in kids:
            k.kill()
            k.wait()


def test_cgroup_memory_against_the_kernel_files():
    cg = memsight.cgroup_memory()
    if cg is None:
        pytest.skip("no memory cgroup applies to this process (no memory controller mounted)")
    assert cg.version in (1, 2) and cg.working_set <= cg.usage
    name = "memory.current" if cg.version == 2 else "memory.usage_in_bytes"
    with open(os.path.join(cg.directory, name)) as f:
        kernel = int(f.read())
    assert abs(kernel - cg.usage) <= 64 * MB


def test_memory_scan_against_psutil():
    scan = memsight.memory_scan()
    assert {"processes", "access_denied", "errors"} == set(scan._fields)
    rows = {r.pid: r for r in scan.processes}
    assert ME in rows
    checked = 0
    for pid, row in rows.items():
        try:
            p = psutil.Process(pid)
            full, name = p.memory_full_info(), p.name()
        except psutil.Error:
            continue
        assert name == row.name or not p.is_running()
        if row.pid == ME:
            assert abs(full.uss - row.uss) <= 8 * MB
        checked += 1
    assert checked >= 2


def test_the_gil_is_released_while_memsight_reads():
    progress = []
    count = [0]
    stop = threading.Event()

    def reader():
        for _ in range(30):
            start = count[0]
            memsight.memory_scan()
            progress.append(count[0] - start)
        stop.set()

    t = threading.Thread(target=reader)
    t.start()
    while not stop.is_set():
        count[0] += 1
    t.join()
    # With the GIL held through a scan, this thread could not count during it at all.
    assert max(progress) > 0


# --- exceptions: vanished, zombie, another user's process -------------------------------------

def test_vanished_pid_raises_no_such_process_like_psutil():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    with pytest.raises(psutil.NoSuchProcess):
        psutil.Process(child.pid)
    with pytest.raises(memsight.NoSuchProcess) as e:
        memsight.Process(child.pid)
    assert e.value.pid == child.pid and isinstance(e.value, memsight.Error)
    assert "process PID not found" in str(e.value)  # psutil's message at construction


def test_handle_on_an_exited_process_raises_no_such_process_like_psutil():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    m, p = memsight.Process(child.pid), psutil.Process(child.pid)
    started = m.create_time()  # psutil reads it at construction and keeps it; memsight at
    child.kill()               # the first call
    child.wait()
    assert m.create_time() == started and abs(started - p.create_time()) < 0.02
    for getter in sorted(set(GETTERS) - {"create_time"}):
        mo, po = outcome(getattr(m, getter)), outcome(getattr(p, getter))
        assert mo[0] == po[0] == "raised", getter
        assert same_class(mo[1], po[1]), (getter, mo, po)
        assert mo[1] is memsight.NoSuchProcess


def test_zombie_getters_raise_what_psutil_raises():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        for _ in range(200):
            if psutil.Process(child.pid).status() == psutil.STATUS_ZOMBIE:
                break
            time.sleep(0.01)
        m, p = memsight.Process(child.pid), psutil.Process(child.pid)
        assert m.status() == memsight.STATUS_ZOMBIE
        mismatched = []
        for getter in sorted(GETTERS):
            mo, po = outcome(getattr(m, getter)), outcome(getattr(p, getter))
            if mo[0] != po[0] or (mo[0] == "raised" and not same_class(mo[1], po[1])):
                mismatched.append((getter, mo, po))
        assert not mismatched, mismatched
        assert issubclass(memsight.ZombieProcess, memsight.NoSuchProcess)
    finally:
        child.wait()


def test_another_users_process_raises_what_psutil_raises():
    """Reads a process of another user: as root, a forked child that became `nobody` reads a
    root-owned `sleep`; as any other user, this user reads pid 1."""
    target = subprocess.Popen(["sleep", "60"]) if os.geteuid() == 0 else None
    pid = target.pid if target else 1
    if target is None and os.stat("/proc/1").st_uid == os.geteuid():
        pytest.skip("pid 1 belongs to this user; no other user's process to read")
    try:
        r, w = os.pipe()
        child = os.fork()
        if child == 0:  # pragma: no cover (runs in the child)
            try:
                os.close(r)
                if os.geteuid() == 0:
                    os.setgroups([])
                    os.setgid(65534)
                    os.setuid(65534)
                out = {}
                for g in sorted(GETTERS):
                    row = []
                    for mod in (memsight, psutil):
                        o = outcome(getattr(mod.Process(pid), g))
                        row.append("ok" if o[0] == "ok" else o[1].__name__)
                    out[g] = row
                os.write(w, json.dumps(out).encode())
            finally:
                os._exit(0)
        os.close(w)
        with os.fdopen(r) as f:
            rows = json.loads(f.read())
        os.waitpid(child, 0)
        assert rows, "the child wrote nothing"
        denied = [g for g, (m, p) in rows.items() if p == "AccessDenied"]
        assert denied, "psutil was denied nothing: %r" % rows
        assert {g: m for g, (m, p) in rows.items()} == {g: p for g, (m, p) in rows.items()}
    finally:
        if target:
            target.kill()
            target.wait()
