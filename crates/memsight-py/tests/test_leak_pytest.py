"""memsight.leak's pytest plugin (entry point pytest11): the `leaks` fixture and marker."""

import os

import pytest

from memsight.leak import MemoryLeakError, UnclosedFdError

pytest_plugins = ["pytester"]
KEPT = []


def test_fixture_passes_a_clean_function(leaks):
    leaks(lambda: str(12345).encode())


def test_fixture_catches_a_leak(leaks):
    with pytest.raises(MemoryLeakError):
        leaks(lambda: KEPT.append((object(),)))


def test_fixture_raises_checks_the_exception(leaks):
    leaks.raises(ZeroDivisionError, lambda: 1 / 0)
    with pytest.raises(AssertionError, match="did not raise"):
        leaks.raises(ZeroDivisionError, lambda: 1)


def test_fixture_passes_options(leaks):
    # 24 KiB kept per call, allowed by the tolerance (bytes per batch of `times` calls).
    kept = []
    leaks(lambda: kept.append("x" * 24 * 1024), times=20, warmup_times=0,
          tolerance=16 * 1024 * 1024)


@pytest.mark.leaks(times=64)
def test_marker_defaults_apply_to_the_fixture(leaks):
    assert leaks._defaults == {"times": 64}
    with pytest.raises(UnclosedFdError):
        leaks(lambda: KEPT.append(os.open("/dev/null", os.O_RDONLY)))


@pytest.mark.leaks(warmup_times=5)
def test_marker_runs_a_clean_body(tmp_path):
    # The body is the function under test; its fixtures are made once.
    assert (tmp_path / "f").name == "f"


def test_marker_fails_a_leaking_body(pytester):
    pytester.makepyfile("""
        import pytest
        KEPT = []

        @pytest.mark.leaks()
        def test_leaky():
            KEPT.append([1, 2, 3])

        @pytest.mark.leaks()
        def test_clean():
            [1, 2, 3].copy()
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*MemoryLeakError: memory kept increasing*"])


def test_failure_shows_the_test_line_not_the_harness(pytester):
    # pytest prints the source of every frame of the traceback: memsight.leak's own frames are
    # hidden (__tracebackhide__), so the user's line and the report are what is shown.
    pytester.makepyfile("""
        import pytest
        from memsight.leak import MemoryLeakTestCase
        KEPT = []

        def leaky():
            KEPT.append([1, 2, 3])

        def test_fixture(leaks):
            leaks(leaky)  # the fixture's line

        @pytest.mark.leaks()
        def test_marker():
            KEPT.append([4, 5, 6])

        class TestCase(MemoryLeakTestCase):
            def test_unittest(self):
                self.execute(leaky)  # the unittest line

        def test_bad_option(leaks):
            leaks(leaky, times=1)  # the bad option's line
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=4)
    out = result.stdout.str()
    # Once per failed check in the tracebacks ("E   ..." lines); the short summary at the end
    # repeats it whole when the CI variable is set (pytest truncates it otherwise).
    raised = [l for l in out.splitlines() if l.startswith("E ")
              and "MemoryLeakError: memory kept increasing" in l]
    assert len(raised) == 3, out
    assert "leaks(leaky)  # the fixture's line" in out
    assert "self.execute(leaky)  # the unittest line" in out
    assert "leaks(leaky, times=1)  # the bad option's line" in out
    assert "times must be >= 2" in out
    # No line of the harness's source, and no frame in its files.
    import memsight.leak
    import memsight.pytest_plugin
    for mod in (memsight.leak, memsight.pytest_plugin):
        with open(mod.__file__) as f:
            source = [line.strip() for line in f if len(line.strip()) > 12]
        shown = [line for line in source if f"    {line}" in out]
        assert shown == [], shown[:5]
    assert "leak.py:" not in out and "pytest_plugin.py:" not in out, out
