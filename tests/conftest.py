"""Shared pytest fixtures and settings."""

from __future__ import annotations

import os
import sys
import tempfile

# numba keys its on-disk cache on the function's bytecode and the CPU, not on
# NUMBA_BOUNDSCHECK: a bounds-checked run must not load the ordinary cache (nothing would be
# checked) nor leave bounds-checked code in it (every later run would be slow).  Give it a
# cache folder of its own, before anything imports numba.
if os.environ.get("NUMBA_BOUNDSCHECK", "0") not in ("", "0") and not os.environ.get("NUMBA_CACHE_DIR"):
    if "numba" in sys.modules:
        raise RuntimeError("NUMBA_BOUNDSCHECK=1 needs NUMBA_CACHE_DIR set before numba is imported")
    os.environ["NUMBA_CACHE_DIR"] = os.path.join(tempfile.gettempdir(), "wavenet-gui-numba-boundscheck")

import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

from tests.hostile import HostileCase, write_hostile_corpus  # noqa: E402

# The window tests' fixtures (qt_settings, tone_file, make_window and the autouse leak check), once
# for every test module; importing them points ALSA at a null device and Qt at offscreen first.
pytest_plugins = ["tests.qt_fixtures"]

# Property tests: the same examples on every run (CI must not flake), no example database in
# the work tree.  HYPOTHESIS_PROFILE=explore draws fresh random examples, 10x as many.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", derandomize=False, database=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def examples(n: int) -> int:
    """``n`` examples, 10x as many under ``HYPOTHESIS_PROFILE=explore``, half under
    ``NUMBA_BOUNDSCHECK=1`` (CI's second, slower run)."""
    if os.environ.get("HYPOTHESIS_PROFILE") == "explore":
        return n * 10
    if os.environ.get("NUMBA_BOUNDSCHECK", "0") not in ("", "0"):
        return max(1, n // 2)
    return n


@pytest.fixture(scope="session")
def hostile_corpus(tmp_path_factory: pytest.TempPathFactory) -> list[HostileCase]:
    """The hostile-input corpus of issue 5, written once per test session (see tests/hostile.py)."""
    return write_hostile_corpus(tmp_path_factory.mktemp("hostile"))
