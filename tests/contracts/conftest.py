"""Fixtures of the contract suites (helpers live in tests/contracts/support.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.contracts.support import FakeTime, Given


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    # Loopback traffic to the fakes must not be sent to a proxy configured on the host.
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def given(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> Given:
    return Given(tmp_path=tmp_path, time=FakeTime(), caplog=caplog)
