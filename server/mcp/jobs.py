"""run_autofix and get_fix_status: the autonomous pipeline, driven from an MCP client.

The MCP process never runs a fix itself. It writes the job into the service's durable queue
with DBOSClient (the same system database `autofixer serve` uses) under the same workflow id
rule as the webhook, `sentry:<org>:<issue>`, so a job a webhook already started is found, not
duplicated, and the running service executes it. Status is read back from the same database:
the workflow's state and output (a JobOutcome) and its "stage" event.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from server import connectors
from server.config import Secrets, Settings
from server.mcp.triage import TriageError
from server.pipeline.jobs import JobRequest, job_state

if TYPE_CHECKING:
    from dbos import DBOSClient

log = logging.getLogger("autofixer.mcp")



@dataclass(frozen=True)
class QueuedJob:
    job_id: str
    created: bool  # False: the issue already had a job (webhook-started, or queued before)
    status: str  # DBOS status of the job now, e.g. ENQUEUED, PENDING, SUCCESS


class FixJobs:
    """A lazily opened DBOSClient on the service's system database."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: DBOSClient | None = None
        self._lock = asyncio.Lock()

    async def close(self) -> None:
        if self._client is not None:
            await asyncio.to_thread(self._client.destroy)
            self._client = None

    async def enqueue(self, issue_id: str, *, project: str | None, title: str) -> QueuedJob:
        """Queue the fix pipeline for `issue_id` (Sentry's numeric id), or find its job."""
        from server.pipeline import runtime
        from server.pipeline.job_stores import ClientJobs

        client = await self._connected()
        source = next(iter(connectors.build_sources(self.settings, Secrets(self.settings)).values()))
        job_id = source.job_id(issue_id)
        request = JobRequest(source=source.name, issue_id=issue_id, project=project, title=title, trigger="mcp",
                             validate_fix=True)
        # The queue path `autofixer sweep` uses too: same workflow id, queue and version as the service's.
        jobs = ClientJobs(client, runtime.dbos_config(self.settings).get("application_version"))
        created = await jobs.accept(job_id, request.model_dump())
        status = await self._status_row(job_id)
        return QueuedJob(job_id, created, status.status if status is not None else "ENQUEUED")

    async def status(self, job_id: str) -> dict[str, Any]:
        """State, stage, confidence, PR URL and cost of a job, as plain JSON data."""
        row = await self._status_row(job_id)
        if row is None:
            raise TriageError(
                f"no fix job {job_id!r}: job ids look like 'sentry:<org>:<issue id>' (run_autofix returns one); "
                "a webhook that arrived a moment ago may still be on its way into the queue"
            )
        client = await self._connected()
        stage = await client.get_event_async(job_id, "stage", timeout_seconds=0)
        return describe_job(job_id, row.status, row.output, row.error, stage)

    async def _status_row(self, job_id: str) -> Any:
        client = await self._connected()
        rows = await client.list_workflows_async(workflow_ids=[job_id], load_input=False, load_output=True)
        return rows[0] if rows else None

    async def connected(self) -> DBOSClient:
        """The client (opened on first use), for other commands that queue jobs (autofixer sweep)."""
        return await self._connected()

    async def _connected(self) -> DBOSClient:
        async with self._lock:
            if self._client is None:
                self._client = await asyncio.to_thread(self._open)
            return self._client

    def _open(self) -> DBOSClient:
        from dbos import DBOSClient

        from server.pipeline import runtime

        url = self.settings.system_database_url
        sqlite_file = Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None
        # DBOSClient never creates the job store's tables (the service does at start-up), and
        # SQLite would silently create an empty file: say what to do instead.
        if sqlite_file is not None and not sqlite_file.exists():
            raise TriageError(
                f"there is no job store at {sqlite_file}: start the service with this configuration "
                "(`autofixer serve --config ...`) first; it creates the store and runs the fix jobs "
                "(state-dir must be the same absolute path for both)"
            )
        try:
            # Named as the service's application, so the jobs queued here are its own, also
            # when other DBOS applications share the database.
            return DBOSClient(system_database_url=url, application_name=runtime.dbos_config(self.settings)["name"])
        except Exception as exc:  # unreachable Postgres, bad URL: the reason, never the URL's password
            raise TriageError(f"cannot reach the job store ({type(exc).__name__}); is database-url right?") from None


def describe_job(job_id: str, status: str, output: Any, error: Any, stage: Any) -> dict[str, Any]:
    """get_fix_status's answer: the job's own state on top (what the jobs API says too), the
    DBOS workflow status as a detail, and what the outcome holds."""
    state = job_state(status, output)
    out: dict[str, Any] = {"job_id": job_id, "status": state, "workflow_status": status,
                           "stage": stage if isinstance(stage, str) else None}
    if status == "SUCCESS" and isinstance(output, dict):
        fix = _dict(output.get("fix"))
        usage = _dict(fix.get("usage"))
        out.update(
            reason=output.get("reason") or None,
            confidence=fix.get("confidence"),
            pr_url=output.get("pr_url"),
            cost_usd=usage.get("cost_usd"),
            exit_reason=fix.get("exit_reason"),
            root_cause=fix.get("root_cause") or None,
            files_changed=sorted({str(c.get("file")) for c in fix.get("changes") or [] if isinstance(c, dict)}),
            issue_url=output.get("issue_url"),
        )
        publication = output.get("publication")
        if isinstance(publication, dict):  # what became of the pull request: opened, dry_run, skipped...
            out["publication"] = {k: publication.get(k) for k in ("state", "reason", "branch", "pr_url")}
    elif state == "failed":  # ERROR, MAX_RECOVERY_ATTEMPTS_EXCEEDED: the workflow itself failed
        out["reason"] = f"{status}: {error}" if error else status
    return out


def _dict(value: Any) -> dict[str, Any]:
    """`value` if it is a JSON object, else {}: a workflow's output is read, never trusted to have a shape."""
    return value if isinstance(value, dict) else {}


__all__ = ["FixJobs", "QueuedJob", "describe_job"]
