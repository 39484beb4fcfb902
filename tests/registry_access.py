"""Tests that install from a package registry (PyPI, npm) skip, with the reason, when it is out
of reach, and fail on any other error (a broken pin is a failure, not a skip)."""

from __future__ import annotations

import pytest

OFFLINE_HINTS = (
    "Temporary failure in name resolution", "Name or service not known", "Network is unreachable",
    "NewConnectionError", "ConnectTimeout", "Max retries exceeded", "ENOTFOUND", "EAI_AGAIN",
    "ECONNREFUSED", "ETIMEDOUT", "getaddrinfo",
)


def skip_if_offline(error: str, what: str = "install from the package registry") -> None:
    """Skip the test when `error` says the registry could not be reached; return otherwise."""
    if any(hint in error for hint in OFFLINE_HINTS):
        pytest.skip(f"cannot {what} (no network?): {error.strip().splitlines()[0][:200]}")
