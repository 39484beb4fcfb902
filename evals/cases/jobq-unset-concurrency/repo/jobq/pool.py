"""A pool of worker threads draining one queue."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from jobq.queue import Job, JobQueue

log = logging.getLogger("jobq.pool")

Handler = Callable[[dict[str, Any]], None]


class WorkerPool:
    def __init__(self, jobs: JobQueue, handler: Handler, size: int, max_attempts: int, poll_seconds: float) -> None:
        self.jobs, self.handler = jobs, handler
        self.size, self.max_attempts, self.poll_seconds = size, max_attempts, poll_seconds
        self.processed = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        log.info("starting %s worker(s) on %s", self.size, self.jobs.name)
        for number in range(self.size):
            thread = threading.Thread(target=self._work, name=f"jobq-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _work(self) -> None:
        while not self._stop.is_set():
            job = self.jobs.get(timeout=self.poll_seconds)
            if job is None:
                continue
            try:
                self._run(job)
            finally:
                self.jobs.done()

    def _run(self, job: Job) -> None:
        job.attempts += 1
        try:
            self.handler(job.payload)
        except Exception:  # a failing job must not kill its worker thread
            log.exception("job %s failed (attempt %d)", job.id, job.attempts)
            if job.attempts < self.max_attempts:
                self.jobs.put(job)
            else:
                self.jobs.dead.append(job)
            return
        with self._lock:
            self.processed += 1
