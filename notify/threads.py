"""Which chat message started the conversation about an issue, kept across jobs and restarts.

Slack threads a reply under its parent's `ts`; a later job about the same issue (a regression, a
retry) must find the first job's `ts`, so it is kept in a small SQLite table under the state
directory. A row is written inside the checkpointed notify step, right after the post succeeds.
Several replicas on Postgres each keep their own file: threads then start once per replica.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path


class ThreadStore:
    def __init__(self, path: Path | None) -> None:
        self.path = path  # None: no state directory, nothing threads
        self._lock = threading.Lock()

    def _db(self) -> sqlite3.Connection:
        assert self.path is not None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=10)
        db.execute("CREATE TABLE IF NOT EXISTS chat_threads (key TEXT PRIMARY KEY, ts TEXT NOT NULL)")
        return db

    def get(self, key: str) -> str | None:
        if self.path is None:
            return None
        with self._lock, self._db() as db:
            row = db.execute("SELECT ts FROM chat_threads WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def remember(self, key: str, ts: str) -> None:
        """Keep the first message's ts; a later one (a race between two jobs) leaves it alone."""
        if self.path is None:
            return
        with self._lock, self._db() as db:
            db.execute("INSERT OR IGNORE INTO chat_threads (key, ts) VALUES (?, ?)", (key, ts))
