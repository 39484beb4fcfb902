"""The two JobStores `submit` queues through: the service's own intake, and a DBOSClient for
a separate process (`autofixer sweep`), both under the same workflow ids and queue."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dbos import DBOS, SetWorkflowID

from server.pipeline import workflow as pipeline
from server.pipeline.intake import Intake

if TYPE_CHECKING:
    from dbos import DBOSClient


def _finished(status: Any) -> tuple[dict[str, Any] | None, float | None]:
    if status is None or status.status != "SUCCESS" or not isinstance(status.output, dict):
        return None, None
    updated = getattr(status, "completed_at", None) or getattr(status, "updated_at", None)
    return status.output, (updated / 1000 if isinstance(updated, (int, float)) else None)


class IntakeJobs:
    """Inside the service: new jobs through the durable intake (as webhooks always were)."""

    def __init__(self, intake: Intake) -> None:
        self.intake = intake

    async def accept(self, job_id: str, request: dict[str, Any]) -> bool:
        # The intake also finds jobs queued without it (`autofixer sweep`, MCP), once per batch.
        return await self.intake.accept(job_id, request)

    async def finished(self, job_id: str) -> tuple[dict[str, Any] | None, float | None]:
        return _finished(await DBOS.get_workflow_status_async(job_id))

    async def replace(self, job_id: str, request: dict[str, Any]) -> None:
        # Re-checks and retries: the finished job is gone, its id is free for the new one.
        await DBOS.delete_workflow_async(job_id)
        with SetWorkflowID(job_id):
            await self.intake.queue.enqueue_async(pipeline.fix_issue, request)


class ClientJobs:
    """From another process, on the service's system database (`autofixer sweep`, MCP run_autofix)."""

    def __init__(self, client: DBOSClient, app_version: str | None) -> None:
        self.client = client
        self.app_version = app_version

    async def accept(self, job_id: str, request: dict[str, Any]) -> bool:
        from dbos import error as dbos_error

        try:
            await self.client.enqueue_async(self._options(job_id, "reject"), request)
        except dbos_error.DBOSWorkflowIDInUseError:
            return False
        return True

    async def finished(self, job_id: str) -> tuple[dict[str, Any] | None, float | None]:
        rows = await self.client.list_workflows_async(workflow_ids=[job_id], load_input=False)
        return _finished(rows[0] if rows else None)

    async def replace(self, job_id: str, request: dict[str, Any]) -> None:
        await self.client.delete_workflow_async(job_id)
        await self.client.enqueue_async(self._options(job_id, None), request)

    def _options(self, job_id: str, reuse: str | None) -> Any:
        options: dict[str, Any] = {"workflow_name": pipeline.WORKFLOW_NAME, "queue_name": pipeline.QUEUE_NAME,
                                   "workflow_id": job_id}
        if reuse:
            options["workflow_id_reuse_policy"] = reuse
        if self.app_version:
            options["app_version"] = self.app_version  # the service only dequeues jobs of its own version
        return options
