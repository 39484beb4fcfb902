"""Durable intake: how an accepted webhook becomes a queued fix job before we answer 202.

`accept(job_id, request) -> True if new, False if a job with this id exists already` is group
committed: the deliveries that arrive while one batch is being written go into the next, one
transaction for the lot, written away from the event loop so it keeps answering. A delivery is
acknowledged only once its job is committed to the job queue.

How a batch is written depends on the store (server/pipeline/runtime.open_intake):

* PostgreSQL: `job_queue.enqueue_new` in a worker thread (psycopg gives up the GIL a few times a
  batch, once per round trip).
* The embedded SQLite store: the statements go to a writer process (server/pipeline/sqlite_writer.py).

Releases before this one wrote deliveries to an inbox file first and handed them over in the
background; `forward_leftover_inbox` queues what such a release accepted and left there.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from dbos import Queue

from server.pipeline.job_queue import Job

log = logging.getLogger("autofixer.intake")

WriteJobs = Callable[[list[Job]], Awaitable[set[str]]]  # queue these jobs; the ids it queued now


class Intake(Protocol):
    queue: Queue

    async def accept(self, job_id: str, request: dict[str, Any]) -> bool: ...

    def healthy(self) -> bool: ...

    async def close(self) -> None: ...


@dataclass
class _Delivery:
    job_id: str
    request: dict[str, Any]
    done: asyncio.Future[bool] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class GroupCommit:
    """Batches concurrent deliveries: `write(jobs)` runs on everything that arrived while the
    previous batch was being written, each job id once."""

    def __init__(self, write: WriteJobs, name: str) -> None:
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
            first = _first_of_each_id(batch)
            try:
                queued = await self._write([(d.job_id, d.request) for d, f in zip(batch, first, strict=True) if f])
            except Exception as exc:  # the disk is full or the store is gone: these were not stored
                log.exception("%s failed for %d delivery(ies)", self._name, len(batch))
                for delivery in batch:
                    if not delivery.done.done():  # the client may have hung up meanwhile
                        delivery.done.set_exception(exc)
                continue
            for delivery, is_first in zip(batch, first, strict=True):
                if not delivery.done.done():  # a disconnect cancels the waiting request
                    delivery.done.set_result(is_first and delivery.job_id in queued)


def _first_of_each_id(batch: list[_Delivery]) -> list[bool]:
    """True for the first delivery of each job id in the batch: later ones are duplicates."""
    seen: set[str] = set()
    first = []
    for delivery in batch:
        first.append(delivery.job_id not in seen)
        seen.add(delivery.job_id)
    return first


class DirectIntake:
    def __init__(self, queue: Queue, write: WriteJobs, *, close_writer: Callable[[], Awaitable[None]] | None = None
                 ) -> None:
        self.queue = queue
        self._commits = GroupCommit(write, "job-queue group commit")
        self._close_writer = close_writer

    async def start(self) -> None:
        self._commits.start()

    async def accept(self, job_id: str, request: dict[str, Any]) -> bool:
        return await self._commits.submit(job_id, request)

    def healthy(self) -> bool:
        """False when the commit loop has died: the service would then accept nothing more."""
        return self._commits.task is not None and not self._commits.task.done()

    async def close(self) -> None:
        task = self._commits.task
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._close_writer is not None:
            await self._close_writer()


def forward_leftover_inbox(path: Path, enqueue_new: Callable[[list[Job]], set[str]], batch: int = 500) -> int:
    """Queue the deliveries an earlier release acknowledged into its inbox file and had not handed
    over yet, then remove the file. Blocking; idempotent (a job that exists stays as it is), so a
    crash half-way simply forwards again at the next start. How many were queued now."""
    if not path.exists():
        return 0
    queued = 0
    with contextlib.closing(sqlite3.connect(path)) as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(inbox)")}
        if columns:
            # Some releases kept forwarded rows, marked; later ones deleted them.
            where = " WHERE forwarded = 0" if "forwarded" in columns else ""
            rows = db.execute(f"SELECT job_id, payload FROM inbox{where} ORDER BY rowid").fetchall()
            for start in range(0, len(rows), batch):
                jobs = [(str(job_id), json.loads(payload)) for job_id, payload in rows[start:start + batch]]
                queued += len(enqueue_new(jobs))
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    return queued
