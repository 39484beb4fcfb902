"""The agent loop: call the model, run the tools it asks for, repeat until it submits.

Deliberately small (in the spirit of mini-swe-agent): the loop knows nothing of any vendor's
API (see agent/provider.py), nothing of durability (the pipeline passes `call_model`, which it
wraps as a DBOS step so a recovered run replays finished LLM turns from the checkpoint instead
of paying for them again), and every capability lives in a tool.

A run always ends with a FixResult, never an exception the caller must interpret: when a limit
is hit (steps, cost, wall time), the model keeps calling tools wrongly, or the API fails after
the SDK's retries, the result is LOW confidence, keeps the last analysis the model wrote and
the edits it had applied, and says why in `exit_reason`.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any

from pydantic import BaseModel, Field

import prompts
from agent.budget import Budget, budget_for, context_window, request_tokens, trim_middle
from agent.context import render_task
from agent.provider import (
    ModelProvider,
    ModelRequest,
    ModelTurn,
    ProviderError,
    ToolCall,
    ToolResultDict,
    assistant_message,
    tool_results_message,
    user_message,
)
from agent.tool_text import repair_arguments, text_calls
from agent.transcript import Transcript
from domain import Confidence, FixResult, Usage
from domain.redact import redactor
from execution.config import DEFAULT_COMMANDS, TestsConfig
from tools.base import ToolContext, ToolError, ToolOutcome
from tools.patch import worktree_diff
from tools.policy import TEST_NAMES
from tools.registry import WORKTREE_TOOLS, Registry
from tools.registry import call_tool as registry_call_tool
from tools.stacktrace import mapper_for

log = logging.getLogger("autofixer.agent")

SYSTEM_PROMPT = "system.md"
# With run_tests offered, the method is reproduce → fix → prove: these are added to the prompts.
REPRODUCE_PROMPT = "reproduce.md"
REPRODUCE_TASK = "reproduce_task.md"
RUN_TESTS_TOOL = "run_tests"
SUBMIT_TOOL = "submit_fix"
NUDGE = (
    "You replied without calling a tool. Continue the investigation by calling a tool, or call "
    "submit_fix to finish (with confidence LOW and no changes if the error cannot be fixed safely)."
)
NUDGE_TRUNCATED = (
    "Your reply was cut off at the output token limit. Be brief: call a tool, or call submit_fix to finish."
)


def prompt_version(tools: Registry[ToolContext] | None = None, directory: Path | None = None) -> str:
    """The version of everything the model reads besides the event: the prompt files (prompts/,
    or `directory`), the tools it is offered (`tools`, default the worktree tools: names,
    descriptions, schemas, in order) and the nudges. Transcripts and eval runs record it; a
    replay recording made with another version is stale."""
    specs = (WORKTREE_TOOLS if tools is None else tools).for_audience("agent").specs()
    return prompts.digest({
        "tools": json.dumps(specs, sort_keys=True, ensure_ascii=False),
        "nudges": json.dumps([NUDGE, NUDGE_TRUNCATED], ensure_ascii=False),
    }, directory)


class Limits(BaseModel):
    max_steps: int = Field(30, ge=1)  # model turns
    max_cost_usd: float = Field(2.0, gt=0)
    # None: the caller enforces wall time itself (the durable pipeline does, inside its
    # checkpointed model step, so a recovered run replays the same decision).
    max_wall_seconds: float | None = Field(600.0, gt=0)
    max_output_tokens: int = Field(8192, ge=1)  # per model turn
    max_malformed_calls: int = Field(3, ge=1)  # in a row: unknown tool, bad JSON, bad arguments
    max_repeated_calls: int = Field(3, ge=2)  # the same call this many times in a row ends the run


class Progress(BaseModel):
    """What the loop reports as it goes (for logs, the dashboard, the CLI)."""

    step: int
    kind: str  # model_turn | tool_result | finished
    detail: str = ""
    tool: str | None = None
    is_error: bool = False
    usage: Usage = Field(default_factory=Usage)


CallModel = Callable[[int, ModelRequest], Awaitable[ModelTurn]]
# (tools, ctx, name, raw arguments) → outcome: tools.registry.call_tool, or a checkpointing wrapper.
CallTool = Callable[[Registry[ToolContext], ToolContext, str, Any], Awaitable[ToolOutcome]]
OnProgress = Callable[[Progress], Awaitable[None] | None]


@dataclass
class _Run:
    """Mutable state of one run."""

    provider: ModelProvider
    tools: Registry[ToolContext]
    ctx: ToolContext
    limits: Limits
    transcript: Transcript | None
    on_progress: OnProgress | None
    call_model: CallModel
    call_tool: CallTool
    redact: Callable[[str], str]
    started: float = field(default_factory=time.monotonic)
    usage: Usage = field(default_factory=Usage)
    messages: list[dict[str, Any]] = field(default_factory=list)
    last_text: str = ""
    budget: Budget | None = None  # the model's context window, when the provider says what it is
    malformed_streak: int = 0
    repeat_streak: int = 0  # the same call (name and arguments) as the one before, in a row
    last_call: str = ""
    warned_unpriced: bool = False
    unanswered_nudge: bool = False  # the previous turn had no tool call and was nudged

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def record(self, kind: str, **data: Any) -> None:
        if self.transcript is not None:
            self.transcript.write(kind, **data)

    async def progress(self, step: int, kind: str, **data: Any) -> None:
        if self.on_progress is None:
            return
        try:
            result = self.on_progress(Progress(step=step, kind=kind, usage=self.usage, **data))
            if inspect.isawaitable(result):
                await result
        except Exception:  # a broken progress display must not end a paid-for run
            log.exception("progress callback failed")


async def run_agent(
    provider: ModelProvider,
    tools: Registry[ToolContext],
    ctx: ToolContext,
    *,
    limits: Limits | None = None,
    transcript: Transcript | None = None,
    on_progress: OnProgress | None = None,
    call_model: CallModel | None = None,
    call_tool: CallTool | None = None,
    secrets: Iterable[str] = (),
    task: str | None = None,
) -> FixResult:
    """Run the model over `tools` (those meant for the agent) on `ctx` until it submits a fix or
    a limit ends the run.

    `task` overrides the first user message (default: rendered from `ctx.event`); `secrets`
    are the configured tokens, removed from everything the model and the transcript see.
    `call_model` and `call_tool` are the seams where the service checkpoints model turns and
    non-deterministic tool calls (default: call directly).
    """
    limits = limits or Limits()
    tools = tools.for_audience("agent")
    secrets = [s for s in secrets if s]
    run = _Run(
        provider=provider, tools=tools, ctx=ctx, limits=limits, transcript=transcript, on_progress=on_progress,
        call_model=call_model or _direct_call(provider), call_tool=call_tool or registry_call_tool,
        redact=redactor(secrets),
    )
    reproduce = RUN_TESTS_TOOL in tools
    system = prompts.load(SYSTEM_PROMPT) + (prompts.load(REPRODUCE_PROMPT) if reproduce else "")
    first = run.redact(task if task is not None else _render_first_message(ctx, secrets))
    if reproduce and ctx.tests is not None:
        first += _tests_note(ctx.tests)
    specs = [dict(spec) for spec in tools.specs()]
    window = await _window(provider)
    if window is not None:
        run.budget = budget_for(window, system, specs, limits.max_output_tokens)
        first = trim_middle(first, run.budget.first_message, "the error report")
    run.messages.append(user_message(first))
    run.record(
        "header", prompt_version=prompt_version(tools), provider=provider.name, model=provider.model,
        limits=limits.model_dump(), tools=[t["name"] for t in specs], event_id=ctx.event.id if ctx.event else None,
        context_window=window, first_request_tokens=request_tokens(system, specs, run.messages),
    )
    run.record("message", role="system", content=system)
    run.record("message", role="user", content=first)
    try:
        result = await _loop(run, system, specs)
    except Exception as exc:
        run.record("crash", error=f"{type(exc).__name__}: {exc}", elapsed_s=round(run.elapsed(), 3))
        raise
    run.record("result", elapsed_s=round(run.elapsed(), 3), result=result.model_dump(mode="json"))
    await run.progress(result.usage.steps, "finished", detail=result.exit_reason)
    return result


async def _window(provider: ModelProvider) -> int | None:
    try:
        return await context_window(provider)
    except ProviderError as exc:  # the server cannot say: the first model call will report the failure
        log.warning("could not read the model's context window: %s", exc)
        return None


def _direct_call(provider: ModelProvider) -> CallModel:
    async def call(step: int, request: ModelRequest) -> ModelTurn:
        return await provider.complete(
            request.system, request.messages, request.tools, max_tokens=request.max_output_tokens
        )

    return call


def _render_first_message(ctx: ToolContext, secrets: list[str]) -> str:
    if ctx.event is None:
        raise ValueError("run_agent needs ctx.event or an explicit task")
    return render_task(
        ctx.event, ctx.worktree, mapper=mapper_for(ctx), source_root=ctx.source_root, secrets=secrets
    )


def _tests_note(tests: TestsConfig) -> str:
    """Where and how the project's tests live: configuration, not event data, so after the event."""
    names = " or ".join(f"`{n}`" for n in TEST_NAMES.get(tests.runner, TEST_NAMES["exit-code"])[:2])
    return Template(prompts.load(REPRODUCE_TASK)).substitute(
        runner=tests.runner, command=tests.command or DEFAULT_COMMANDS[tests.runner] or "its own command",
        test_dir=tests.test_dir, names=names)


# --- the loop ------------------------------------------------------------------------------------


async def _loop(run: _Run, system: str, specs: list[dict[str, Any]]) -> FixResult:
    step = 0
    while True:
        stop = _limit_reached(run)
        if stop is not None:
            return await _stopped(run, stop)
        step += 1
        max_output = run.limits.max_output_tokens
        if run.budget is not None:
            max_output = run.budget.reserve
            elided = run.budget.fit_conversation(system, specs, run.messages)
            if elided:
                run.record("context_trimmed", step=step, elided_tool_outputs=elided)
        request = ModelRequest(system=system, messages=run.messages, tools=specs, max_output_tokens=max_output)
        try:
            turn = await _timed_call(run, step, request)
        except TimeoutError:
            return await _stopped(run, "max_time")
        except ProviderError as exc:
            run.record("provider_error", step=step, error=run.redact(str(exc)), status=exc.status)
            return await _stopped(run, "error", detail=run.redact(str(exc)))
        turn = _normalise_turn(run, step, turn)
        _account_turn(run, step, turn)
        await run.progress(step, "model_turn", detail=_preview(turn.text))
        if not turn.tool_calls:
            if run.unanswered_nudge:
                return await _stopped(run, "no_tool_call")
            _nudge(run, turn)
            continue
        run.unanswered_nudge = False
        outcome = await _run_tools(run, step, turn.tool_calls)
        if outcome is not None:
            return outcome


def _limit_reached(run: _Run) -> str | None:
    if run.usage.steps >= run.limits.max_steps:
        return "max_steps"
    if run.usage.cost_usd >= run.limits.max_cost_usd:
        return "max_cost"
    if run.limits.max_wall_seconds is not None and run.elapsed() >= run.limits.max_wall_seconds:
        return "max_time"
    return None


async def _timed_call(run: _Run, step: int, request: ModelRequest) -> ModelTurn:
    started = time.monotonic()
    if run.limits.max_wall_seconds is None:
        turn = await run.call_model(step, request)  # raises asyncio.TimeoutError when time is up
    else:
        remaining = run.limits.max_wall_seconds - run.elapsed()
        turn = await asyncio.wait_for(run.call_model(step, request), timeout=max(remaining, 0.001))
    run.record("timing", step=step, what="model_call", seconds=round(time.monotonic() - started, 3))
    return turn


def _normalise_turn(run: _Run, step: int, turn: ModelTurn) -> ModelTurn:
    """Weak models (agent/tool_text.py): a tool call written as text becomes a call; arguments
    with repairable JSON mistakes are repaired. Done before the turn enters the conversation, so
    the model sees its calls the way they were run."""
    calls = turn.tool_calls
    if not calls and turn.text:
        calls = text_calls(turn.text, set(run.tools.names()), step)
        if calls:
            run.record("text_tool_calls", step=step, count=len(calls))
    repaired = []
    for call in calls:
        if isinstance(call.arguments, str):
            fixed = repair_arguments(call.arguments)
            if fixed is not None:
                run.record("repaired_arguments", step=step, id=call.id, name=call.name)
                call = call.model_copy(update={"arguments": fixed})
        repaired.append(call)
    if repaired == turn.tool_calls:
        return turn
    return turn.model_copy(update={"tool_calls": repaired, "stop_reason": "tool_use"})


def _account_turn(run: _Run, step: int, turn: ModelTurn) -> None:
    unpriced = 1 if turn.cost_estimated else 0
    run.usage = run.usage.add(turn.usage.model_copy(update={"steps": 1, "tool_calls": 0, "unpriced_turns": unpriced}))
    if turn.text.strip():
        run.last_text = turn.text
    run.messages.append(assistant_message(turn, run.provider.name))
    run.record(
        "message", role="assistant", step=step, content=turn.text,
        tool_calls=[c.model_dump() for c in turn.tool_calls], stop_reason=turn.stop_reason,
    )
    run.record(
        "usage", step=step, model=turn.model, turn=turn.usage.model_dump(), total=run.usage.model_dump(),
        cost_estimated=turn.cost_estimated,
    )
    if turn.cost_estimated and not run.warned_unpriced:
        run.warned_unpriced = True
        if turn.usage.cost_usd > 0:
            log.warning("no price known for model %r; cost estimated at the fallback price", turn.model)
        else:
            log.warning("no price known for model %r: its cost is unknown and max-cost-usd cannot be enforced "
                        "(set llm.input-price-per-mtok and llm.output-price-per-mtok)", turn.model)


def _nudge(run: _Run, turn: ModelTurn) -> None:
    text = NUDGE_TRUNCATED if turn.stop_reason == "max_tokens" else NUDGE
    run.messages.append(user_message(text))
    run.unanswered_nudge = True
    run.record("message", role="user", content=text, nudge=True)


async def _run_tools(run: _Run, step: int, calls: list[ToolCall]) -> FixResult | None:
    """Answer every tool call of one assistant turn (in one message); a FixResult ends the run."""
    results: list[ToolResultDict] = []
    ended: FixResult | None = None
    for call in calls:
        if ended is not None:
            # After submit_fix or the malformed limit nothing more runs; the run is over, but the
            # conversation stays well-formed for the transcript (every tool_use answered).
            results.append({"tool_call_id": call.id, "content": "Not run: the run has ended.", "is_error": True})
            continue
        outcome = await _run_one(run, step, call)
        results.append({"tool_call_id": call.id, "content": outcome.text, "is_error": outcome.is_error})
        if run.ctx.submission is not None:
            ended = await _submitted(run)
        elif run.malformed_streak >= run.limits.max_malformed_calls:
            ended = await _stopped(run, "malformed_calls")
        elif run.repeat_streak >= run.limits.max_repeated_calls:
            ended = await _stopped(run, "repeated_calls")
    run.messages.append(tool_results_message(results))
    return ended


async def _run_one(run: _Run, step: int, call: ToolCall) -> ToolOutcome:
    run.usage = run.usage.model_copy(update={"tool_calls": run.usage.tool_calls + 1})
    run.record("tool_call", step=step, id=call.id, name=call.name, arguments=call.arguments)
    started = time.monotonic()
    # Unknown tools are the malformed-call limit's business; this one is for real calls that loop.
    signature = f"{call.name}:{json.dumps(call.arguments, sort_keys=True, default=str)}"
    known = call.name in run.tools.names()
    run.repeat_streak = run.repeat_streak + 1 if known and signature == run.last_call else int(known)
    run.last_call = signature
    if run.repeat_streak >= run.limits.max_repeated_calls:
        # A small model stuck in a loop: the answer will not change, so the run ends (see _run_tools).
        text = f"Not run: {call.name} was called {run.repeat_streak} times in a row with the same arguments."
        run.record("tool_result", step=step, id=call.id, name=call.name, is_error=True, malformed=False,
                   content=text, seconds=0.0)
        return ToolOutcome(text, True)
    outcome = await run.call_tool(run.tools, run.ctx, call.name, call.arguments)
    # Calls that cannot even be attempted are the model's mistakes and count towards
    # max_malformed_calls; a tool that runs and fails (file not found, no match) does not.
    run.malformed_streak = run.malformed_streak + 1 if outcome.malformed else 0
    text = run.redact(outcome.text)
    if run.budget is not None:
        text = trim_middle(text, run.budget.tool_output, f"{call.name} output")
    outcome = ToolOutcome(text, outcome.is_error, malformed=outcome.malformed)
    seconds = round(time.monotonic() - started, 3)
    run.record(
        "tool_result", step=step, id=call.id, name=call.name, is_error=outcome.is_error,
        malformed=outcome.malformed, content=outcome.text, seconds=seconds,
    )
    await run.progress(step, "tool_result", tool=call.name, is_error=outcome.is_error, detail=_preview(outcome.text))
    return outcome


# --- results -------------------------------------------------------------------------------------

_STOP_TEXT = {
    "max_steps": "the step limit was reached",
    "max_cost": "the cost limit was reached",
    "max_time": "the time limit was reached",
    "malformed_calls": "the model made too many malformed tool calls in a row",
    "repeated_calls": "the model repeated the same tool call without progress",
    "no_tool_call": "the model stopped calling tools without submitting a fix",
    "error": "the model API failed",
}


async def _submitted(run: _Run) -> FixResult:
    s = run.ctx.submission or {}
    return FixResult(
        analysis=run.redact(str(s.get("analysis", ""))),
        root_cause=run.redact(str(s.get("root_cause", ""))),
        confidence=Confidence(str(s.get("confidence", "LOW")).upper()),
        changes=list(run.ctx.applied),
        diff=await _diff(run.ctx),
        pr_title=run.redact(str(s.get("pr_title", ""))),
        pr_body=run.redact(str(s.get("pr_body", ""))),
        reproduction_test=s.get("reproduction_test") or None,
        exit_reason="submitted",
        usage=run.usage,
    )


async def _stopped(run: _Run, reason: str, detail: str = "") -> FixResult:
    why = _STOP_TEXT.get(reason, reason) + (f" ({detail})" if detail else "")
    run.record("stopped", reason=reason, detail=detail, elapsed_s=round(run.elapsed(), 3))
    analysis = run.last_text.strip() or f"No analysis: the run ended before the model wrote one ({why})."
    return FixResult(
        analysis=run.redact(analysis),
        root_cause=f"Not determined: the run ended before a fix was submitted ({why}).",
        confidence=Confidence.LOW,
        changes=list(run.ctx.applied),
        diff=await _diff(run.ctx),
        exit_reason=reason,
        exit_detail=run.redact(why),
        usage=run.usage,
    )


async def _diff(ctx: ToolContext) -> str:
    if not ctx.applied:
        return ""
    try:
        return await asyncio.to_thread(worktree_diff, ctx.worktree, [c.file for c in ctx.applied], ctx.diff_base)
    except (ToolError, OSError) as exc:  # e.g. not a git worktree (some tests, evals from a copy)
        log.warning("could not compute the diff: %s", exc)
        return ""


def _preview(text: str, limit: int = 160) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"


__all__ = ["NUDGE", "NUDGE_TRUNCATED", "CallModel", "Limits", "OnProgress", "Progress", "prompt_version", "run_agent"]
