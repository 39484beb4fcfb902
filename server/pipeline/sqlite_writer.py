"""The embedded SQLite job store's writer for new jobs: a small child process.

Why a process: a webhook is answered once its job is committed, and on SQLite that commit ran in
a worker thread of the service. sqlite3 lets go of the GIL around every statement step, and each
time it wanted it back the event loop was busy parsing the next requests: a batch of 8 jobs took
4.5 ms in the thread, against 1.3 ms for one of 4.6 written on the loop itself, fsync included
(bench/webhook.py, issue 16), and that serial commit capped the whole intake. This process owns
no GIL the event loop needs: the service prepares the SQL and its parameters
(`job_queue.prepare_enqueue`, pure CPU), sends them here over a pipe and awaits the answer; the
commit, its fsync and SQLite's write lock all happen here, beside the event loop.

The child knows nothing of DBOS: it runs the given statements in one `BEGIN IMMEDIATE`
transaction with the same pragmas DBOS's own connections use, and answers with the ids it
inserted. It exits when its stdin closes, which includes the service dying. If it dies itself,
the batch in flight fails (its deliveries get 503s and are retried by the trackers), and the
next batch starts a new writer.

The child's program is sqlite_writer_process.py, run by path with `python -I -S`: standard
library only, so it costs about 11 MiB, not a second copy of the service.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path

from server.pipeline import sqlite_writer_process as child
from server.pipeline.job_queue import PreparedEnqueue

log = logging.getLogger("autofixer.intake")


class WriterFailed(Exception):
    """The batch was not stored (the writer died, or SQLite refused it)."""


class SQLiteWriter:
    """The service's side: one batch at a time (the intake's group commit sends them in turn)."""

    def __init__(self, database: Path) -> None:
        self.database = database
        self._proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        await self._running()  # now, not on the first delivery

    async def enqueue_new(self, prepared: PreparedEnqueue) -> set[str]:
        if not prepared.rows:
            return set()
        proc = await self._running()
        assert proc.stdin is not None and proc.stdout is not None
        request = json.dumps({"status_sql": prepared.status_sql, "input_sql": prepared.input_sql,
                              "rows": prepared.rows}).encode()
        try:
            proc.stdin.write(child.LENGTH.pack(len(request)) + request)
            await proc.stdin.drain()
            size = child.LENGTH.unpack(await proc.stdout.readexactly(child.LENGTH.size))[0]
            answer = json.loads(await proc.stdout.readexactly(size))
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            self._proc = None
            raise WriterFailed(f"the job-store writer process exited ({type(exc).__name__})") from exc
        if "error" in answer:
            raise WriterFailed(f"the job store refused the batch: {answer['error']}")
        return set(answer["queued"])

    async def _running(self) -> asyncio.subprocess.Process:
        if self._proc is not None and self._proc.returncode is None:
            return self._proc
        if self._proc is not None:
            log.warning("the job-store writer process exited (%s); starting a new one", self._proc.returncode)
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable, "-I", "-S", child.__file__, str(self.database),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        return self._proc

    async def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.returncode is not None:
            return
        assert proc.stdin is not None
        proc.stdin.close()  # the writer finishes the batch it has, then exits
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()
