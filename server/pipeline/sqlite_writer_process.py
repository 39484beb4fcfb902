"""The SQLite writer's child process (see sqlite_writer.py): runs each batch of statements it is
sent in one `BEGIN IMMEDIATE` transaction and answers with the job ids it inserted.

Run by path with `python -I -S`, so it must import nothing but the standard library. Frames both
ways: a 4-byte big-endian length, then JSON. Exits when its stdin closes.
"""

from __future__ import annotations

import contextlib
import json
import signal
import sqlite3
import struct
import sys
from typing import Any, BinaryIO

LENGTH = struct.Struct(">I")


def _read_frame(stream: BinaryIO) -> dict[str, Any] | None:
    head = stream.read(LENGTH.size)
    if len(head) < LENGTH.size:
        return None  # stdin closed: the service stopped or died
    body = stream.read(LENGTH.unpack(head)[0])
    return dict(json.loads(body))


def _write_frame(stream: BinaryIO, message: dict[str, Any]) -> None:
    body = json.dumps(message).encode()
    stream.write(LENGTH.pack(len(body)) + body)
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
