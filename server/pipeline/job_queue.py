"""The job queue in bulk: queue many fix jobs in one transaction, see which exist, count the queue.

DBOS's public enqueue commits once per job, and its queue listing loads every queued row; the
intake hands off hundreds of deliveries a second and /metrics is scraped while the queue is deep.
DBOS builds queue rows for its own Kafka consumer with `prepare_enqueued_workflow` and batch-inserts
them with `SystemDatabase.init_workflows`; we write the same rows, more cheaply. Those are
internal to the DBOS version pinned in requirements.lock, so they are reached from this module
only, and tests/test_job_queue.py checks them against a real DBOS job store and DBOS's own rows.

Every function here blocks (it talks to the database): call it from a worker thread.
"""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
from dbos._core import prepare_enqueued_workflow
from dbos._dbos import _get_dbos_instance
from dbos._sys_db import SystemDatabase, WorkflowStatusInternal

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
    now_ms = int(time.time() * 1000)
    statuses = [prepare_enqueued_workflow(dbos, pipeline.fix_issue, (request,), {},
                                          queue_name=pipeline.QUEUE_NAME, workflow_id=job_id)
                for job_id, request in jobs]
    status_table, input_table = sys_db.tables.workflow_status, sys_db.tables.workflow_input
    conflict = sys_db._key_conflict("workflow_uuid")
    # One single-row statement executed for the whole list: SQLAlchemy's "insertmanyvalues" sends
    # it in pages, compiled once per call. DBOS's own inserts compile per row on SQLite, and its
    # batch insert (init_workflows) compiles one VALUES clause of every row: either costs several
    # times the CPU per job, under the GIL the webhook answers with.
    insert_status = (sys_db.dialect.insert(status_table).on_conflict_do_nothing(index_elements=conflict)
                     .returning(status_table.c.workflow_uuid))
    insert_input = sys_db.dialect.insert(input_table).on_conflict_do_nothing(index_elements=conflict)
    with sys_db.engine.begin() as conn:
        sys_db._apply_caller_schema(conn)
        queued = {str(job_id) for job_id in
                  conn.execute(insert_status, [_status_row(sys_db, s, now_ms) for s in statuses]).scalars()}
        if queued:
            conn.execute(insert_input, [_input_row(sys_db, s, now_ms) for s in statuses
                                        if s["workflow_uuid"] in queued])
    return queued


def _status_row(sys_db: SystemDatabase, status: WorkflowStatusInternal, now_ms: int) -> dict[str, Any]:
    """The row DBOS's batch enqueue (`SystemDatabase.init_workflows`) writes for an ENQUEUED job;
    tests/test_job_queue.py compares the two, column by column."""
    return {
        **sys_db._wf_values(status["workflow_uuid"], shard_key=status["shard_key"]),
        "workflow_uuid": status["workflow_uuid"],
        "status": status["status"],
        "name": status["name"],
        "class_name": status["class_name"],
        "config_name": status["config_name"],
        "executor_id": status["executor_id"],
        "application_version": status["app_version"],
        "application_id": status["app_id"],
        "authenticated_user": status["authenticated_user"],
        "authenticated_roles": status["authenticated_roles"],
        "assumed_role": status["assumed_role"],
        "queue_name": status["queue_name"],
        "recovery_attempts": 0,
        "workflow_timeout_ms": status["workflow_timeout_ms"],
        "workflow_deadline_epoch_ms": status["workflow_deadline_epoch_ms"],
        "deduplication_id": None,
        "priority": status["priority"],
        "serialization": status["serialization"],
        "queue_partition_key": status["queue_partition_key"],
        "parent_workflow_id": status["parent_workflow_id"],
        **sys_db._parent_values(status["parent_workflow_id"]),
        "creator_xid": None,
        "delay_until_epoch_ms": status["delay_until_epoch_ms"],
        "attributes": status["attributes"],
        "schedule_name": status["schedule_name"],
        "application_name": status["application_name"],
        "created_at": now_ms,
        "updated_at": now_ms,
    }


def _input_row(sys_db: SystemDatabase, status: WorkflowStatusInternal, now_ms: int) -> dict[str, Any]:
    return {
        **sys_db._wf_values(status["workflow_uuid"], shard_key=status["shard_key"]),
        "workflow_uuid": status["workflow_uuid"],
        "inputs": status["inputs"],
        "retention_timestamp": now_ms,
    }


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
