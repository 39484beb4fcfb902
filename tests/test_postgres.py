"""The service on a PostgreSQL job store (several replicas share one): jobs go straight into the
DBOS queue, duplicates still collapse to one job, and a SIGKILLed job still finishes.

Runs when AUTOFIXER_TEST_POSTGRES_URL names a server (CI starts one with
scripts/start_postgres.sh); each test gets a database of its own.
"""

from __future__ import annotations

import copy
import os
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.fakes.sentry_api import Failure, FakeSentry, load_fixture
from tests.fakes.serve import serve_app
from tests.service import SENTRY_TOKEN, Service

BASE_URL = os.environ.get("AUTOFIXER_TEST_POSTGRES_URL")
pytestmark = [pytest.mark.skipif(not BASE_URL, reason="set AUTOFIXER_TEST_POSTGRES_URL to run the PostgreSQL tests"),
              pytest.mark.slow]


@pytest.fixture
def database_url() -> str:
    assert BASE_URL
    return BASE_URL.rsplit("/", 1)[0] + f"/autofixer_{uuid.uuid4().hex[:12]}"  # DBOS creates it


@pytest.fixture
def sentry() -> Iterator[tuple[FakeSentry, str]]:
    fake = FakeSentry(token=SENTRY_TOKEN, org="test-org")
    for issue in ("8880001", "8880002"):
        event = copy.deepcopy(load_fixture("sentry-mcp-event-javascript.json"))
        event["groupID"] = issue
        fake.add_event(event, project_slug="front-end")
    with serve_app(fake.app) as url:
        yield fake, url


def _body(issue: str) -> dict[str, object]:
    body = load_fixture("webhook-issue-created.json")
    body["data"]["issue"]["id"] = issue
    return body


def test_duplicates_collapse_and_jobs_run_on_postgres(tmp_path: Path, sentry: tuple[FakeSentry, str],
                                                      database_url: str) -> None:
    svc = Service(tmp_path, sentry[1], config={"database-url": database_url}).start()
    try:
        with ThreadPoolExecutor(20) as pool:
            codes = list(pool.map(lambda _: svc.post_webhook(_body("8880001"), "issue").status_code, range(20)))
        assert codes.count(202) == 1 and codes.count(200) == 19, codes
        outcome = svc.wait_job("sentry:test-org:8880001")["outcome"]
        assert outcome["stages"] == ["fetch_event", "fix"] and "AUTOFIXER_LLM_KEY" in outcome["reason"]
        assert not (tmp_path / "state" / "inbox.sqlite").exists()  # Postgres takes jobs directly
    finally:
        svc.stop()


def test_sigkill_mid_job_then_restart_on_postgres(tmp_path: Path, sentry: tuple[FakeSentry, str],
                                                  database_url: str) -> None:
    fake, url = sentry
    fake.fail_next("8880002", Failure(None, hang_seconds=30))
    svc = Service(tmp_path, url, config={"database-url": database_url}).start()
    restarted = Service(tmp_path, url, config={"database-url": database_url})
    restarted.port, restarted.url = svc.port, svc.url
    try:
        assert svc.post_webhook(_body("8880002"), "issue").status_code == 202
        deadline = time.monotonic() + 15
        while not any("/8880002/events/latest/" in p for p in fake.paths()):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        svc.kill()
        restarted.start()
        job = restarted.wait_job("sentry:test-org:8880002", timeout=40)
        assert job["outcome"]["stages"] == ["fetch_event", "fix"], job
    finally:
        svc.kill()
        restarted.stop()
