"""Fixtures shared by every test module."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures_path import shared_dir as _shared_dir


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The shared fixtures directory (`../shared`, or AUTOFIXER_SHARED_DIR)."""
    return _shared_dir()
