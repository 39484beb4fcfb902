"""Durable intake: how an accepted webhook becomes a queued fix job before we answer 202.

Two ways, one interface (`accept(job_id, request) -> True if new, False if a job or an accepted
delivery with this id exists already`), both group-committing: the deliveries that arrive while
one batch is being written go into the next, one transaction for the lot, written by a worker
thread so the event loop keeps answering.

* `DirectIntake` writes each batch straight into the job queue. Right for Postgres, which takes
  concurrent writers in stride and is shared by every replica.
* `InboxIntake` is for the embedded SQLite store, whose single write lock the job queue shares
  with the workers' bookkeeping. It commits each batch to a small inbox table in a file of its
  own (fsynced before anyone is answered), and a second loop hands the inbox over to the job
  queue in batches: one job-queue transaction, then one inbox transaction deleting what it moved.
  A crash between the two leaves rows that are handed over again at the next start, which is
  harmless because the job id is the queue's key (a job that exists is left as it is). So an
  acknowledged delivery ends up queued exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from dbos import Queue

from server.pipeline import job_queue
from server.pipeline.job_queue import Job

log = logging.getLogger("autofixer.intake")

FORWARD_BATCH = 500  # inbox rows handed to the job queue per transaction


class Intake(Protocol):
    queue: Queue

    async def accept(self, job_id: str, request: dict[str, Any]) -> bool: ...

    async def pending(self) -> int: ...

    async def awaiting_queue(self, job_id: str) -> bool: ...

    def healthy(self) -> bool: ...

    async def close(self) -> None: ...


class BulkQueue(Protocol):
    """The job queue as the intakes use it: server.pipeline.job_queue, or a test's stand-in."""

    def enqueue_new(self, jobs: list[Job]) -> set[str]: ...

    def existing(self, job_ids: list[str]) -> set[str]: ...


@dataclass
class _Delivery:
    job_id: str
    request: dict[str, Any]
    done: asyncio.Future[bool] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class GroupCommit:
    """Batches concurrent deliveries: `write(batch) -> is_new per delivery` runs in a worker
    thread on everything that arrived while the previous batch was being written."""

    def __init__(self, write: Callable[[list[_Delivery]], list[bool]], name: str) -> None:
        self._write = write
        self._name = name
        self._incoming: asyncio.Queue[_Delivery] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._loop(), name=self._name)

    async def submit(self, job_id: str, request: dict[str, Any]) -> bool:
        delivery = _Delivery(job_id, request)
        self._incoming.put_nowait(delivery)
        return await delivery.done

    async def _loop(self) -> None:
        while True:
            batch = [await self._incoming.get()]
            while not self._incoming.empty():
                batch.append(self._incoming.get_nowait())
            try:
                new = await asyncio.to_thread(self._write, batch)
            except Exception as exc:  # the disk is full or the store is gone: these were not stored
                log.exception("%s failed for %d delivery(ies)", self._name, len(batch))
                for delivery in batch:
                    if not delivery.done.done():  # the client may have hung up meanwhile
                        delivery.done.set_exception(exc)
                continue
            for delivery, is_new in zip(batch, new, strict=True):
                if not delivery.done.done():  # a disconnect cancels the waiting request
                    delivery.done.set_result(is_new)


def _first_of_each_id(batch: list[_Delivery]) -> list[bool]:
    """True for the first delivery of each job id in the batch: later ones are duplicates."""
    seen: set[str] = set()
    first = []
    for delivery in batch:
        first.append(delivery.job_id not in seen)
        seen.add(delivery.job_id)
    return first


class DirectIntake:
    def __init__(self, queue: Queue, jobs: BulkQueue = job_queue) -> None:
        self.queue = queue
        self._jobs = jobs
        self._commits = GroupCommit(self._write, "job-queue group commit")

    async def start(self) -> None:
        self._commits.start()

    def _write(self, batch: list[_Delivery]) -> list[bool]:
        first = _first_of_each_id(batch)
        queued = self._jobs.enqueue_new([(d.job_id, d.request) for d, f in zip(batch, first, strict=True) if f])
        return [f and d.job_id in queued for d, f in zip(batch, first, strict=True)]

    async def accept(self, job_id: str, request: dict[str, Any]) -> bool:
        return await self._commits.submit(job_id, request)

    async def pending(self) -> int:
        return 0

    async def awaiting_queue(self, job_id: str) -> bool:
        return False

    def healthy(self) -> bool:
        return self._commits.task is not None and not self._commits.task.done()

    async def close(self) -> None:
        await _cancel([self._commits.task])


class InboxIntake:
    def __init__(self, path: Path, queue: Queue, jobs: BulkQueue = job_queue) -> None:
        self.path = path
        self.queue = queue
        self._jobs = jobs
        self._db = _open_inbox(path)
        # Both loops' threads share one connection. The lock also orders a duplicate check against
        # a hand-off: a job id is always in the inbox, in the job queue, or (briefly) in both.
        self._db_lock = threading.Lock()
        self._backlog = 0  # inbox rows not yet in the job queue
        self._commits = GroupCommit(self._commit, "inbox group commit")
        self._work = asyncio.Event()
        self._forwarder: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._backlog = await asyncio.to_thread(self._count)
        if self._backlog:
            log.info("forwarding %d delivery(ies) accepted before the last stop", self._backlog)
            self._work.set()
        self._commits.start()
        self._forwarder = asyncio.create_task(self._forward_loop(), name="inbox hand-off")

    async def accept(self, job_id: str, request: dict[str, Any]) -> bool:
        new = await self._commits.submit(job_id, request)
        if new:
            self._work.set()
        return new

    async def pending(self) -> int:
        return self._backlog

    async def awaiting_queue(self, job_id: str) -> bool:
        """Accepted and stored in the inbox, not yet handed to the job queue."""
        return await asyncio.to_thread(self._in_inbox, job_id)

    def healthy(self) -> bool:
        """False when a loop has died: the service would then accept nothing more."""
        return all(task is not None and not task.done() for task in (self._commits.task, self._forwarder))

    async def close(self) -> None:
        await _cancel([self._commits.task, self._forwarder])
        await asyncio.to_thread(self._close_db)  # after a hand-off still running in its thread

    # --- group commit ---------------------------------------------------------------------------

    def _commit(self, batch: list[_Delivery]) -> list[bool]:
        first = _first_of_each_id(batch)
        new: list[bool] = []
        with self._db_lock:
            # A poll, `autofixer sweep` or MCP queue jobs without passing through the inbox.
            queued = self._jobs.existing(sorted({d.job_id for d in batch}))
            with self._db:  # one transaction, one fsync, for the whole batch
                for delivery, is_first in zip(batch, first, strict=True):
                    if not is_first or delivery.job_id in queued:
                        new.append(False)
                        continue
                    cursor = self._db.execute("INSERT OR IGNORE INTO inbox (job_id, payload) VALUES (?, ?)",
                                              (delivery.job_id, json.dumps(delivery.request)))
                    new.append(cursor.rowcount == 1)
            self._backlog += sum(new)
        return new

    # --- hand-off to the job queue --------------------------------------------------------------

    async def _forward_loop(self) -> None:
        while True:
            await self._work.wait()
            self._work.clear()
            try:
                moved = await asyncio.to_thread(self._forward_batch)
            except Exception:  # the job store is down: the rows stay, try again shortly
                log.exception("could not hand %d delivery(ies) to the job queue yet; retrying", self._backlog)
                await asyncio.sleep(1)
                self._work.set()
                continue
            if moved == FORWARD_BATCH:  # more are waiting
                self._work.set()

    def _forward_batch(self) -> int:
        with self._db_lock:
            rows = self._db.execute("SELECT job_id, payload FROM inbox ORDER BY rowid LIMIT ?",
                                    (FORWARD_BATCH,)).fetchall()
        if not rows:
            return 0
        self._jobs.enqueue_new([(job_id, json.loads(payload)) for job_id, payload in rows])
        # A crash here leaves the rows in the inbox: the next start hands them over again, and
        # the job queue keeps the jobs it already has.
        with self._db_lock, self._db:
            self._db.executemany("DELETE FROM inbox WHERE job_id = ?", [(job_id,) for job_id, _ in rows])
            self._backlog -= len(rows)
        return len(rows)

    def _count(self) -> int:
        with self._db_lock:
            return int(self._db.execute("SELECT COUNT(*) FROM inbox").fetchone()[0])

    def _in_inbox(self, job_id: str) -> bool:
        with self._db_lock:
            return self._db.execute("SELECT 1 FROM inbox WHERE job_id = ?", (job_id,)).fetchone() is not None

    def _close_db(self) -> None:
        with self._db_lock:
            self._db.close()


async def _cancel(tasks: list[asyncio.Task[None] | None]) -> None:
    for task in tasks:
        if task is not None:
            task.cancel()
    for task in tasks:
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def _open_inbox(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    # One connection for both loops, used under InboxIntake._db_lock from worker threads.
    db = sqlite3.connect(path, check_same_thread=False, timeout=30)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")  # an acknowledged delivery survives power loss too
    db.execute(
        "CREATE TABLE IF NOT EXISTS inbox ("
        " job_id TEXT PRIMARY KEY, payload TEXT NOT NULL, forwarded INTEGER NOT NULL DEFAULT 0,"
        " received_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))"
    )
    # Rows now leave the inbox once queued; earlier releases kept them, marked `forwarded`.
    db.execute("DELETE FROM inbox WHERE forwarded = 1")
    db.commit()
    return db
