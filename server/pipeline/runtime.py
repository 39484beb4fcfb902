"""Start and stop the durable-execution runtime (DBOS) for this process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from pathlib import Path

from dbos import DBOS, DBOSConfig, Queue

from server.config import Secrets, Settings
from server.connectors import Connectors
from server.metrics import Metrics
from server.pipeline import job_queue, services
from server.pipeline import workflow as pipeline
from server.pipeline.intake import DirectIntake, Intake, forward_leftover_inbox
from server.pipeline.sqlite_writer import SQLiteWriter
from tools.workspace import Workspaces

log = logging.getLogger("autofixer.runtime")


def dbos_config(settings: Settings) -> DBOSConfig:
    return {
        "name": "autofixer",
        "system_database_url": settings.system_database_url,
        # DBOS only resumes jobs of its current application version. Pinned to the workflow's
        # shape (not DBOS's code hash, not our release), so an upgrade still runs the jobs the
        # previous release accepted; bump pipeline.WORKFLOW_VERSION only when the order of the
        # workflow's steps changes, since an old job could not replay against a new order.
        "application_version": pipeline.WORKFLOW_VERSION,
        "log_level": "WARNING",
    }


def start(settings: Settings, secrets: Secrets, metrics: Metrics, built: Connectors | None = None) -> None:
    """Launch DBOS (recovering jobs a previous process left unfinished); the jobs use `built`,
    the connectors the process already made, when given."""
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    _prefer_wal(settings.system_database_url)
    # A spare worktree per worker: a burst of jobs on one repository finds one each.
    workspaces = Workspaces(settings.state_dir, spares=settings.worker.concurrency)
    # Before any job resumes: a killed process leaves worktrees behind, and resumed jobs check out anew.
    if leftovers := workspaces.sweep(jobs=True):
        log.info("removed %d worktree(s) left by an earlier process", len(leftovers))
    services.configure(services.Services.build(settings, secrets, metrics, workspaces, built))
    if adopted := adopt_compatible_jobs(settings.system_database_url):
        log.info("adopted %d unfinished job(s) of an earlier compatible release", adopted)
    DBOS(config=dbos_config(settings))
    DBOS.launch()


async def register_queue(settings: Settings) -> Queue:
    return await DBOS.register_queue_async(
        pipeline.QUEUE_NAME,
        worker_concurrency=settings.worker.concurrency,
        polling_interval_sec=settings.worker.poll_interval_seconds,
    )


async def open_intake(settings: Settings) -> Intake:
    """Webhooks queue jobs through a group-committing intake: on the embedded SQLite store its
    batches are written by a writer process, on Postgres by a worker thread (intake.py)."""
    queue = await register_queue(settings)
    if queued := await asyncio.to_thread(forward_leftover_inbox, settings.state_dir / "inbox.sqlite",
                                         job_queue.enqueue_new):
        log.info("queued %d delivery(ies) an earlier release had accepted into its inbox", queued)
    intake: DirectIntake
    if (database := _sqlite_file(settings.system_database_url)) is not None:
        writer = SQLiteWriter(database)
        await writer.start()

        async def write(jobs: list[job_queue.Job]) -> set[str]:
            return await writer.enqueue_new(job_queue.prepare_enqueue(jobs))

        intake = DirectIntake(queue, write, close_writer=writer.close)
    else:
        intake = DirectIntake(queue, lambda jobs: asyncio.to_thread(job_queue.enqueue_new, jobs))
    await intake.start()
    return intake


def adopt_compatible_jobs(url: str) -> int:
    """Move unfinished jobs of a compatible earlier workflow version onto the current one.

    DBOS resumes and dequeues only workflows of its own application version. A version listed in
    pipeline.COMPATIBLE_VERSIONS recorded a prefix of today's step sequence, so its jobs replay
    their finished steps and continue with the new ones; without this they would wait forever.
    Runs before DBOS launches, so no worker can pick a job up in between.
    """
    import sqlalchemy as sa

    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url, table = "postgresql+psycopg://" + url.split("://", 1)[1], "dbos.workflow_status"
    else:
        table = "workflow_status"
    engine = sa.create_engine(url)
    try:
        try:
            conn = engine.connect()
        except sa.exc.OperationalError:  # no database yet (DBOS creates it at launch): nothing to adopt
            return 0
        with conn, conn.begin():
            if not sa.inspect(conn).has_table("workflow_status", schema="dbos" if "." in table else None):
                return 0
            result = conn.execute(
                sa.text(f"UPDATE {table} SET application_version = :current "
                        "WHERE application_version IN :old AND status IN ('PENDING', 'ENQUEUED')")
                .bindparams(sa.bindparam("old", expanding=True)),
                {"current": pipeline.WORKFLOW_VERSION, "old": list(pipeline.COMPATIBLE_VERSIONS)},
            )
            return int(result.rowcount or 0)
    finally:
        engine.dispose()


def _sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite job store's URL; None for another store."""
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None


def _prefer_wal(url: str) -> None:
    """Put a SQLite job store in WAL mode (a property of the file, so it sticks).

    DBOS opens SQLite in rollback-journal mode, where every enqueue waits for readers and
    pays several fsyncs; in WAL mode readers never block the writer and a commit is one
    append, which is what keeps webhook acks fast while workers poll the same file.
    """
    if (path := _sqlite_file(url)) is None:
        return
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA journal_mode=WAL")


def stop() -> None:
    DBOS.destroy(destroy_registry=False)


async def queue_depth() -> dict[str, int]:
    return await asyncio.to_thread(job_queue.depth)
