"""The intakes: group commit, exact duplicate detection, and a batched hand-off that survives a restart."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

from server.pipeline.intake import DirectIntake, InboxIntake


class RecordingQueue:
    """Stands in for the job queue: records what was forwarded (keyed by job id, like the real
    one), or fails like a store that is down."""

    def __init__(self, *, down: bool = False, queued: tuple[str, ...] = ()) -> None:
        self.down = down
        self.jobs: dict[str, dict[str, Any] | None] = dict.fromkeys(queued)
        self.forwarded: list[dict[str, Any]] = []
        self.batches: list[int] = []

    def enqueue_new(self, jobs: list[tuple[str, dict[str, Any]]]) -> set[str]:
        if self.down:
            raise ConnectionError("job store unreachable")
        self.batches.append(len(jobs))
        new = {job_id for job_id, _ in jobs if job_id not in self.jobs}
        for job_id, request in jobs:
            if job_id in new:
                self.jobs[job_id] = request
                self.forwarded.append(request)
        return new

    def existing(self, job_ids: list[str]) -> set[str]:
        return {job_id for job_id in job_ids if job_id in self.jobs}


async def _settle(queue: RecordingQueue, count: int) -> None:
    # Generous: the hand-off is a background loop, and CI's two cores may be busy with other tests.
    for _ in range(1000):
        if len(queue.forwarded) >= count:
            return
        await asyncio.sleep(0.01)


def _request(issue: str) -> dict[str, Any]:
    return {"org": "acme", "issue_id": issue, "project": "shop", "title": "boom", "trigger": "issue.created"}


async def test_concurrent_duplicates_are_new_exactly_once(tmp_path: Path) -> None:
    queue = RecordingQueue()
    inbox = InboxIntake(tmp_path / "inbox.sqlite", None, queue)  # type: ignore[arg-type]
    await inbox.start()
    try:
        results = await asyncio.gather(*(inbox.accept("sentry:acme:1", _request("1")) for _ in range(50)))
        distinct = await asyncio.gather(*(inbox.accept(f"sentry:acme:{i}", _request(str(i))) for i in range(2, 102)))
        assert results.count(True) == 1 and all(distinct)
        await _settle(queue, 101)
        assert sorted(int(r["issue_id"]) for r in queue.forwarded) == list(range(1, 102))
        assert await inbox.pending() == 0 and not await inbox.awaiting_queue("sentry:acme:1")
    finally:
        await inbox.close()


async def test_deliveries_accepted_while_the_queue_is_down_are_forwarded_after_a_restart(tmp_path: Path) -> None:
    down = RecordingQueue(down=True)
    inbox = InboxIntake(tmp_path / "inbox.sqlite", None, down)  # type: ignore[arg-type]
    await inbox.start()
    assert await inbox.accept("sentry:acme:7", _request("7"))
    await asyncio.sleep(0.05)
    assert await inbox.awaiting_queue("sentry:acme:7")  # acknowledged, stored, not yet queued
    await inbox.close()  # the process stops before the job reached the queue

    up = RecordingQueue()
    reopened = InboxIntake(tmp_path / "inbox.sqlite", None, up)  # type: ignore[arg-type]
    await reopened.start()
    try:
        await _settle(up, 1)
        assert up.forwarded == [_request("7")]
        assert not await reopened.accept("sentry:acme:7", _request("7"))  # still a duplicate
    finally:
        await reopened.close()


async def test_a_client_that_hangs_up_neither_loses_its_delivery_nor_stops_the_intake(tmp_path: Path) -> None:
    queue = RecordingQueue()
    inbox = InboxIntake(tmp_path / "inbox.sqlite", None, queue)  # type: ignore[arg-type]
    await inbox.start()
    try:
        # The web server cancels a request's task when its client disconnects mid-request.
        abandoned = [asyncio.ensure_future(inbox.accept(f"sentry:acme:{i}", _request(str(i)))) for i in range(20)]
        await asyncio.sleep(0)
        for task in abandoned:
            task.cancel()
        assert await inbox.accept("sentry:acme:99", _request("99"))  # the intake still answers
        await _settle(queue, 21)
        assert inbox.healthy()
        assert sorted(int(r["issue_id"]) for r in queue.forwarded) == [*range(20), 99]
    finally:
        await inbox.close()


async def test_the_hand_off_moves_deliveries_in_batches_and_empties_the_inbox(tmp_path: Path) -> None:
    queue = RecordingQueue()
    inbox = InboxIntake(tmp_path / "inbox.sqlite", None, queue)  # type: ignore[arg-type]
    await inbox.start()
    try:
        assert all(await asyncio.gather(*(inbox.accept(f"sentry:acme:{i}", _request(str(i))) for i in range(1200))))
        await _settle(queue, 1200)
        assert len(queue.forwarded) == 1200
        assert len(queue.batches) <= 10 and max(queue.batches) <= 500  # not one transaction per delivery
        assert await inbox.pending() == 0 and not await inbox.awaiting_queue("sentry:acme:5")
    finally:
        await inbox.close()
    with sqlite3.connect(tmp_path / "inbox.sqlite") as db:  # queued rows leave: the file does not grow
        assert db.execute("SELECT COUNT(*) FROM inbox").fetchone()[0] == 0


async def test_a_delivery_for_a_job_queued_elsewhere_is_a_duplicate(tmp_path: Path) -> None:
    # `autofixer sweep` or MCP queued this issue straight into the job queue.
    queue = RecordingQueue(queued=("sentry:acme:1",))
    inbox = InboxIntake(tmp_path / "inbox.sqlite", None, queue)  # type: ignore[arg-type]
    direct = DirectIntake(None, queue)  # type: ignore[arg-type]
    await inbox.start()
    await direct.start()
    try:
        assert await inbox.accept("sentry:acme:1", _request("1")) is False
        assert await direct.accept("sentry:acme:1", _request("1")) is False
        assert await inbox.accept("sentry:acme:2", _request("2")) is True
    finally:
        await inbox.close()
        await direct.close()


async def test_the_direct_intake_group_commits_and_collapses_duplicates(tmp_path: Path) -> None:
    queue = RecordingQueue()
    direct = DirectIntake(None, queue)  # type: ignore[arg-type]
    await direct.start()
    try:
        same = await asyncio.gather(*(direct.accept("sentry:acme:1", _request("1")) for _ in range(30)))
        distinct = await asyncio.gather(*(direct.accept(f"sentry:acme:{i}", _request(str(i))) for i in range(2, 302)))
        assert same.count(True) == 1 and all(distinct)
        assert len(queue.forwarded) == 301 and len(queue.batches) < 301
        assert direct.healthy()
    finally:
        await direct.close()
