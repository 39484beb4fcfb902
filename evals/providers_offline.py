"""Offline model providers for the eval harness: the oracle and the null baseline.

Both are `ModelProvider`s driven by the real agent loop and the real tools, so an offline run
exercises everything except the model's judgement:

* `oracle` plays the case's gold patch: one propose_patch call carrying the gold edits, then
  submit_fix with HIGH confidence. Every case must score 100 % with it; a case that does not
  is broken (its tests, its gold patch, or the harness).
* `null` submits no change with LOW confidence. Every case must score 0 % with it; a case
  that resolves anyway has tests that cannot fail, and scores nothing.

Like the replay provider, each names itself in transcripts and reports, so an offline run can
never pass for a model's work.
"""

from __future__ import annotations

from typing import Any

from agent.pricing import FreePricing
from agent.provider import ModelTurn, ProviderError, ToolCall
from domain import FileChange, Usage


def _assistant_turns(messages: list[dict[str, Any]]) -> int:
    # Which turn to play is derived from the conversation, as ReplayProvider does: no state of
    # our own, so one provider instance can serve several runs at once.
    return sum(1 for m in messages if m.get("role") == "assistant")


def _last_results_failed(messages: list[dict[str, Any]]) -> str | None:
    for message in reversed(messages):
        if message.get("role") == "tool_results":
            failed = [r["content"] for r in message.get("results", []) if r.get("is_error")]
            return failed[0] if failed else None
    return None


def _turn(model: str, call: ToolCall, text: str) -> ModelTurn:
    return ModelTurn(text=text, tool_calls=[call], stop_reason="tool_use", usage=Usage(), model=model)


def submit_call(call_id: str, *, confidence: str, analysis: str, root_cause: str, title: str, body: str) -> ToolCall:
    return ToolCall(id=call_id, name="submit_fix", arguments={
        "analysis": analysis, "root_cause": root_cause, "confidence": confidence,
        "pr_title": title, "pr_body": body,
    })


class OracleProvider:
    """Plays the gold patch through propose_patch, then submits it with HIGH confidence."""

    name = "oracle"
    pricing = FreePricing()  # no model runs: nothing is paid

    def __init__(self, case_id: str, edits: list[FileChange]) -> None:
        self.case_id = case_id
        self.edits = edits
        self.model = "oracle:gold.patch"

    async def complete(
        self, system: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]], *, max_tokens: int | None = None
    ) -> ModelTurn:
        index = _assistant_turns(messages)
        if index == 0 and self.edits:
            changes = [c.model_dump() for c in self.edits]
            call = ToolCall(id="oracle-1", name="propose_patch", arguments={"changes": changes})
            return _turn(self.model, call, f"ORACLE: applying the gold patch of {self.case_id}.")
        if index <= 1:
            problem = _last_results_failed(messages) if self.edits else None
            # A gold patch the tools refuse is a broken case: submit LOW so it shows as unresolved.
            confidence = "LOW" if problem else "HIGH"
            analysis = (f"ORACLE: the gold patch was refused by propose_patch: {problem}" if problem
                        else f"ORACLE: the gold patch of {self.case_id}, applied through propose_patch.")
            call = submit_call(
                "oracle-2", confidence=confidence, analysis=analysis,
                root_cause="The reference fix (gold.patch) of this eval case.",
                title=f"Apply the gold patch of {self.case_id}", body="Oracle run of the eval harness: the gold patch.",
            )
            return _turn(self.model, call, "ORACLE: submitting.")
        raise ProviderError("the oracle has no more turns (the run continued after submit_fix)")


class NullProvider:
    """Submits no change with LOW confidence: the floor every case must score 0 % on."""

    name = "null"
    pricing = FreePricing()
    model = "null"

    async def complete(
        self, system: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]], *, max_tokens: int | None = None
    ) -> ModelTurn:
        if _assistant_turns(messages) == 0:
            call = submit_call(
                "null-1", confidence="LOW", analysis="NULL baseline: no investigation, no change.",
                root_cause="Not investigated (null baseline).", title="No change (null baseline)",
                body="Null run of the eval harness: submits no change.",
            )
            return _turn(self.model, call, "NULL: submitting no change.")
        raise ProviderError("the null provider has no more turns")
