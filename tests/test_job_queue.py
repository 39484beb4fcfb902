"""The job queue in bulk against a real DBOS job store (SQLite): batches are idempotent, the
depth is counted without loading jobs, the rows are DBOS's own, and the SQLite writer process
queues each job once and, killed, fails only the batch it was given.

Each scenario runs in a subprocess of its own: DBOS is one instance per process, and a crash
is an `os._exit` at the chosen point of the hand-off.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

# Real subprocesses: run in CI; `pytest -m "not slow"` skips them locally.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent('''
    import asyncio, json, os, signal, sys
    from pathlib import Path
    import sqlalchemy as sa
    from dbos import DBOS
    from dbos._dbos import _get_dbos_instance
    from server.pipeline import job_queue
    from server.pipeline.sqlite_writer import SQLiteWriter, WriterFailed

    state, mode = Path(sys.argv[1]), sys.argv[2]
    DBOS(config={"name": "job-queue-test", "system_database_url": f"sqlite:///{state / 'jobs.sqlite'}",
                 "log_level": "WARNING", "application_version": "v"})
    DBOS.launch()  # no queue is registered in this process: jobs stay queued, nothing runs them

    def request(i):
        return {"source": "sentry", "issue_id": str(i), "title": "boom", "trigger": "issue.created"}

    def rows():
        with _get_dbos_instance()._sys_db.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(
                "SELECT workflow_uuid, status, created_at FROM workflow_status ORDER BY workflow_uuid"))]

    def report(**values):
        print(json.dumps(values), flush=True)

    if mode == "bulk":
        first = job_queue.enqueue_new([(f"job-{i}", request(i)) for i in range(1200)])
        again = job_queue.enqueue_new([(f"job-{i}", request(i)) for i in range(1100, 1300)])
        statements = []
        engine = _get_dbos_instance()._sys_db.engine
        listen = lambda conn, cursor, sql, params, context, many: statements.append(sql)
        sa.event.listen(engine, "before_cursor_execute", listen)
        depth = job_queue.depth()
        sa.event.remove(engine, "before_cursor_execute", listen)
        report(first=len(first), again=sorted(again), depth=depth, statements=statements, rows=len(rows()))
    elif mode == "same-as-dbos":
        from dbos._core import prepare_enqueued_workflow
        from server.pipeline import workflow as pipeline
        dbos = _get_dbos_instance()
        job_queue.enqueue_new([("ours", request(7))])

        async def through_writer():
            writer = SQLiteWriter(state / "jobs.sqlite")
            await writer.start()
            queued = await writer.enqueue_new(job_queue.prepare_enqueue([("writer", request(7))]))
            await writer.close()
            return queued

        assert asyncio.run(through_writer()) == {"writer"}
        dbos._sys_db.init_workflows([prepare_enqueued_workflow(dbos, pipeline.fix_issue, (request(7),), {},
                                                               queue_name=pipeline.QUEUE_NAME, workflow_id="dbos")])
        def row(table, job_id):
            with dbos._sys_db.engine.connect() as conn:
                found = conn.execute(sa.text(f"SELECT * FROM {table} WHERE workflow_uuid = :id"), {"id": job_id})
                return dict(found.mappings().one())
        report(**{f"{table}:{job_id}": row(table, job_id) for table in ("workflow_status", "workflow_input")
                  for job_id in ("ours", "writer", "dbos")})
    elif mode == "writer":
        async def main():
            writer = SQLiteWriter(state / "jobs.sqlite")
            await writer.start()
            def jobs(*ids):
                return job_queue.prepare_enqueue([(f"job-{i}", request(i)) for i in ids])

            first = await writer.enqueue_new(jobs(*range(40)))
            again = await writer.enqueue_new(jobs(*range(30, 50)))
            os.kill(writer._proc.pid, signal.SIGKILL)  # the writer dies between two batches
            await writer._proc.wait()
            between = await writer.enqueue_new(jobs("between"))
            pid = writer._proc.pid
            os.kill(pid, signal.SIGSTOP)  # ... and now with a batch in flight
            in_flight = asyncio.ensure_future(writer.enqueue_new(jobs("lost")))
            await asyncio.sleep(0.3)
            os.kill(pid, signal.SIGKILL)
            try:
                await in_flight
                lost = "stored"
            except WriterFailed as exc:
                lost = str(exc)
            after = await writer.enqueue_new(jobs("after"))
            await writer.close()
            report(first=len(first), again=sorted(again), between=sorted(between), lost=lost, after=sorted(after),
                   ids=[row[0] for row in rows()])

        asyncio.run(main())
    DBOS.destroy()
''')


def _run(tmp_path: Path, mode: str, expect_exit: int = 0) -> list[dict[str, Any]]:
    script = tmp_path / "job_queue_script.py"
    script.write_text(SCRIPT)
    done = subprocess.run([sys.executable, str(script), str(tmp_path), mode], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == expect_exit, done.stderr[-3000:]
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def test_batches_are_idempotent_and_the_depth_is_one_count_query(tmp_path: Path) -> None:
    [result] = _run(tmp_path, "bulk")
    assert result["first"] == 1200
    assert result["again"] == [f"job-{i}" for i in range(1200, 1300)]  # the 100 already queued stay as they were
    assert result["rows"] == 1300
    assert result["depth"] == {"queued": 1300, "running": 0}
    # However deep the queue, /metrics costs one aggregate statement and loads no job.
    [sql] = result["statements"]
    assert "count(" in sql.lower() and "group by" in sql.lower() and "inputs" not in sql.lower()


def test_a_job_is_queued_with_the_rows_dbos_itself_writes(tmp_path: Path) -> None:
    """enqueue_new and the SQLite writer process write DBOS's batch-enqueue rows themselves
    (compiled once, not per row): the same columns and values as DBOS's own `init_workflows`,
    for the version pinned."""
    [rows] = _run(tmp_path, "same-as-dbos")
    when = {"workflow_uuid", "created_at", "updated_at", "retention_timestamp"}
    for table in ("workflow_status", "workflow_input"):
        theirs = rows[f"{table}:dbos"]
        for ours in (rows[f"{table}:ours"], rows[f"{table}:writer"]):
            assert set(ours) == set(theirs)
            assert {k: v for k, v in ours.items() if k not in when} == {
                k: v for k, v in theirs.items() if k not in when}
    assert rows["workflow_status:ours"]["status"] == "ENQUEUED"


def test_the_writer_process_queues_new_jobs_once_and_a_dead_writer_fails_only_its_batch(tmp_path: Path) -> None:
    [result] = _run(tmp_path, "writer")
    assert result["first"] == 40
    assert result["again"] == [f"job-{i}" for i in range(40, 50)]  # ids that had a job keep it
    assert result["between"] == ["job-between"]  # killed while idle: the next batch starts a new writer
    # Killed with a batch in flight: that batch is refused with a clear error (its deliveries get
    # 503s and the trackers retry), never acknowledged; the next batch starts a new writer.
    assert result["lost"].startswith("the job-store writer process exited")
    assert result["after"] == ["job-after"]
    assert sorted(result["ids"]) == sorted([f"job-{i}" for i in range(50)] + ["job-between", "job-after"])
