"""`jobq-worker [--once]`: run the thumbnail workers (with --once: drain and exit)."""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Mapping
from typing import Any

from jobq.pool import WorkerPool
from jobq.queue import Job, JobQueue
from jobq.settings import load_settings

log = logging.getLogger("jobq.cli")
THUMBNAILS: list[str] = []


def make_thumbnail(payload: dict[str, Any]) -> None:
    THUMBNAILS.append(f"{payload['image']}@{payload.get('size', 256)}")


def main(argv: list[str] | None = None, env: Mapping[str, str] | None = None, backlog: list[Job] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="jobq-worker")
    parser.add_argument("--once", action="store_true", help="drain the queue, then exit")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = load_settings(os.environ if env is None else env)
    jobs = JobQueue(settings.queue)
    for job in backlog or []:
        jobs.put(job)
    pool = WorkerPool(jobs, make_thumbnail, settings.concurrency, settings.max_attempts, settings.poll_seconds)
    pool.start()
    if args.once:
        jobs.join()
        pool.stop()
        log.info("drained %s: %d processed, %d dead", settings.queue, pool.processed, len(jobs.dead))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
