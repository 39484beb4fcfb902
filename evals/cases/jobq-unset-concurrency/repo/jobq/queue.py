"""The job queue (Redis in production; an in-process queue with the same interface here)."""

from __future__ import annotations

import queue
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Job:
    id: str
    payload: dict[str, Any]
    attempts: int = 0


@dataclass
class JobQueue:
    name: str
    _items: "queue.Queue[Job]" = field(default_factory=queue.Queue)
    dead: list[Job] = field(default_factory=list)

    def put(self, job: Job) -> None:
        self._items.put(job)

    def get(self, timeout: float) -> Job | None:
        try:
            return self._items.get(timeout=timeout)
        except queue.Empty:
            return None

    def done(self) -> None:
        self._items.task_done()

    def join(self) -> None:
        self._items.join()
