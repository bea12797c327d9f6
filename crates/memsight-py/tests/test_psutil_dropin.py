"""Regression tests for what psutil 7.2.2's own suite found (scripts/test-psutil.sh runs that
suite): bytes that are not UTF-8 decoded as psutil decodes them, pid ranges, the module surface
(PROCFS_PATH at call time, version, process_iter.cache_clear, __all__ and dir())."""

import os
import subprocess
import sys
import tempfile

import pytest

import memsight

BAD = b"memsight-\xff\xc0\x80"  # not UTF-8


@pytest.fixture
def bad_child():
    """A child whose cwd, executable, name, argv, environment, open file and mapped file all
    carry BAD in their names."""
    with tempfile.TemporaryDirectory() as tmp:
        d = os.path.join(os.fsencode(tmp), BAD)
        os.mkdir(d)
        exe = os.path.join(d, BAD)
        os.symlink(os.fsencode(sys.executable), exe)
        data = os.path.join(d, b"data-" + BAD)
        with open(data, "wb") as f:
            f.write(b"x" * 4096)
        src = ("import mmap, os, sys, time\n"
               "f = open(sys.argv[1], 'rb')\n"
               "m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)\n"
               "print('ready', flush=True)\n"
               "time.sleep(60)\n")
        env = dict(os.environb)
        env[b"MEMSIGHT_" + BAD] = BAD
        p = subprocess.Popen([exe, b"-c", src, data], cwd=d, env=env, stdout=subprocess.PIPE)
        try:
            assert p.stdout.readline() == b"ready\n"
            yield p, d, data
        finally:
            p.kill()
            p.wait()


def test_bytes_that_are_not_utf8_round_trip_as_fsdecode(bad_child):
    p, d, data = bad_child
    proc = memsight.Process(p.pid)
    assert proc.cwd() == os.fsdecode(d)
    assert os.fsencode(proc.cwd()) == d
    assert proc.cmdline()[-1] == os.fsdecode(data)
    assert os.fsdecode(BAD)[:15] in proc.name() or proc.name() == os.fsdecode(BAD)
    assert proc.environ()["MEMSIGHT_" + os.fsdecode(BAD)] == os.fsdecode(BAD)
    assert os.fsdecode(data) in [f.path for f in proc.open_files()]
    assert os.fsdecode(data) in [m.path for m in proc.memory_maps()]
    assert os.fsdecode(data) in [m.path for m in proc.memory_maps(grouped=False)]
    # exe is the interpreter the symlink points to; it must not raise either way.
    assert proc.exe()


def test_one_non_utf8_process_does_not_break_as_dict_or_process_iter(bad_child):
    p, d, _ = bad_child
    proc = memsight.Process(p.pid)
    assert proc.as_dict()["cwd"] == os.fsdecode(d)
    cwds = {q.pid: q.info["cwd"] for q in memsight.process_iter(["cwd"])}
    assert cwds[p.pid] == os.fsdecode(d)


@pytest.mark.parametrize("pid", [2**128, 2**32, 2**31])
def test_pid_out_of_range_is_no_such_process_carrying_that_pid(pid):
    with pytest.raises(memsight.NoSuchProcess) as e:
        memsight.Process(pid)
    assert e.value.pid == pid
    assert not memsight.pid_exists(pid)


def test_negative_pid_is_value_error_and_does_not_exist():
    with pytest.raises(ValueError):
        memsight.Process(-1)
    assert not memsight.pid_exists(-1)
    with pytest.raises(TypeError):
        memsight.Process("1")


def test_procfs_path_is_read_at_call_time(tmp_path):
    assert memsight.PROCFS_PATH == "/proc"
    memsight.PROCFS_PATH = str(tmp_path)
    try:
        with pytest.raises(OSError):
            memsight.virtual_memory()
        with pytest.raises(OSError):
            memsight.swap_memory()
        with pytest.raises(memsight.NoSuchProcess):
            memsight.Process()
        assert not memsight.pid_exists(os.getpid())
    finally:
        memsight.PROCFS_PATH = "/proc"
    assert memsight.virtual_memory().total > 0
    assert memsight.pid_exists(os.getpid())


def test_version_and_cache_clear():
    assert ".".join(map(str, memsight.version_info)) == memsight.__version__
    memsight.process_iter.cache_clear()
    assert os.getpid() in [p.pid for p in memsight.process_iter()]


def test_all_lists_the_public_api_only_and_named_tuples_stay_importable():
    from memsight import pmem, svmem  # noqa: F401

    assert "svmem" not in memsight.__all__ and "svmem" not in dir(memsight)
    for name in memsight.__all__:
        assert hasattr(memsight, name), name
    public = [n for n in dir(memsight) if n.isidentifier() and not n.startswith("_")
              and not isinstance(getattr(memsight, n), type(memsight))]
    assert set(public) - set(memsight.__all__) <= {"OSX"} | {
        n for n in public if n.startswith(("STATUS_", "CONN_"))}


def test_open_files_leaves_out_a_file_not_reachable_by_path(tmp_path):
    f = open(tmp_path / "gone", "wb")
    try:
        os.unlink(tmp_path / "gone")
        paths = [o.path for o in memsight.Process().open_files()]
        assert str(tmp_path / "gone") not in paths
    finally:
        f.close()


def test_name_and_cmdline_of_a_child_just_started_are_its_own(tmp_path):
    # Popen returns once execve has closed the child's CLOEXEC pipe, before the kernel has set
    # the new comm and copied the new arguments; on a loaded machine that window lasts tens of
    # milliseconds, and the child showed its parent's name and an empty command line.
    exe = tmp_path / "memsight-child"
    exe.symlink_to(sys.executable)
    argv = [str(exe), "-c", "import time; time.sleep(5)"]
    for _ in range(10):
        p = subprocess.Popen(argv)
        try:
            proc = memsight.Process(p.pid)
            assert proc.name() == "memsight-child"
            assert proc.cmdline() == argv
        finally:
            p.kill()
            p.wait()


def test_pid_exists_is_false_for_a_thread_id():
    import threading

    done = threading.Event()
    t = threading.Thread(target=done.wait)
    t.start()
    try:
        assert t.native_id != os.getpid()
        assert not memsight.pid_exists(t.native_id)
        # ... yet a handle on it works, as psutil's Process(tid) does.
        assert memsight.Process(t.native_id).as_dict()["pid"] == t.native_id
        assert t.native_id not in memsight.pids()
        assert memsight.pid_exists(os.getpid())
    finally:
        done.set()
        t.join()
