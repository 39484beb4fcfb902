"""The job queue in bulk against a real DBOS job store (SQLite): batches are idempotent, the
depth is counted without loading jobs, and a process that dies in the middle of a hand-off
still leaves every acknowledged delivery queued exactly once.

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
    import asyncio, json, os, sys, threading
    from pathlib import Path
    import sqlalchemy as sa
    from dbos import DBOS
    from dbos._dbos import _get_dbos_instance
    from server.pipeline import job_queue
    from server.pipeline.intake import InboxIntake

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
        report(first=len(first), again=sorted(again), depth=depth, statements=statements,
               existing=sorted(job_queue.existing(["job-0", "job-1299", "job-5000"])), rows=len(rows()))
    elif mode == "same-as-dbos":
        from dbos._core import prepare_enqueued_workflow
        from server.pipeline import workflow as pipeline
        dbos = _get_dbos_instance()
        job_queue.enqueue_new([("ours", request(7))])
        dbos._sys_db.init_workflows([prepare_enqueued_workflow(dbos, pipeline.fix_issue, (request(7),), {},
                                                               queue_name=pipeline.QUEUE_NAME, workflow_id="dbos")])
        def row(table, job_id):
            with dbos._sys_db.engine.connect() as conn:
                found = conn.execute(sa.text(f"SELECT * FROM {table} WHERE workflow_uuid = :id"), {"id": job_id})
                return dict(found.mappings().one())
        report(**{f"{table}:{job_id}": row(table, job_id) for table in ("workflow_status", "workflow_input")
                  for job_id in ("ours", "dbos")})
    else:
        all_acked = threading.Event()

        class Dying:
            """The real job queue, in a process that dies at the chosen point of the first hand-off."""
            existing = staticmethod(job_queue.existing)

            def enqueue_new(self, jobs):
                all_acked.wait(30)
                if mode == "crash-before-queue":
                    os._exit(9)
                queued = job_queue.enqueue_new(jobs)
                if mode == "crash-after-queue":
                    report(queued=len(queued), rows=rows())
                    os._exit(9)  # committed to the job queue, not yet deleted from the inbox
                return queued

        async def main():
            inbox = InboxIntake(state / "inbox.sqlite", None, Dying() if mode.startswith("crash") else job_queue)
            if mode == "recover":
                before = rows()
                await inbox.start()
                for _ in range(500):
                    if await inbox.pending() == 0:
                        break
                    await asyncio.sleep(0.02)
                again = await asyncio.gather(*(inbox.accept(f"job-{i}", request(i)) for i in range(40)))
                report(before=before, after=rows(), pending=await inbox.pending(), again=again)
                await inbox.close()
                return
            await inbox.start()
            acked = await asyncio.gather(*(inbox.accept(f"job-{i}", request(i)) for i in range(40)))
            report(acked=sum(acked))
            all_acked.set()
            await asyncio.sleep(30)  # the hand-off ends the process

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
    assert result["existing"] == ["job-0", "job-1299"]


def test_a_job_is_queued_with_the_rows_dbos_itself_writes(tmp_path: Path) -> None:
    """enqueue_new writes DBOS's batch-enqueue rows itself (compiled once, not per row): the
    same columns and values as DBOS's own `init_workflows`, for the version pinned."""
    [rows] = _run(tmp_path, "same-as-dbos")
    when = {"workflow_uuid", "created_at", "updated_at", "retention_timestamp"}
    for table in ("workflow_status", "workflow_input"):
        ours, theirs = rows[f"{table}:ours"], rows[f"{table}:dbos"]
        assert set(ours) == set(theirs)
        assert {k: v for k, v in ours.items() if k not in when} == {k: v for k, v in theirs.items() if k not in when}
    assert rows["workflow_status:ours"]["status"] == "ENQUEUED"


@pytest.mark.parametrize("crash", ["crash-before-queue", "crash-after-queue"])
def test_a_crash_mid_hand_off_leaves_every_acknowledged_delivery_queued_exactly_once(tmp_path: Path,
                                                                                    crash: str) -> None:
    reports = _run(tmp_path, crash, expect_exit=9)
    assert reports[0] == {"acked": 40}  # all 40 acknowledged (stored in the inbox) before the hand-off
    committed = reports[1]["rows"] if crash == "crash-after-queue" else []
    assert bool(committed) == (crash == "crash-after-queue")  # the first batch reached the queue, or nothing did

    [recovered] = _run(tmp_path, "recover")
    assert recovered["before"] == committed  # what the dead process had queued
    after = {row[0]: row for row in recovered["after"]}
    assert len(recovered["after"]) == 40 and sorted(after) == sorted(f"job-{i}" for i in range(40))  # each once
    for row in committed:  # handed over again after the restart, and left exactly as it was
        assert after[row[0]] == row
    assert recovered["pending"] == 0
    assert recovered["again"] == [False] * 40  # a redelivery now is a duplicate
