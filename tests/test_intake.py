"""The intake: group commit, exact duplicate detection, a store that is down, clients that hang
up, and the inbox an earlier release may have left behind."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from server.pipeline.intake import DirectIntake, forward_leftover_inbox


class RecordingQueue:
    """Stands in for the job queue: records what was queued (keyed by job id, like the real one),
    or fails like a store that is down."""

    def __init__(self, *, down: bool = False, queued: tuple[str, ...] = ()) -> None:
        self.down = down
        self.jobs: dict[str, dict[str, Any] | None] = dict.fromkeys(queued)
        self.queued: list[dict[str, Any]] = []
        self.batches: list[int] = []

    def enqueue_new(self, jobs: list[tuple[str, dict[str, Any]]]) -> set[str]:
        if self.down:
            raise ConnectionError("job store unreachable")
        self.batches.append(len(jobs))
        new = {job_id for job_id, _ in jobs if job_id not in self.jobs}
        for job_id, request in jobs:
            if job_id in new:
                self.jobs[job_id] = request
                self.queued.append(request)
        return new

    async def write(self, jobs: list[tuple[str, dict[str, Any]]]) -> set[str]:
        await asyncio.sleep(0.001)  # a commit takes a while: deliveries arriving meanwhile batch up
        return self.enqueue_new(jobs)


def _request(issue: str) -> dict[str, Any]:
    return {"org": "acme", "issue_id": issue, "project": "shop", "title": "boom", "trigger": "issue.created"}


async def _intake(queue: RecordingQueue) -> DirectIntake:
    intake = DirectIntake(None, queue.write)  # type: ignore[arg-type]
    await intake.start()
    return intake


async def test_concurrent_duplicates_are_new_exactly_once_and_batches_are_group_committed() -> None:
    queue = RecordingQueue()
    intake = await _intake(queue)
    try:
        same = await asyncio.gather(*(intake.accept("sentry:acme:1", _request("1")) for _ in range(30)))
        distinct = await asyncio.gather(*(intake.accept(f"sentry:acme:{i}", _request(str(i))) for i in range(2, 302)))
        assert same.count(True) == 1 and all(distinct)
        assert len(queue.queued) == 301
        assert len(queue.batches) <= 10  # not one transaction per delivery
        assert await intake.accept("sentry:acme:5", _request("5")) is False  # a redelivery later
        assert intake.healthy()
    finally:
        await intake.close()


async def test_a_delivery_for_a_job_queued_elsewhere_is_a_duplicate() -> None:
    # `autofixer sweep` or MCP queued this issue straight into the job queue.
    queue = RecordingQueue(queued=("sentry:acme:1",))
    intake = await _intake(queue)
    try:
        assert await intake.accept("sentry:acme:1", _request("1")) is False
        assert await intake.accept("sentry:acme:2", _request("2")) is True
    finally:
        await intake.close()


async def test_a_store_that_is_down_fails_the_batch_and_the_intake_carries_on() -> None:
    queue = RecordingQueue(down=True)
    intake = await _intake(queue)
    try:
        with pytest.raises(ConnectionError):  # the webhook answers 503: the tracker retries
            await intake.accept("sentry:acme:7", _request("7"))
        assert intake.healthy()
        queue.down = False
        assert await intake.accept("sentry:acme:7", _request("7")) is True  # the retry is stored
        assert queue.queued == [_request("7")]
    finally:
        await intake.close()


async def test_a_client_that_hangs_up_neither_loses_its_delivery_nor_stops_the_intake() -> None:
    queue = RecordingQueue()
    intake = await _intake(queue)
    try:
        # The web server cancels a request's task when its client disconnects mid-request.
        abandoned = [asyncio.ensure_future(intake.accept(f"sentry:acme:{i}", _request(str(i)))) for i in range(20)]
        await asyncio.sleep(0)
        for task in abandoned:
            task.cancel()
        assert await intake.accept("sentry:acme:99", _request("99"))  # the intake still answers
        assert intake.healthy()
        assert sorted(int(r["issue_id"]) for r in queue.queued) == [*range(20), 99]
    finally:
        await intake.close()


@pytest.mark.parametrize("kept_forwarded", [False, True])
def test_an_inbox_left_by_an_earlier_release_is_queued_once_and_removed(tmp_path: Path, kept_forwarded: bool) -> None:
    inbox = tmp_path / "inbox.sqlite"
    with sqlite3.connect(inbox) as db:
        db.execute("PRAGMA journal_mode=WAL")
        if kept_forwarded:  # the release that kept queued rows, marked
            db.execute("CREATE TABLE inbox (job_id TEXT PRIMARY KEY, payload TEXT NOT NULL,"
                       " forwarded INTEGER NOT NULL DEFAULT 0)")
            db.execute("INSERT INTO inbox VALUES ('sentry:acme:0', ?, 1)", (json.dumps(_request("0")),))
        else:
            db.execute("CREATE TABLE inbox (job_id TEXT PRIMARY KEY, payload TEXT NOT NULL)")
        db.executemany("INSERT INTO inbox (job_id, payload) VALUES (?, ?)",
                       [(f"sentry:acme:{i}", json.dumps(_request(str(i)))) for i in range(1, 1201)])
    queue = RecordingQueue(queued=("sentry:acme:1",))  # queued before the old release stopped
    assert forward_leftover_inbox(inbox, queue.enqueue_new) == 1199
    assert [r["issue_id"] for r in queue.queued] == [str(i) for i in range(2, 1201)]  # in order, none twice
    assert queue.batches == [500, 500, 200]
    assert not inbox.exists() and not list(tmp_path.glob("inbox.sqlite*"))
    assert forward_leftover_inbox(inbox, queue.enqueue_new) == 0  # nothing left: the next start does nothing


def test_a_store_that_is_down_keeps_the_leftover_inbox_for_the_next_start(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox.sqlite"
    with sqlite3.connect(inbox) as db:
        db.execute("CREATE TABLE inbox (job_id TEXT PRIMARY KEY, payload TEXT NOT NULL)")
        db.execute("INSERT INTO inbox VALUES ('sentry:acme:1', ?)", (json.dumps(_request("1")),))
    with pytest.raises(ConnectionError):
        forward_leftover_inbox(inbox, RecordingQueue(down=True).enqueue_new)
    assert inbox.exists()
    up = RecordingQueue()
    assert forward_leftover_inbox(inbox, up.enqueue_new) == 1 and up.queued == [_request("1")]
