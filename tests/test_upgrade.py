"""Jobs accepted by earlier releases (workflow versions fix-issue-v1 and v3) run after an upgrade.

v2 appended steps (notify) to v1's sequence, so a v1 job's checkpoints are a prefix of v2's; v3
(trigger rules) runs requests without `check_triggers` exactly as v2 did, and v4 (validation) runs
requests without `validate_fix` exactly as v3 did, so all stay adoptable.
Two kinds of old job are checked against the real service: one only ENQUEUED by the old release
(its inputs in the old shape, with `org`), and one PENDING mid-run when the old process died.
"""

from __future__ import annotations

import copy
import os
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from dbos import DBOSClient

from server.pipeline import workflow as pipeline
from tests.fakes.sentry_api import Failure, FakeSentry, load_fixture
from tests.fakes.serve import serve_app
from tests.service import SENTRY_TOKEN, Service

# Real subprocesses (the service, the CLI): run in CI; `pytest -m "not slow"` skips them locally.
pytestmark = pytest.mark.slow


def _add_issue(fake: FakeSentry, issue: str) -> None:
    event = copy.deepcopy(load_fixture("sentry-mcp-event-javascript.json"))
    event["groupID"] = issue
    fake.add_event(event, project_slug="front-end")


POSTGRES = os.environ.get("AUTOFIXER_TEST_POSTGRES_URL")


def _store(kind: str, tmp_path: Path) -> tuple[str | None, str, str]:
    """(database-url for the config, SQLAlchemy URL, the workflow table) of a fresh job store."""
    if kind == "sqlite":
        return None, f"sqlite:///{tmp_path / 'state' / 'autofixer.sqlite'}", "workflow_status"
    if not POSTGRES:
        pytest.skip("set AUTOFIXER_TEST_POSTGRES_URL to run the PostgreSQL variant")
    url = POSTGRES.rsplit("/", 1)[0] + f"/autofixer_{uuid.uuid4().hex[:12]}"  # DBOS creates it
    return url, url.replace("postgresql://", "postgresql+psycopg://", 1), "dbos.workflow_status"


def _sql(url: str, statement: str) -> list[tuple[str, str]]:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            result = conn.execute(sa.text(statement))
            return [tuple(row) for row in result] if result.returns_rows else []  # type: ignore[misc]
    finally:
        engine.dispose()


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_jobs_of_the_previous_release_resume_after_the_upgrade(tmp_path: Path, store: str) -> None:
    assert pipeline.WORKFLOW_VERSION == "fix-issue-v4"
    assert {"fix-issue-v1", "fix-issue-v2", "fix-issue-v3"} <= set(pipeline.COMPATIBLE_VERSIONS)
    fake = FakeSentry(token=SENTRY_TOKEN, org="test-org")
    for issue in ("9990010", "9990011", "9990012"):
        _add_issue(fake, issue)
    fake.fail_next("9990010", Failure(None, hang_seconds=30))  # in flight when the process dies
    database_url, sql_url, table = _store(store, tmp_path)
    config = {"database-url": database_url} if database_url else None

    def versions() -> set[str]:
        return {v for _, v in _sql(sql_url, f"SELECT workflow_uuid, application_version FROM {table}")}

    with serve_app(fake.app) as sentry_url:
        old = Service(tmp_path, sentry_url, config=config).start()
        new = Service(tmp_path, sentry_url, config=config)
        try:
            body = load_fixture("webhook-issue-created.json")
            body["data"]["issue"]["id"] = "9990010"
            assert old.post_webhook(body, "issue").status_code == 202
            deadline = time.monotonic() + 10
            while not any("/9990010/events/latest/" in p for p in fake.paths()):
                assert time.monotonic() < deadline, "the job never started"
                time.sleep(0.05)
            old.kill()
            # What the old release left: its in-flight job under its own version…
            _sql(sql_url, f"UPDATE {table} SET application_version = 'fix-issue-v1'")
            # …and a job it had only queued, with the inputs it wrote (`org`, no `source`).
            client = DBOSClient(system_database_url=database_url or sql_url, application_name="autofixer")
            try:
                client.enqueue({"workflow_name": pipeline.WORKFLOW_NAME, "queue_name": pipeline.QUEUE_NAME,
                                "workflow_id": "sentry:test-org:9990011", "app_version": "fix-issue-v1"},
                               {"org": "test-org", "issue_id": "9990011", "project": "front-end", "title": "",
                                "trigger": "issue.created"})
                # …and one queued by v3, in v3's shape (trigger rules, no `validate_fix`).
                client.enqueue({"workflow_name": pipeline.WORKFLOW_NAME, "queue_name": pipeline.QUEUE_NAME,
                                "workflow_id": "sentry:test-org:9990012", "app_version": "fix-issue-v3"},
                               {"source": "sentry", "issue_id": "9990012", "project": "front-end", "title": "",
                                "trigger": "issue.created", "check_triggers": True})
            finally:
                client.destroy()
            assert versions() == {"fix-issue-v1", "fix-issue-v3"}

            new.port, new.url = old.port, old.url
            new.start()
            for issue in ("9990010", "9990011", "9990012"):
                job = new.wait_job(f"sentry:test-org:{issue}", timeout=30)
                assert job["workflow_status"] == "SUCCESS" and job["outcome"]["stages"] == ["fetch_event", "fix"], job
                assert job["outcome"]["source"] == "sentry"
            assert versions() == {pipeline.WORKFLOW_VERSION}
            assert "adopted 3 unfinished job(s)" in new.log()
        finally:
            old.kill()
            new.stop()
