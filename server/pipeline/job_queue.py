"""The job queue in bulk: queue many fix jobs in one transaction, count the queue.

DBOS's public enqueue commits once per job, and its queue listing loads every queued row; the
intake hands off hundreds of deliveries a second and /metrics is scraped while the queue is deep.
DBOS builds queue rows for its own Kafka consumer with `prepare_enqueued_workflow` and batch-inserts
them with `SystemDatabase.init_workflows`; we write the same rows, more cheaply. Those are
internal to the DBOS version pinned in requirements.lock, so they are reached from this module
only, and tests/test_job_queue.py checks them against a real DBOS job store and DBOS's own rows.

Every function here but `prepare_enqueue` blocks (it talks to the database): call it from a
worker thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from dbos._core import prepare_enqueued_workflow
from dbos._dbos import _get_dbos_instance
from dbos._schemas import SCHEMA_PLACEHOLDER
from dbos._sys_db import SystemDatabase, WorkflowStatusInternal

from server.pipeline import workflow as pipeline

Job = tuple[str, dict[str, Any]]  # (job id, the workflow's request)
_LIVE = ("DELAYED", "ENQUEUED", "PENDING")  # waiting (delayed or queued), or running


def enqueue_new(jobs: list[Job]) -> set[str]:
    """Queue each job under its id, all in one transaction; an id that already has a job (in any
    state) keeps it untouched, which makes a repeated hand-off harmless. The ids queued now."""
    if not jobs:
        return set()
    sys_db = _get_dbos_instance()._sys_db
    now_ms = int(time.time() * 1000)
    statuses = _statuses(jobs)
    insert_status, insert_input = _inserts(sys_db)
    # One single-row statement executed for the whole list: SQLAlchemy's "insertmanyvalues" sends
    # it in pages, compiled once per call. DBOS's own inserts compile per row on SQLite, and its
    # batch insert (init_workflows) compiles one VALUES clause of every row: either costs several
    # times the CPU per job.
    with sys_db.engine.begin() as conn:
        sys_db._apply_caller_schema(conn)
        queued = {str(job_id) for job_id in
                  conn.execute(insert_status, [_status_row(sys_db, s, now_ms) for s in statuses]).scalars()}
        if queued:
            conn.execute(insert_input, [_input_row(sys_db, s, now_ms) for s in statuses
                                        if s["workflow_uuid"] in queued])
    return queued


@dataclass(frozen=True)
class PreparedEnqueue:
    """`enqueue_new` as plain SQL and parameters, for a writer outside this interpreter (the
    SQLite writer process): run `status_sql` per job; it returns the job id only when it inserted
    the job, and then `input_sql` stores the job's input."""

    status_sql: str
    input_sql: str
    rows: list[tuple[list[Any], list[Any]]]  # (status parameters, input parameters) per job


def prepare_enqueue(jobs: list[Job]) -> PreparedEnqueue:
    """Pure CPU (no database access): cheap enough for the event loop."""
    sys_db = _get_dbos_instance()._sys_db
    now_ms = int(time.time() * 1000)
    rows = [(_status_row(sys_db, s, now_ms), _input_row(sys_db, s, now_ms)) for s in _statuses(jobs)]
    if not rows:
        return PreparedEnqueue("", "", [])
    status_sql, input_sql = _compiled(sys_db, 0, rows[0][0]), _compiled(sys_db, 1, rows[0][1])
    return PreparedEnqueue(status_sql.sql, input_sql.sql,
                           [(status_sql.parameters(status), input_sql.parameters(inputs)) for status, inputs in rows])


def _statuses(jobs: list[Job]) -> list[WorkflowStatusInternal]:
    dbos = _get_dbos_instance()
    return [prepare_enqueued_workflow(dbos, pipeline.fix_issue, (request,), {}, queue_name=pipeline.QUEUE_NAME,
                                      workflow_id=job_id) for job_id, request in jobs]


def _inserts(sys_db: SystemDatabase) -> tuple[Any, Any]:
    """INSERT … ON CONFLICT DO NOTHING into the status table (returning the id of a row it
    inserted) and into the input table."""
    status_table, input_table = sys_db.tables.workflow_status, sys_db.tables.workflow_input
    conflict = sys_db._key_conflict("workflow_uuid")
    return (sys_db.dialect.insert(status_table).on_conflict_do_nothing(index_elements=conflict)
            .returning(status_table.c.workflow_uuid),
            sys_db.dialect.insert(input_table).on_conflict_do_nothing(index_elements=conflict))


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]  # the positional parameters' column names, in order
    processors: dict[str, Callable[[Any], Any]]  # the columns' bind processors (what SQLAlchemy applies)

    def parameters(self, row: dict[str, Any]) -> list[Any]:
        return [self.processors[n](row[n]) if n in self.processors else row[n] for n in self.names]


_COMPILED: dict[tuple[str, str | None, int, tuple[str, ...]], _Compiled] = {}


def _compiled(sys_db: SystemDatabase, which: int, row: dict[str, Any]) -> _Compiled:
    """`_inserts(sys_db)[which]` for these columns as the store's dialect renders it, compiled
    once per dialect, schema and set of columns (all the SQL depends on)."""
    dialect = sys_db.engine.dialect
    key = (dialect.name, sys_db.schema, which, tuple(row))
    if (found := _COMPILED.get(key)) is None:
        compiled = _inserts(sys_db)[which].compile(dialect=dialect, column_keys=list(row),
                                                   schema_translate_map={SCHEMA_PLACEHOLDER: sys_db.schema},
                                                   render_schema_translate=True)
        if not compiled.positiontup:
            raise ValueError(f"{dialect.name}: a writer process needs positional parameters")
        processors = {name: processor for name, bind in compiled.binds.items()
                      if (processor := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None}
        found = _COMPILED[key] = _Compiled(str(compiled), tuple(compiled.positiontup), processors)
    return found


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
