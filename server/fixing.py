"""The fix stage of a job: check the repository out, run the agent, return its FixResult.

Durability rules (see DESIGN.md): the base commit is resolved once, in a step, so a recovered
job rebuilds its worktree at the same commit; every model turn is a step, so a recovered job
replays finished turns from the checkpoint instead of paying for them again; tool calls are
plain code that re-runs deterministically against that rebuilt worktree, which re-applies the
accepted edits exactly as the first run did.
"""

from __future__ import annotations

import logging
from typing import Any

from dbos import DBOS

from agent.anthropic_provider import AnthropicProvider
from agent.loop import Limits, Progress, run_agent
from agent.provider import ModelProvider, ModelRequest, ModelTurn, ProviderError
from agent.replay_provider import Recording, ReplayProvider
from agent.transcript import Transcript
from domain import ErrorEvent, FixResult
from server.config import ProjectConfig, Settings
from server.services import services
from tools.base import ToolContext
from tools.registry import tool_map
from tools.workspace import WorkspaceError

log = logging.getLogger("autofixer.fix")

# The user name each forge expects beside a token in an HTTPS git URL.
TOKEN_USERS = {"github": "x-access-token", "gitlab": "oauth2", "bitbucket": "x-token-auth"}
DEFAULT_HOSTS = {"github": "https://github.com", "gitlab": "https://gitlab.com", "bitbucket": "https://bitbucket.org"}


class FixUnavailable(Exception):
    """The fix stage cannot start (no LLM key, unknown provider); the message says what to set."""


def clone_url(settings: Settings, project: ProjectConfig) -> str:
    if project.clone_url:
        return project.clone_url
    host = DEFAULT_HOSTS[settings.scm.type]
    if settings.scm.base_url:  # GitHub Enterprise: https://HOST/api/v3 → https://HOST
        host = settings.scm.base_url.split("/api/", 1)[0]
    return f"{host}/{project.scm_repo}.git"


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
    return Limits(
        max_steps=settings.llm.max_steps,
        max_cost_usd=settings.llm.max_cost_usd,
        max_wall_seconds=settings.llm.max_wall_seconds,
    )


# Providers are cached per process: the SDK client keeps its connection pool between turns.
_providers: dict[str, ModelProvider] = {}


def provider_for(settings: Settings, llm_key: str | None) -> ModelProvider:
    key = f"{settings.llm.provider}|{settings.llm.model}|{settings.llm.base_url}|{settings.llm.replay_file}"
    if key not in _providers:
        _providers[key] = build_provider(settings, llm_key)
    return _providers[key]


@DBOS.step(name="llm_turn")
async def llm_turn(step: int, request: dict[str, Any]) -> dict[str, Any]:
    """One model call, checkpointed. Errors come back as values so they replay identically."""
    svc = services()
    req = ModelRequest.model_validate(request)
    provider = provider_for(svc.settings, svc.llm_key())
    try:
        turn = await provider.complete(req.system, req.messages, req.tools, max_tokens=req.max_output_tokens)
    except ProviderError as exc:
        return {"error": str(exc), "status": exc.status}
    return {"turn": turn.model_dump(mode="json")}


async def durable_call(step: int, request: ModelRequest) -> ModelTurn:
    result = await llm_turn(step, request.model_dump(mode="json"))
    if "error" in result:
        raise ProviderError(result["error"], status=result.get("status"))
    return ModelTurn.model_validate(result["turn"])


@DBOS.step(name="resolve_base")
async def resolve_base(url: str, branch: str, job_id: str, release: str | None) -> dict[str, Any]:
    """The commit this job works on: fetched and resolved once, then fixed for the job's life."""
    svc = services()
    try:
        async with svc.workspaces.checkout(url, branch, f"{job_id}-resolve", release=release,
                                           token=svc.scm_token()) as ws:
            return {"sha": ws.base_sha, "target": ws.target, "branch": ws.branch}
    except WorkspaceError as exc:
        return {"error": str(exc)}


async def run_fix(settings: Settings, project: ProjectConfig, event: ErrorEvent, job_id: str) -> tuple[FixResult | None, str]:
    """(FixResult, "") when the agent ran, or (None, reason) when the fix stage could not start."""
    svc = services()
    try:
        provider = provider_for(settings, svc.llm_key())
    except FixUnavailable as exc:
        return None, str(exc)
    url = clone_url(settings, project)
    base = await resolve_base(url, project.default_branch, job_id, event.release)
    if "error" in base:
        return None, base["error"]
    log.info("checking out %s at %s (%s)", project.scm_repo, base["sha"][:12], base["target"])
    try:
        async with svc.workspaces.checkout(url, project.default_branch, job_id, commit=base["sha"],
                                           token=svc.scm_token()) as ws:
            ctx = ToolContext(worktree=ws.path, event=event, source_root=project.source_root,
                              extra={"base_sha": ws.base_sha})
            with Transcript.for_job(settings.state_dir, job_id, secrets=svc.secrets.values()) as transcript:
                fix = await run_agent(
                    provider, tool_map(), ctx, limits=limits(settings), transcript=transcript,
                    call_model=durable_call, secrets=svc.secrets.values(), on_progress=_log_progress,
                )
    except WorkspaceError as exc:
        return None, str(exc)
    log.info("agent finished: %s, confidence %s, %d file(s) changed, $%.4f",
             fix.exit_reason, fix.confidence.value, len({c.file for c in fix.changes}), fix.usage.cost_usd)
    return fix, ""


def _log_progress(progress: Progress) -> None:
    if progress.kind == "tool_result":
        log.info("step %d: %s%s", progress.step, progress.tool, " (error)" if progress.is_error else "")
