"""Jobs accepted by the previous release (workflow version fix-issue-v1) run after an upgrade.

v2 appended steps (notify) to v1's sequence, so a v1 job's checkpoints are a prefix of v2's.
Two kinds of old job are checked against the real service: one only ENQUEUED by the old release
(its inputs in the old shape, with `org`), and one PENDING mid-run when the old process died.
"""

from __future__ import annotations

import contextlib
import copy
import sqlite3
import time
from pathlib import Path

from dbos import DBOSClient

from server import pipeline
from tests.fakes.sentry_api import Failure, FakeSentry, load_fixture
from tests.fakes.serve import serve_app
from tests.service import SENTRY_TOKEN, Service


def _add_issue(fake: FakeSentry, issue: str) -> None:
    event = copy.deepcopy(load_fixture("sentry-mcp-event-javascript.json"))
    event["groupID"] = issue
    fake.add_event(event, project_slug="front-end")


def _versions(db: Path) -> dict[str, str]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return dict(conn.execute("SELECT workflow_uuid, application_version FROM workflow_status").fetchall())


def test_jobs_of_the_previous_release_resume_after_the_upgrade(tmp_path: Path) -> None:
    assert pipeline.WORKFLOW_VERSION == "fix-issue-v2" and "fix-issue-v1" in pipeline.COMPATIBLE_VERSIONS
    fake = FakeSentry(token=SENTRY_TOKEN, org="test-org")
    for issue in ("9990010", "9990011"):
        _add_issue(fake, issue)
    fake.fail_next("9990010", Failure(None, hang_seconds=30))  # in flight when the process dies
    db = tmp_path / "state" / "autofixer.sqlite"
    with serve_app(fake.app) as sentry_url:
        old = Service(tmp_path, sentry_url).start()
        new = Service(tmp_path, sentry_url)
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
            with contextlib.closing(sqlite3.connect(db)) as conn, conn:
                conn.execute("UPDATE workflow_status SET application_version = 'fix-issue-v1'")
            # …and a job it had only queued, with the inputs it wrote (`org`, no `source`).
            client = DBOSClient(system_database_url=f"sqlite:///{db}", application_name="autofixer")
            try:
                client.enqueue({"workflow_name": pipeline.WORKFLOW_NAME, "queue_name": pipeline.QUEUE_NAME,
                                "workflow_id": "sentry:test-org:9990011", "app_version": "fix-issue-v1"},
                               {"org": "test-org", "issue_id": "9990011", "project": "front-end", "title": "",
                                "trigger": "issue.created"})
            finally:
                client.destroy()
            assert set(_versions(db).values()) == {"fix-issue-v1"}

            new.port, new.url = old.port, old.url
            new.start()
            for issue in ("9990010", "9990011"):
                job = new.wait_job(f"sentry:test-org:{issue}", timeout=30)
                assert job["status"] == "SUCCESS" and job["outcome"]["stages"] == ["fetch_event", "fix"], job
                assert job["outcome"]["source"] == "sentry"
            assert set(_versions(db).values()) == {"fix-issue-v2"}
            assert "adopted 2 unfinished job(s)" in new.log()
        finally:
            old.kill()
            new.stop()
