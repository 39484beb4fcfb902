"""bench/webhook.py keeps its honesty checks: a quick run verifies deliveries against the job
store itself, and a delivery missing from the store fails the run. Not timed: the figures of a
quick run on a shared machine are noise, so a missed performance target (exit 1) is allowed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# Starts the real service and a bare server as subprocesses: run in CI; `-m "not slow"` skips it.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


def _bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "bench/webhook.py", "--quick", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_a_quick_run_checks_every_accepted_delivery_against_the_job_store() -> None:
    run = _bench()
    assert run.returncode in (0, 1), run.stdout + run.stderr  # 2 would be a lost delivery or a bad answer
    assert ", lost: 0," in run.stdout
    for target in ("× the ceiling's", "hand-off to the queue", "backlog drained", "every accepted delivery queued"):
        assert target in run.stdout and "target" in run.stdout


def test_a_delivery_missing_from_the_job_store_fails_the_run() -> None:
    run = _bench("--drop-one")
    assert run.returncode == 2, run.stdout + run.stderr
    assert ", lost: 1," in run.stdout and "FAILED" in run.stdout
