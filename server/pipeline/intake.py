"""Durable intake: how an accepted webhook becomes a queued fix job before we answer 202.

Two ways, one interface (`accept(job_id, request) -> True if new, False if a duplicate`):

* `DirectIntake` enqueues the DBOS workflow in the request. Right for Postgres, which takes
  concurrent writers in stride and is shared by every replica.
* `InboxIntake` is for the embedded SQLite store, where each DBOS enqueue is its own
  transaction behind SQLite's single write lock, shared with the workers' bookkeeping. It
  commits deliveries to a small inbox table in a file of its own, many per transaction (group
  commit: whatever arrived while the previous commit was syncing goes in the next one), answers,
  and then forwards each new delivery to DBOS under the same workflow id. A delivery is in the
  inbox (fsynced) before it is acknowledged; after a crash, rows not yet forwarded are
  forwarded at start-up, and forwarding twice is harmless because the workflow id is the
  idempotency key.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from dbos import Queue, SetWorkflowID
from dbos import error as dbos_error

from server.pipeline import workflow as pipeline

log = logging.getLogger("autofixer.intake")


class Intake(Protocol):
    queue: Queue

    async def accept(self, job_id: str, request: dict[str, Any]) -> bool: ...

    async def pending(self) -> int: ...

    async def awaiting_queue(self, job_id: str) -> bool: ...

    def healthy(self) -> bool: ...

    async def close(self) -> None: ...


class DirectIntake:
    def __init__(self, queue: Queue) -> None:
        self.queue = queue

    async def accept(self, job_id: str, request: dict[str, Any]) -> bool:
        try:
            with SetWorkflowID(job_id, workflow_id_reuse_policy="reject"):
                await self.queue.enqueue_async(pipeline.fix_issue, request)
        except dbos_error.DBOSWorkflowIDInUseError:
            return False
        return True

    async def pending(self) -> int:
        return 0

    async def awaiting_queue(self, job_id: str) -> bool:
        return False

    def healthy(self) -> bool:
        return True

    async def close(self) -> None:
        return None


@dataclass
class _Delivery:
    job_id: str
    payload: str
    done: asyncio.Future[bool] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class InboxIntake:
    def __init__(self, path: Path, queue: Queue) -> None:
        self.path = path
        self.queue = queue
        self._db = _open_inbox(path)
        self._db_lock = threading.Lock()  # the commit and forward loops share one connection
        self._incoming: asyncio.Queue[_Delivery] = asyncio.Queue()
        self._to_forward: asyncio.Queue[str] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        for job_id in await asyncio.to_thread(self._unforwarded):
            self._to_forward.put_nowait(job_id)
        if self._to_forward.qsize():
            log.info("forwarding %d delivery(ies) accepted before the last stop", self._to_forward.qsize())
        self._tasks = [asyncio.create_task(self._commit_loop()), asyncio.create_task(self._forward_loop())]

    async def accept(self, job_id: str, request: dict[str, Any]) -> bool:
        delivery = _Delivery(job_id, json.dumps(request))
        self._incoming.put_nowait(delivery)
        return await delivery.done

    async def pending(self) -> int:
        return self._to_forward.qsize()

    async def awaiting_queue(self, job_id: str) -> bool:
        """Accepted and stored in the inbox, not yet handed to the job queue."""
        return await asyncio.to_thread(self._is_unforwarded, job_id)

    def healthy(self) -> bool:
        """False when a loop has died: the service would then accept nothing more."""
        return all(not task.done() for task in self._tasks)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._db.close()

    # --- group commit ---------------------------------------------------------------------------

    async def _commit_loop(self) -> None:
        while True:
            batch = [await self._incoming.get()]
            while not self._incoming.empty():
                batch.append(self._incoming.get_nowait())
            try:
                new = await asyncio.to_thread(self._commit, batch)
            except Exception as exc:  # the disk is full or gone: these deliveries were not stored
                log.exception("inbox commit failed for %d delivery(ies)", len(batch))
                for delivery in batch:
                    if not delivery.done.done():  # the client may have hung up meanwhile
                        delivery.done.set_exception(exc)
                continue
            for delivery, is_new in zip(batch, new, strict=True):
                if is_new:  # stored: it is forwarded even if its client has gone away
                    self._to_forward.put_nowait(delivery.job_id)
                if not delivery.done.done():  # a disconnect cancels the waiting request
                    delivery.done.set_result(is_new)

    def _commit(self, batch: list[_Delivery]) -> list[bool]:
        new: list[bool] = []
        with self._db_lock, self._db:  # one transaction, one fsync, for the whole batch
            for delivery in batch:
                cursor = self._db.execute(
                    "INSERT OR IGNORE INTO inbox (job_id, payload) VALUES (?, ?)", (delivery.job_id, delivery.payload)
                )
                new.append(cursor.rowcount == 1)
        return new

    # --- forwarding to DBOS ---------------------------------------------------------------------

    async def _forward_loop(self) -> None:
        while True:
            job_id = await self._to_forward.get()
            try:
                payload = await asyncio.to_thread(self._payload, job_id)
                with SetWorkflowID(job_id):  # the default policy returns the existing job: idempotent
                    await self.queue.enqueue_async(pipeline.fix_issue, json.loads(payload))
                await asyncio.to_thread(self._mark_forwarded, job_id)
            except asyncio.CancelledError:
                raise
            except Exception:  # the job store is down: keep the row, try again shortly
                log.exception("could not queue job %s yet; retrying", job_id)
                await asyncio.sleep(1)
                self._to_forward.put_nowait(job_id)

    def _payload(self, job_id: str) -> str:
        with self._db_lock:
            row = self._db.execute("SELECT payload FROM inbox WHERE job_id = ?", (job_id,)).fetchone()
        return str(row[0])

    def _mark_forwarded(self, job_id: str) -> None:
        with self._db_lock, self._db:
            self._db.execute("UPDATE inbox SET forwarded = 1 WHERE job_id = ?", (job_id,))

    def _is_unforwarded(self, job_id: str) -> bool:
        with self._db_lock:
            row = self._db.execute("SELECT forwarded FROM inbox WHERE job_id = ?", (job_id,)).fetchone()
        return row is not None and row[0] == 0

    def _unforwarded(self) -> list[str]:
        with self._db_lock:
            return [r[0] for r in self._db.execute("SELECT job_id FROM inbox WHERE forwarded = 0 ORDER BY rowid")]


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
    db.commit()
    return db
