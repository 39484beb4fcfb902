"""The fix stage of a job: check the repository out, run the agent, return its FixResult.

Durability rules (see DESIGN.md): the base commit is resolved once, in a step, so a recovered
job rebuilds its worktree at the same commit; every model turn is a step, so a recovered job
replays finished turns from the checkpoint instead of paying for them again; tool calls are
plain code that re-runs deterministically against that rebuilt worktree, which re-applies the
accepted edits exactly as the first run did.
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

from agent.anthropic_provider import AnthropicProvider
from agent.loop import Limits, Progress, run_agent
from agent.provider import ModelProvider, ModelRequest, ModelTurn, ProviderError
from agent.replay_provider import Recording, ReplayProvider
from agent.transcript import Transcript
from domain import ErrorEvent, FixResult
from server.config import ProjectConfig, Settings
from scm.base import ScmError, ScmProvider
from server.forge import clone_url
from server.publish import PublishOutcome, publish
from server.services import Services, services
from tools.base import ToolContext
from tools.registry import WORKTREE_TOOLS
from tools.workspace import WorkspaceError

log = logging.getLogger("autofixer.fix")

class FixUnavailable(Exception):
    """The fix stage cannot start (no LLM key, unknown provider); the message says what to set."""


def build_provider(settings: Settings, llm_key: str | None) -> ModelProvider:
    llm = settings.llm
    if llm.provider == "replay":
        if not llm.replay_file:
            raise FixUnavailable("llm.provider is replay but llm.replay-file is not set")
        return ReplayProvider(Recording.load(llm.replay_file))
    if llm.provider in ("anthropic", "claude"):
        if not llm_key:
            raise FixUnavailable("no LLM key: set AUTOFIXER_LLM_KEY (or ANTHROPIC_API_KEY)")
        return AnthropicProvider(api_key=llm_key, model=llm.model, base_url=llm.base_url)
    raise FixUnavailable(f"llm.provider {llm.provider!r} is not supported yet (use anthropic or replay)")


def limits(settings: Settings) -> Limits:
    # Wall time is enforced inside the checkpointed llm_turn step (see durable_call), not by the
    # loop's own clock, which restarts when a job is recovered.
    return Limits(max_steps=settings.llm.max_steps, max_cost_usd=settings.llm.max_cost_usd, max_wall_seconds=None)


# Providers are cached per process: the SDK client keeps its connection pool between turns.
_providers: dict[str, ModelProvider] = {}


def provider_for(settings: Settings, llm_key: str | None) -> ModelProvider:
    key = f"{settings.llm.provider}|{settings.llm.model}|{settings.llm.base_url}|{settings.llm.replay_file}"
    if key not in _providers:
        _providers[key] = build_provider(settings, llm_key)
    return _providers[key]


@DBOS.step(name="start_clock")
async def start_clock(max_wall_seconds: float) -> float:
    """The run's deadline, fixed once: a recovered job keeps the budget it started with."""
    return time.time() + max_wall_seconds


@DBOS.step(name="llm_turn")
async def llm_turn(step: int, request: dict[str, Any], deadline: float) -> dict[str, Any]:
    """One model call, checkpointed. Errors and the time limit come back as values, so a
    recovered job replays them identically instead of deciding again on a different clock."""
    svc = services()
    req = ModelRequest.model_validate(request)
    provider = provider_for(svc.settings, svc.llm_key())
    remaining = deadline - time.time()
    if remaining <= 0:
        return {"timeout": True}
    try:
        turn = await asyncio.wait_for(
            provider.complete(req.system, req.messages, req.tools, max_tokens=req.max_output_tokens), remaining
        )
    except asyncio.TimeoutError:
        return {"timeout": True}
    except ProviderError as exc:
        return {"error": str(exc), "status": exc.status}
    return {"turn": turn.model_dump(mode="json")}


def durable_call(deadline: float) -> Callable[[int, ModelRequest], Awaitable[ModelTurn]]:
    async def call(step: int, request: ModelRequest) -> ModelTurn:
        result = await llm_turn(step, request.model_dump(mode="json"), deadline)
        if result.get("timeout"):
            raise asyncio.TimeoutError
        if "error" in result:
            raise ProviderError(result["error"], status=result.get("status"))
        return ModelTurn.model_validate(result["turn"])

    return call


@DBOS.step(name="resolve_base")
async def resolve_base(url: str, branch: str, release: str | None) -> dict[str, Any]:
    """The commit this job works on: fetched and resolved once, then fixed for the job's life."""
    svc = services()
    try:
        resolved = await svc.workspaces.resolve(url, branch, release=release, token=svc.scm_token())
    except WorkspaceError as exc:
        return {"error": str(exc)}
    return {"sha": resolved.sha, "target": resolved.target, "branch": resolved.branch}


@dataclass
class FixOutcome:
    fix: FixResult | None = None
    publication: PublishOutcome | None = None
    reason: str = ""  # why the fix stage could not run, when fix is None


@DBOS.step(name="publish")
async def publish_step(project: dict[str, Any], worktree: str, issue_id: str, event: dict[str, Any],
                       fix: dict[str, Any]) -> dict[str, Any]:
    """Commit, push and open the PR once: a recovered job gets the recorded outcome back, and a
    crash in the middle re-runs it safely (the push is forced to our own branch, and an open PR
    for the branch is found rather than duplicated)."""
    svc = services()
    outcome = await publish(
        svc.settings, svc.secrets, ProjectConfig.model_validate(project), worktree=Path(worktree),
        issue_id=issue_id, event=ErrorEvent.model_validate(event), fix=FixResult.model_validate(fix),
        provider=_scm_or_none(svc),
    )
    return outcome.model_dump(mode="json")


def _scm_or_none(svc: Services) -> ScmProvider | None:
    try:
        return svc.scm()
    except ScmError:  # unsupported forge: publish() reports it as the PR stage's failure
        return None


async def run_fix(settings: Settings, project: ProjectConfig, event: ErrorEvent, job_id: str,
                  stage: Callable[[str], Awaitable[None]]) -> FixOutcome:
    """Check out, run the agent, then publish its fix while the worktree still holds the edits."""
    svc = services()
    try:
        provider = provider_for(settings, svc.llm_key())
    except FixUnavailable as exc:
        return FixOutcome(reason=str(exc))
    url = clone_url(settings, project)
    base = await resolve_base(url, project.default_branch, event.release)
    if "error" in base:
        return FixOutcome(reason=base["error"])
    log.info("checking out %s at %s (%s)", project.scm_repo, base["sha"][:12], base["target"])
    try:
        async with svc.workspaces.checkout(url, project.default_branch, job_id, commit=base["sha"],
                                           token=svc.scm_token()) as ws:
            ctx = ToolContext(worktree=ws.path, event=event, source_root=project.source_root,
                              base_sha=ws.base_sha)
            deadline = await start_clock(settings.llm.max_wall_seconds)
            with Transcript.for_job(settings.state_dir, job_id, secrets=svc.secrets.values()) as transcript:
                fix = await run_agent(
                    provider, WORKTREE_TOOLS, ctx, limits=limits(settings), transcript=transcript,
                    call_model=durable_call(deadline), secrets=svc.secrets.values(), on_progress=_log_progress,
                )
            log.info("agent finished: %s, confidence %s, %d file(s) changed, $%.4f",
                     fix.exit_reason, fix.confidence.value, len({c.file for c in fix.changes}), fix.usage.cost_usd)
            await stage("publish")
            published = await publish_step(project.model_dump(mode="json"), str(ws.path), event.issue_id or "",
                                           event.model_dump(mode="json"), fix.model_dump(mode="json"))
    except WorkspaceError as exc:
        return FixOutcome(reason=str(exc))
    return FixOutcome(fix=fix, publication=PublishOutcome.model_validate(published))


def _log_progress(progress: Progress) -> None:
    if progress.kind == "tool_result":
        log.info("step %d: %s%s", progress.step, progress.tool, " (error)" if progress.is_error else "")
