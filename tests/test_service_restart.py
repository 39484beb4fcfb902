"""A job accepted before a crash runs after the restart: SIGKILL the real service mid-job."""

from __future__ import annotations

import copy
import time
from pathlib import Path

import pytest

from tests.fakes.sentry_api import Failure, FakeSentry, load_fixture
from tests.fakes.serve import serve_app
from tests.service import SENTRY_TOKEN, Service

# Real subprocesses (the service, the CLI): run in CI; `pytest -m "not slow"` skips them locally.
pytestmark = pytest.mark.slow


def test_sigkill_after_202_then_restart_completes_the_job(tmp_path: Path) -> None:
    fake = FakeSentry(token=SENTRY_TOKEN, org="test-org")
    event = copy.deepcopy(load_fixture("sentry-mcp-event-javascript.json"))
    event["groupID"] = "9990001"
    fake.add_event(event, project_slug="front-end")
    # The first fetch hangs, so the job is accepted and in flight when the process dies.
    fake.fail_next("9990001", Failure(None, hang_seconds=30))
    body = load_fixture("webhook-issue-created.json")
    body["data"]["issue"]["id"] = "9990001"
    with serve_app(fake.app) as sentry_url:
        svc = Service(tmp_path, sentry_url).start()
        try:
            response = svc.post_webhook(body, "issue")
            assert response.status_code == 202
            deadline = time.monotonic() + 10
            while not any("/9990001/events/latest/" in p for p in fake.paths()):
                assert time.monotonic() < deadline, "the job never started fetching"
                time.sleep(0.05)
            assert svc.job("sentry:test-org:9990001")["status"] == "running"
            svc.kill()
            restarted = Service(tmp_path, sentry_url)
            restarted.port, restarted.url = svc.port, svc.url
            restarted.start()
            job = restarted.wait_job("sentry:test-org:9990001", timeout=30)
            assert job["workflow_status"] == "SUCCESS" and job["outcome"]["stages"] == ["fetch_event", "fix"], job
            # Still exactly one job for the issue: a redelivery after the restart is a duplicate.
            assert restarted.post_webhook(body, "issue").json()["status"] == "duplicate"
        finally:
            svc.kill()
            if "restarted" in locals():
                restarted.stop()


def test_job_queued_but_not_started_survives_sigkill(tmp_path: Path) -> None:
    """Concurrency 1 and a hung first job: the second job is only ENQUEUED when we crash."""
    fake = FakeSentry(token=SENTRY_TOKEN, org="test-org")
    for issue in ("9990002", "9990003"):
        event = copy.deepcopy(load_fixture("sentry-mcp-event-javascript.json"))
        event["groupID"] = issue
        fake.add_event(event, project_slug="front-end")
    fake.fail_next("9990002", Failure(None, hang_seconds=30))
    with serve_app(fake.app) as sentry_url:
        config = {"worker": {"concurrency": 1, "poll-interval-seconds": 0.1, "sentry-backoff-seconds": 0.05}}
        svc = Service(tmp_path, sentry_url, config=config).start()
        restarted = Service(tmp_path, sentry_url, config=config)
        try:
            for issue in ("9990002", "9990003"):
                body = load_fixture("webhook-issue-created.json")
                body["data"]["issue"]["id"] = issue
                assert svc.post_webhook(body, "issue").status_code == 202
            deadline = time.monotonic() + 10
            while not any("/9990002/events/latest/" in p for p in fake.paths()):
                assert time.monotonic() < deadline
                time.sleep(0.05)
            assert svc.job("sentry:test-org:9990003")["status"] == "queued"
            svc.kill()
            restarted.port, restarted.url = svc.port, svc.url
            restarted.start()
            for issue in ("9990002", "9990003"):
                job = restarted.wait_job(f"sentry:test-org:{issue}", timeout=30)
                assert job["outcome"]["stages"] == ["fetch_event", "fix"]
        finally:
            svc.kill()
            restarted.stop()
