"""`autofixer demo`, the README's main command, run exactly as a newcomer would (no keys)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# Real subprocesses (the service, the CLI): run in CI; `pytest -m "not slow"` skips them locally.
pytestmark = pytest.mark.slow


def test_demo_runs_offline_labels_replays_and_fixes_the_sample(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("AUTOFIXER_LLM_KEY", "ANTHROPIC_API_KEY")}
    result = subprocess.run(
        [sys.executable, "-m", "server.cli", "demo", "--workdir", str(tmp_path / "demo")],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "Sentry API: REPLAYED" in out and "model: REPLAYED" in out
    assert "[REPLAYED model turns]" in out and "(replayed figures)" in out
    assert "HTTP 202 accepted" in out and "confidence HIGH" in out
    assert "+++ b/shop/orders.py" in out
    assert "branch fix/auto-fixer-sentry-5872041193 pushed to" in out
    assert "labels: auto-fix, ai-generated, confidence-high" in out and "must be reviewed by a person" in out
    assert "main: 1 failed, 22 passed" in out and "fix/auto-fixer-sentry-5872041193: 23 passed" in out


@pytest.mark.parametrize("scm", ["gitlab", "bitbucket", "bitbucket-datacenter"])
def test_demo_opens_a_request_through_each_forge_provider_on_a_labelled_stand_in(tmp_path: Path, scm: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("AUTOFIXER_LLM_KEY", "ANTHROPIC_API_KEY")}
    result = subprocess.run(
        [sys.executable, "-m", "server.cli", "demo", "--scm", scm, "--workdir", str(tmp_path / "demo")],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "STAND-IN — a local stand-in for its REST API" in out and "model: REPLAYED" in out
    assert "STAND-IN: #1 https://" in out and "(dry run)" not in out
    assert "labels: auto-fix, ai-generated, confidence-high" in out
    assert "fix/auto-fixer-sentry-5872041193: 23 passed" in out
