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
