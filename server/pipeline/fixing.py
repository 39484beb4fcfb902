"""The fix stage of a job: check the repository out, run the agent, publish its FixResult.

Durability rules (see DESIGN.md): the base commit is resolved once, in a step, so a recovered
job rebuilds its worktree at the same commit; every model turn is a step, so a recovered job
replays finished turns from the checkpoint instead of paying for them again; tool calls are
plain code that re-runs deterministically against that rebuilt worktree, which re-applies the
accepted edits exactly as the first run did.

Steps record plain data (what DBOS checkpoints); each has a typed wrapper, so the code that
reads a recorded result reads a model, not a dict. Errors are values, so a recovered job
replays a recorded failure instead of deciding again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dbos import DBOS
from pydantic import BaseModel

from agent.loop import CallTool, Limits, Progress, run_agent
from agent.provider import ModelRequest, ModelTurn, ProviderError, ProviderUnavailable
from agent.transcript import Transcript
from domain import ErrorEvent, FixResult
from domain.job import PublishOutcome
from domain.validation import Validation
from scm.base import ScmError, git_access
from server.config import ProjectConfig, Settings
from server.pipeline.publish import clone_url, publish
from server.pipeline.services import services
from server.pipeline.validation import validate_step
from tools.base import ToolContext, ToolOutcome
from tools.registry import Registry, call_tool, tools_for
from tools.workspace import WorkspaceError

log = logging.getLogger("autofixer.fix")


def limits(settings: Settings) -> Limits:
    # Wall time is enforced inside the checkpointed llm_turn step (see durable_call), not by the
    # loop's own clock, which restarts when a job is recovered.
    return Limits(max_steps=settings.llm.max_steps, max_cost_usd=settings.llm.max_cost_usd, max_wall_seconds=None)


@DBOS.step(name="start_clock")
async def start_clock(max_wall_seconds: float) -> float:
    """The run's deadline, fixed once: a recovered job keeps the budget it started with."""
    return time.time() + max_wall_seconds


class TurnResult(BaseModel):
    """What the llm_turn step recorded: a turn, the provider's error, or the time limit."""

    turn: ModelTurn | None = None
    error: str | None = None
    status: int | None = None
    timeout: bool = False


@DBOS.step(name="llm_turn")
async def _llm_turn(step: int, request: dict[str, Any], deadline: float) -> dict[str, Any]:
    req = ModelRequest.model_validate(request)
    provider = services().provider()
    remaining = deadline - time.time()
    if remaining <= 0:
        return TurnResult(timeout=True).model_dump(mode="json", exclude_defaults=True)
    try:
        turn = await asyncio.wait_for(
            provider.complete(req.system, req.messages, req.tools, max_tokens=req.max_output_tokens), remaining
        )
    except TimeoutError:
        result = TurnResult(timeout=True)
    except ProviderError as exc:
        result = TurnResult(error=str(exc), status=exc.status)
    else:
        result = TurnResult(turn=turn)
    return result.model_dump(mode="json", exclude_defaults=True)


async def llm_turn(step: int, request: ModelRequest, deadline: float) -> TurnResult:
    """One model call, checkpointed."""
    return TurnResult.model_validate(await _llm_turn(step, request.model_dump(mode="json"), deadline))


def durable_call(deadline: float) -> Callable[[int, ModelRequest], Awaitable[ModelTurn]]:
    async def call(step: int, request: ModelRequest) -> ModelTurn:
        result = await llm_turn(step, request, deadline)
        if result.timeout:
            raise TimeoutError
        if result.turn is None:
            raise ProviderError(result.error or "the model call failed", status=result.status)
        return result.turn

    return call


@DBOS.step(name="tool_call")
async def _tool_call(tools: Registry[ToolContext], ctx: ToolContext, name: str, arguments: Any) -> dict[str, Any]:
    outcome = await call_tool(tools, ctx, name, arguments)
    return {"text": outcome.text, "is_error": outcome.is_error, "malformed": outcome.malformed}


def durable_tools() -> CallTool:
    """Tool calls for a job: deterministic tools run directly (recovery re-runs them against the
    rebuilt worktree); any other tool's call is a checkpointed step, replayed on recovery."""

    async def call(tools: Registry[ToolContext], ctx: ToolContext, name: str, arguments: Any) -> ToolOutcome:
        tool = tools.get(name)
        if tool is None or tool.deterministic:
            return await call_tool(tools, ctx, name, arguments)
        return ToolOutcome(**await _tool_call(tools, ctx, name, arguments))

    return call


class BaseCommit(BaseModel):
    """What resolve_base recorded: the commit the job works on, or why there is none."""

    sha: str = ""
    target: str = ""
    branch: str = ""
    error: str | None = None


@DBOS.step(name="resolve_base")
async def _resolve_base(url: str, branch: str, release: str | None, forge: str = "") -> dict[str, Any]:
    svc = services()
    found = svc.forges.get(forge) or next(iter(svc.forges.values()))
    try:
        resolved = await svc.workspaces.resolve(url, branch, release=release, **await git_access(found))
    except (WorkspaceError, ScmError) as exc:  # ScmError: a GitHub App token could not be minted
        return BaseCommit(error=str(exc)).model_dump(exclude_defaults=True)
    base = BaseCommit(sha=resolved.sha, target=resolved.target, branch=resolved.branch)
    return base.model_dump(exclude_defaults=True)


async def resolve_base(url: str, branch: str, release: str | None, forge: str) -> BaseCommit:
    """The commit this job works on: fetched and resolved once, then fixed for the job's life."""
    return BaseCommit.model_validate(await _resolve_base(url, branch, release, forge))


@dataclass
class FixOutcome:
    fix: FixResult | None = None
    publication: PublishOutcome | None = None
    validation: Validation | None = None  # the validate step's verdict (projects with tests:)
    reason: str = ""  # why the fix stage could not run, when fix is None


@DBOS.step(name="publish")
async def _publish_step(project: dict[str, Any], worktree: str, issue_id: str, event: dict[str, Any],
                        fix: dict[str, Any], source: str = "sentry",
                        validation: dict[str, Any] | None = None) -> dict[str, Any]:
    svc = services()
    project_config = ProjectConfig.model_validate(project)
    outcome = await publish(
        svc.settings.behavior, project_config, worktree=Path(worktree), issue_id=issue_id,
        event=ErrorEvent.model_validate(event), fix=FixResult.model_validate(fix),
        source=svc.source(source), forge=svc.forge_for(project_config), secrets=svc.secrets.values(),
        validation=Validation.model_validate(validation) if validation else None,
    )
    return outcome.model_dump(mode="json")


async def publish_step(project: ProjectConfig, worktree: Path, event: ErrorEvent, fix: FixResult,
                       source: str, validation: Validation | None = None) -> PublishOutcome:
    """Commit, push and open the PR once: a recovered job gets the recorded outcome back, and a
    crash in the middle re-runs it safely (the push is forced to our own branch, and an open PR
    for the branch is found rather than duplicated)."""
    recorded = await _publish_step(project.model_dump(mode="json"), str(worktree), event.issue_id or "",
                                   event.model_dump(mode="json"), fix.model_dump(mode="json"), source,
                                   validation.model_dump(mode="json") if validation else None)
    return PublishOutcome.model_validate(recorded)


async def run_fix(settings: Settings, project: ProjectConfig, event: ErrorEvent, job_id: str, source: str,
                  stage: Callable[[str], Awaitable[None]], validate: bool = False) -> FixOutcome:
    """Check out, run the agent, validate its fix (`validate`, for a project with tests), then
    publish it while the worktree still holds the edits."""
    svc = services()
    try:
        await asyncio.to_thread(svc.load_provider)  # the SDK's import, off the event loop
        provider = svc.provider()
    except ProviderUnavailable as exc:
        return FixOutcome(reason=str(exc))
    forge = svc.forge_for(project)
    url = clone_url(project, forge)
    base = await resolve_base(url, project.default_branch, event.release, forge.name)
    if base.error is not None:
        return FixOutcome(reason=base.error)
    log.info("checking out %s at %s (%s)", project.scm_repo, base.sha[:12], base.target)
    try:
        access = await git_access(forge)
    except ScmError as exc:  # a GitHub App token could not be minted
        return FixOutcome(reason=str(exc))
    try:
        async with svc.workspaces.checkout(url, project.default_branch, job_id, commit=base.sha, **access) as ws:
            # With a `tests:` block the agent also gets run_tests, on the service's one engine.
            ctx = ToolContext(worktree=ws.path, event=event, source_root=project.source_root,
                              base_sha=ws.base_sha, policy=project.patch_policy, tests=project.tests,
                              engine=svc.engine if project.tests is not None else None, repo_key=project.scm_repo)
            deadline = await start_clock(settings.llm.max_wall_seconds)
            with Transcript.for_job(settings.state_dir, job_id, secrets=svc.secrets.values()) as transcript:
                fix = await run_agent(
                    provider, tools_for(ctx), ctx, limits=limits(settings), transcript=transcript,
                    call_model=durable_call(deadline), call_tool=durable_tools(), secrets=svc.secrets.values(),
                    on_progress=_log_progress,
                )
            log.info("agent finished: %s, confidence %s, %d file(s) changed, $%.4f",
                     fix.exit_reason, fix.confidence.value, len({c.file for c in fix.changes}), fix.usage.cost_usd)
            validation = None
            if validate and project.tests is not None and fix.exit_reason == "submitted" and fix.changes:
                await stage("validate")
                validation = await validate_step(project.tests, project.scm_repo, ws.path, base.sha, event, fix)
                fix = fix.model_copy(update={"confidence": validation.capped(fix.confidence)})
            await stage("publish")
            published = await publish_step(project, ws.path, event, fix, source, validation)
    except WorkspaceError as exc:
        return FixOutcome(reason=str(exc))
    return FixOutcome(fix=fix, publication=published, validation=validation)


def _log_progress(progress: Progress) -> None:
    if progress.kind == "tool_result":
        log.info("step %d: %s%s", progress.step, progress.tool, " (error)" if progress.is_error else "")
