"""The job queue in bulk: queue many fix jobs in one transaction, see which exist, count the queue.

DBOS's public enqueue commits once per job, and its queue listing loads every queued row; the
intake hands off hundreds of deliveries a second and /metrics is scraped while the queue is deep.
DBOS builds queue rows for its own Kafka consumer with `prepare_enqueued_workflow` and writes
them into a caller's transaction with `SystemDatabase.init_workflow_with_connection` (what
`DBOSClient.enqueue_in_transaction` uses): those are internal to the DBOS version pinned in
requirements.lock, so they are reached from this module only, and tests/test_job_queue.py
exercises them against a real DBOS job store.

Every function here blocks (it talks to the database): call it from a worker thread.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from dbos._core import prepare_enqueued_workflow
from dbos._dbos import _get_dbos_instance

from server.pipeline import workflow as pipeline

Job = tuple[str, dict[str, Any]]  # (job id, the workflow's request)
_LIVE = ("DELAYED", "ENQUEUED", "PENDING")  # waiting (delayed or queued), or running


def enqueue_new(jobs: list[Job]) -> set[str]:
    """Queue each job under its id, all in one transaction; an id that already has a job (in any
    state) keeps it untouched, which makes a repeated hand-off harmless. The ids queued now."""
    if not jobs:
        return set()
    dbos = _get_dbos_instance()
    sys_db = dbos._sys_db
    queued: set[str] = set()
    # Row by row on statements compiled once: a multi-row VALUES (init_workflows) is compiled
    # anew for every batch, which costs four times the CPU per job, all of it under the GIL.
    with sys_db.engine.begin() as conn:
        for job_id, request in jobs:
            status = prepare_enqueued_workflow(dbos, pipeline.fix_issue, (request,), {},
                                               queue_name=pipeline.QUEUE_NAME, workflow_id=job_id)
            # A fresh creator token tells a row inserted now from one that was already there.
            _, inserted = sys_db.init_workflow_with_connection(status, conn, creator_xid=uuid.uuid4().hex)
            if inserted:
                queued.add(job_id)
    return queued


def existing(job_ids: list[str]) -> set[str]:
    """Which of these ids have a job, in one query (compiled once, whatever the number of ids)."""
    if not job_ids:
        return set()
    sys_db = _get_dbos_instance()._sys_db
    status = sys_db.tables.workflow_status
    query = sa.select(status.c.workflow_uuid).where(status.c.workflow_uuid.in_(sa.bindparam("ids", expanding=True)))
    with sys_db.engine.connect() as conn:
        return {str(job_id) for job_id in conn.execute(query, {"ids": job_ids}).scalars()}


def depth() -> dict[str, int]:
    """Jobs of the fix queue waiting (queued) and running, counted by the database: one query
    whatever the queue's length."""
    sys_db = _get_dbos_instance()._sys_db
    status = sys_db.tables.workflow_status
    query = (sa.select(status.c.status, sa.func.count())
             .where(status.c.queue_name == pipeline.QUEUE_NAME, status.c.status.in_(_LIVE))
             .group_by(status.c.status))
    with sys_db.engine.connect() as conn:
        counts: dict[str, int] = {str(state): int(n) for state, n in conn.execute(query).tuples()}
    running = counts.pop("PENDING", 0)
    return {"queued": sum(counts.values()), "running": running}
