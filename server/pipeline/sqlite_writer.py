"""The embedded SQLite job store's writer for new jobs: a small child process.

Why a process: a webhook is answered once its job is committed, and on SQLite that commit ran in
a worker thread of the service. sqlite3 lets go of the GIL around every statement step, and each
time it wanted it back the event loop was busy parsing the next requests: a batch of 8 jobs took
4.5 ms instead of 1.3 (bench/webhook.py, issue 16), and that serial commit capped the whole
intake. This process owns no GIL the event loop needs: the service prepares the SQL and its
parameters (`job_queue.prepare_enqueue`, pure CPU), sends them here over a pipe and awaits the
answer; the commit, its fsync and SQLite's write lock all happen here, beside the event loop.

The child knows nothing of DBOS: it runs the given statements in one `BEGIN IMMEDIATE`
transaction with the same pragmas DBOS's own connections use, and answers with the ids it
inserted. It exits when its stdin closes, which includes the service dying. If it dies itself,
the batch in flight fails (its deliveries get 503s and are retried by the trackers), and the
next batch starts a new writer.

Frames both ways: a 4-byte big-endian length, then JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sqlite3
import struct
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:  # the child process imports nothing but the standard library
    from server.pipeline.job_queue import PreparedEnqueue

log = logging.getLogger("autofixer.intake")

_LENGTH = struct.Struct(">I")


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
            proc.stdin.write(_LENGTH.pack(len(request)) + request)
            await proc.stdin.drain()
            size = _LENGTH.unpack(await proc.stdout.readexactly(_LENGTH.size))[0]
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
            sys.executable, "-m", "server.pipeline.sqlite_writer", str(self.database),
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


# --- the child process ------------------------------------------------------------------------------


def _read_frame(stream: BinaryIO) -> dict[str, Any] | None:
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None  # stdin closed: the service stopped or died
    body = stream.read(_LENGTH.unpack(head)[0])
    return dict(json.loads(body))


def _write_frame(stream: BinaryIO, message: dict[str, Any]) -> None:
    body = json.dumps(message).encode()
    stream.write(_LENGTH.pack(len(body)) + body)
    stream.flush()


def _enqueue(db: sqlite3.Connection, request: dict[str, Any]) -> list[str]:
    queued: list[str] = []
    db.execute("BEGIN IMMEDIATE")
    try:
        for status, inputs in request["rows"]:
            # RETURNING gives a row only when the job was inserted: an existing id keeps its job.
            inserted = db.execute(request["status_sql"], status).fetchall()
            if inserted:
                db.execute(request["input_sql"], inputs)
                queued.append(str(inserted[0][0]))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return queued


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the service stops us
    db = sqlite3.connect(argv[0], isolation_level=None, timeout=30)  # transactions are ours
    db.execute("PRAGMA busy_timeout=30000")  # as DBOS's connections: ride out the workers' writes
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA synchronous=FULL")  # an acknowledged delivery survives power loss too
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while (request := _read_frame(stdin)) is not None:
        try:
            answer: dict[str, Any] = {"queued": _enqueue(db, request)}
        except sqlite3.Error as exc:
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        with contextlib.suppress(BrokenPipeError):
            _write_frame(stdout, answer)
    db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
