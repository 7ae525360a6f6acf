"""Shared pytest fixtures."""

from __future__ import annotations

import pytest

from tests.hostile import HostileCase, write_hostile_corpus


@pytest.fixture(scope="session")
def hostile_corpus(tmp_path_factory: pytest.TempPathFactory) -> list[HostileCase]:
    """The hostile-input corpus of issue 5, written once per test session (see tests/hostile.py)."""
    return write_hostile_corpus(tmp_path_factory.mktemp("hostile"))
