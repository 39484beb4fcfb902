"""Open the pull request a person approved for a job the confidence gate held back.

The job's worktree is gone by then, so it is rebuilt at the commit the job worked on (recorded
by its `resolve_base` step), the recorded fix's diff is applied, and the change goes through the
same `publish` as every other pull request (redaction, branch naming, push, an existing PR found
rather than duplicated, dry run respected). A person approving stands in for the confidence
gate's MEDIUM/HIGH threshold and for `behavior.auto-pr`, as with MCP `open_pull_request`; a LOW
fix stays an analysis. Approvals of one job are serialised, so a double click opens one PR.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict

from dbos import DBOS

from common.git import Git, GitError
from domain import Confidence, ErrorEvent
from domain.job import JobOutcome, PublishOutcome
from server.pipeline.publish import clone_url, publish
from server.pipeline.services import services

log = logging.getLogger("autofixer.approval")
_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)


class ApprovalError(Exception):
    """The job cannot be turned into a pull request; the message says why, for the person."""


async def job_outcome(job_id: str) -> JobOutcome:
    status = await DBOS.get_workflow_status_async(job_id)
    if status is None:
        raise ApprovalError(f"no job {job_id}")
    if status.status != "SUCCESS" or not isinstance(status.output, dict):
        raise ApprovalError(f"job {job_id} has not finished ({status.status.lower()})")
    return JobOutcome.model_validate(status.output)


async def base_commit(job_id: str) -> str:
    for step in await DBOS.list_workflow_steps_async(job_id):
        output = step["output"]
        if step["function_name"].endswith("resolve_base") and isinstance(output, dict) and output.get("sha"):
            return str(output["sha"])
    raise ApprovalError(f"job {job_id} recorded no base commit")


async def open_approved(job_id: str) -> PublishOutcome:
    """The PR for `job_id`: opened now, or the one already open (a second click, auto-PR jobs)."""
    async with _locks[job_id]:
        outcome = await job_outcome(job_id)
        done = outcome.publication
        if done is not None and done.state in ("opened", "existing") and done.pr_url:
            return done
        fix = outcome.fix
        if fix is None or not fix.changes or not fix.diff.strip():
            raise ApprovalError(f"job {job_id} has no change to propose")
        if fix.confidence is Confidence.LOW:
            raise ApprovalError("the fix's confidence is LOW: it stays an analysis")
        svc = services()
        project = svc.settings.project_for(outcome.project, outcome.source)
        if project is None:
            raise ApprovalError(f"project {outcome.project!r} is no longer in projects[] of the configuration")
        sha = await base_commit(job_id)
        forge = svc.forge_for(project)
        behavior = svc.settings.behavior.model_copy(update={"auto_pr": True, "min_confidence": Confidence.MEDIUM})
        event = ErrorEvent.model_validate(outcome.event) if outcome.event else None
        async with svc.workspaces.checkout(clone_url(project, forge), project.default_branch, f"{job_id}:approved",
                                           token=forge.git_token(), commit=sha) as ws:
            try:
                await asyncio.to_thread(Git(cwd=ws.path).run, "apply", "--whitespace=nowarn", "-",
                                        input=fix.diff.encode())
            except GitError as exc:
                raise ApprovalError(f"the recorded fix no longer applies at {sha[:12]}: {exc.stderr.strip()[:300]}") \
                    from None
            published = await publish(behavior, project, worktree=ws.path, issue_id=outcome.issue_id, event=event,
                                      fix=fix, source=svc.source(outcome.source), forge=forge,
                                      secrets=svc.secrets.values())
        log.info("approved job %s: %s %s", job_id, published.state, published.pr_url or published.reason)
        return published
