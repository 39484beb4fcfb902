"""The provider protocol and the provider-neutral conversation the loop keeps.

The loop never speaks a vendor's wire format. It keeps the conversation as plain JSON-able
dicts (so a durable step can checkpoint a request and its turn) in three shapes:

    {"role": "user", "content": "text"}
    {"role": "assistant", "text": "...", "tool_calls": [{"id", "name", "arguments"}],
     "provider": "anthropic", "raw": <provider-native content>}
    {"role": "tool_results", "results": [{"tool_call_id", "content", "is_error"}], "text": "..."}

and tools as `ToolSpec`s, `{"name", "description", "input_schema"}` (declared in tools/base.py,
where the tools render them). Each provider translates these into its
own API (Anthropic: tool results become a user message of tool_result blocks; OpenAI: one
`tool` message per result). An assistant message carries `raw`, the provider's own rendering
of that turn, so the same provider can send it back byte-for-byte (thinking blocks and their
signatures included) while another provider rebuilds it from `text` and `tool_calls`.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol, TypedDict, runtime_checkable

from pydantic import BaseModel, Field, model_validator

from agent.pricing import Pricing
from domain import Usage
from tools.base import ToolSpec as ToolSpec  # re-exported: the neutral tool declaration


class ToolCall(BaseModel):
    id: str
    name: str
    # The parsed arguments, or the raw string when the model sent something that is not a
    # JSON object (the loop answers it with an error instead of running the tool).
    arguments: dict[str, Any] | str = Field(default_factory=dict)


# Why a turn ended, in the loop's words. Providers map their vendor's values onto these, so the
# loop never tests a vendor string (Anthropic's end_turn, OpenAI's "length", Ollama's "done_reason").
StopReason = Literal["end_turn", "tool_use", "max_tokens", "refusal"]

# Values other vendors use for the same four reasons. Anything unknown ends the turn normally.
_STOP_REASON_SYNONYMS: dict[str, StopReason] = {
    "end_turn": "end_turn", "stop": "end_turn", "stop_sequence": "end_turn", "pause_turn": "end_turn",
    "tool_use": "tool_use", "tool_calls": "tool_use", "function_call": "tool_use",
    "max_tokens": "max_tokens", "length": "max_tokens", "model_context_window_exceeded": "max_tokens",
    "refusal": "refusal", "content_filter": "refusal",
}


def normalize_stop_reason(value: str | None) -> StopReason | None:
    if value is None:
        return None
    return _STOP_REASON_SYNONYMS.get(value, "end_turn")


class ModelTurn(BaseModel):
    """One assistant turn, normalised."""

    text: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    stop_reason: StopReason | None = None
    vendor_stop_reason: str | None = None  # what the API said, kept for the transcript
    usage: Usage = Field(default_factory=Usage)  # tokens of this turn, cost filled by pricing
    cost_estimated: bool = False  # the model's price was unknown: the fallback price was used
    model: str = ""  # the model that answered, as the API reported it
    raw: Any = None  # provider-native assistant content, sent back verbatim by the same provider

    @model_validator(mode="before")
    @classmethod
    def _normalise_stop_reason(cls, data: Any) -> Any:
        # Recordings and checkpoints written before normalisation hold the vendor's value.
        if isinstance(data, dict) and isinstance(data.get("stop_reason"), str):
            vendor = data["stop_reason"]
            data = {**data, "stop_reason": normalize_stop_reason(vendor)}
            data.setdefault("vendor_stop_reason", vendor)
        return data


class UserMessage(TypedDict):
    role: Literal["user"]
    content: str


class ToolCallDict(TypedDict):
    id: str
    name: str
    arguments: dict[str, Any] | str


class AssistantMessage(TypedDict, total=False):
    role: Literal["assistant"]
    text: str
    tool_calls: list[ToolCallDict]
    provider: str
    raw: Any


class ToolResultDict(TypedDict):
    tool_call_id: str
    content: str
    is_error: bool


class ToolResultsMessage(TypedDict, total=False):
    role: Literal["tool_results"]
    results: list[ToolResultDict]
    text: str  # optional note after the results (a nudge), in the same user turn


class ModelRequest(BaseModel):
    """Everything one model call needs, as plain data, so a durable step can record it."""

    system: str
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]]
    max_output_tokens: int | None = None


class ProviderUnavailable(Exception):
    """The provider cannot start (no key, no recording); the message says what to set."""


class ProviderError(Exception):
    """The model API failed after the client's own retries (or refused the request)."""

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable


@runtime_checkable
class ModelProvider(Protocol):
    """One LLM API. `complete()` returns a turn whose `usage.cost_usd` comes from the provider's
    own `pricing` (a local model costs 0 and is known) and whose stop reason is normalised."""

    name: str  # "anthropic" | "openai" | "replay" …
    model: str

    @property
    def pricing(self) -> Pricing:
        """The provider's own price list (read-only: each provider has its own Pricing class)."""
        ...

    async def complete(
        self,
        system: str,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]],
        *,
        max_tokens: int | None = None,
    ) -> ModelTurn: ...


# --- building neutral messages (used by the loop and by scripted providers in tests) ------------


def user_message(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def assistant_message(turn: ModelTurn, provider: str) -> dict[str, Any]:
    return {
        "role": "assistant",
        "text": turn.text,
        "tool_calls": [c.model_dump() for c in turn.tool_calls],
        "provider": provider,
        "raw": turn.raw,
    }


def tool_results_message(results: list[ToolResultDict], text: str = "") -> dict[str, Any]:
    message: dict[str, Any] = {"role": "tool_results", "results": results}
    if text:
        message["text"] = text
    return message


def synthetic_call_id(messages: list[dict[str, Any]], index: int) -> str:
    """A stable id for a tool call the API sent without one (Ollama, some compatible servers):
    derived from the turn's position, so a replayed or resumed run gets the same id."""
    turn = sum(1 for m in messages if m.get("role") == "assistant")
    return f"call_{turn}_{index}"
