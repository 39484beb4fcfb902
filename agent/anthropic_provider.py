"""Claude through the official `anthropic` SDK (Messages API, tool use, prompt caching).

The SDK already retries connection errors, 408/409/429 and 5xx with exponential backoff and
honours `retry-after`, so this file adds no retry loop of its own: it sets how many retries
and how long a request may take, translates the neutral conversation into Messages API
blocks, and maps the answer (and its usage) back.

Prompt caching: the stable prefix is tools + system, so both carry a breakpoint; a third sits
on the last block of the latest user turn, so each turn reads the whole previous conversation
from the cache and writes only what is new (the API allows four breakpoints per request).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any

from agent.pricing import DEFAULT_MODEL, AnthropicPricing
from agent.provider import ModelTurn, ProviderError, ProviderUnavailable, ToolCall, normalize_stop_reason
from agent.settings import LlmConfig
from common.config import ConnectorContext
from domain import Usage

if TYPE_CHECKING:  # the SDK itself is imported on first use: it costs `serve` ~0.7 s of start-up
    import anthropic
    from anthropic import AsyncAnthropic
    from anthropic.types import CacheControlEphemeralParam, TextBlockParam, ToolParam

EPHEMERAL: CacheControlEphemeralParam = {"type": "ephemeral"}
DEFAULT_MAX_TOKENS = 8192
DEFAULT_TIMEOUT_S = 300.0  # one non-streamed turn; long enough for a full max_tokens answer
DEFAULT_MAX_RETRIES = 3


class AnthropicProvider:
    name = "anthropic"
    pricing = AnthropicPricing()

    @classmethod
    def from_config(cls, llm: LlmConfig, context: ConnectorContext) -> AnthropicProvider:
        key = context.env(llm.key_env) or context.env("ANTHROPIC_API_KEY")
        if not key:
            raise ProviderUnavailable(f"no LLM key: set {llm.key_env} (or ANTHROPIC_API_KEY)")
        return cls(api_key=key, model=llm.model, base_url=llm.base_url)

    def __init__(
        self,
        *,
        api_key: str,
        model: str = DEFAULT_MODEL,
        base_url: str | None = None,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_retries: int = DEFAULT_MAX_RETRIES,
        client: AsyncAnthropic | None = None,
        connect: Callable[[], AsyncAnthropic] | None = None,
    ) -> None:
        self.model = model
        self.max_tokens = max_tokens
        self._connect = connect or partial(_client, api_key, base_url, timeout_s, max_retries)
        if client is not None:
            self.client = client

    @cached_property
    def client(self) -> AsyncAnthropic:
        """The SDK client, made (and the SDK imported) on first use, not when the service checks
        its configuration at start-up."""
        return self._connect()

    async def complete(
        self,
        system: str,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]],
        *,
        max_tokens: int | None = None,
    ) -> ModelTurn:
        import anthropic

        try:
            message = await self.client.messages.create(
                model=self.model,
                max_tokens=max_tokens or self.max_tokens,
                system=system_blocks(system),
                tools=tool_params(tools),
                # Neutral messages are converted key by key into JSON-shaped dicts; the SDK's
                # MessageParam union of TypedDicts cannot be inferred from them.
                messages=to_anthropic_messages(messages),  # type: ignore[arg-type]
            )
        except anthropic.APIStatusError as exc:
            raise ProviderError(_status_message(exc), status=exc.status_code, retryable=_retryable(exc)) from exc
        except anthropic.APIConnectionError as exc:  # includes APITimeoutError
            raise ProviderError(f"Anthropic API unreachable: {exc}", retryable=True) from exc
        except anthropic.APIError as exc:  # e.g. a response that does not parse as a Message
            raise ProviderError(f"Anthropic API error: {exc}") from exc
        return self.to_turn(message)

    def to_turn(self, message: Any) -> ModelTurn:
        texts: list[str] = []
        calls: list[ToolCall] = []
        for block in message.content:
            if block.type == "text":
                texts.append(block.text)
            elif block.type == "tool_use":
                calls.append(ToolCall(id=block.id, name=block.name, arguments=_arguments(block.input)))
        usage, known = self.pricing.price(message.model or self.model, _usage(message.usage))
        return ModelTurn(
            text="\n\n".join(t for t in texts if t),
            tool_calls=calls,
            stop_reason=normalize_stop_reason(message.stop_reason),
            vendor_stop_reason=message.stop_reason,
            usage=usage,
            cost_estimated=not known,
            model=message.model or self.model,
            raw=[_block_param(b) for b in message.content],
        )


def _client(api_key: str, base_url: str | None, timeout_s: float, max_retries: int) -> AsyncAnthropic:
    from anthropic import AsyncAnthropic

    # An explicit api_key keeps the SDK from reading ANTHROPIC_* variables or profiles:
    # the configured key is the only credential this service uses.
    return AsyncAnthropic(api_key=api_key, base_url=base_url, timeout=timeout_s, max_retries=max_retries)


# --- request translation --------------------------------------------------------------------


def system_blocks(system: str) -> list[TextBlockParam]:
    return [{"type": "text", "text": system, "cache_control": EPHEMERAL.copy()}]


def tool_params(tools: list[dict[str, Any]]) -> list[ToolParam]:
    params: list[ToolParam] = [
        {"name": t["name"], "description": t.get("description", ""), "input_schema": t["input_schema"]}
        for t in tools
    ]
    if params:
        params[-1]["cache_control"] = EPHEMERAL.copy()
    return params


def to_anthropic_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Neutral conversation → Messages API `messages`, with a cache breakpoint on the latest
    user turn."""
    out = [_to_native(m) for m in messages]
    _mark_last_user_turn(out)
    return out


def _to_native(message: dict[str, Any]) -> dict[str, Any]:
    role = message["role"]
    if role == "user":
        return {"role": "user", "content": [{"type": "text", "text": message["content"] or "(empty)"}]}
    if role == "assistant":
        return {"role": "assistant", "content": _assistant_content(message)}
    if role == "tool_results":
        content: list[dict[str, Any]] = [
            {
                "type": "tool_result",
                "tool_use_id": r["tool_call_id"],
                "content": r["content"] or "(no output)",
                "is_error": bool(r["is_error"]),
            }
            for r in message["results"]
        ]
        if message.get("text"):  # text may follow tool_result blocks in the same user turn
            content.append({"type": "text", "text": message["text"]})
        return {"role": "user", "content": content}
    raise ValueError(f"unknown message role {role!r}")


def _assistant_content(message: dict[str, Any]) -> list[dict[str, Any]]:
    if message.get("provider") == AnthropicProvider.name and message.get("raw"):
        return copy.deepcopy(message["raw"])
    blocks: list[dict[str, Any]] = []
    if message.get("text"):
        blocks.append({"type": "text", "text": message["text"]})
    for call in message.get("tool_calls", []):
        args = call["arguments"]
        # A malformed call still has to be replayed as a tool_use (its tool_result follows);
        # the API wants an object, so the raw string is wrapped.
        blocks.append(
            {"type": "tool_use", "id": call["id"], "name": call["name"],
             "input": args if isinstance(args, dict) else {"_raw": args}}
        )
    return blocks or [{"type": "text", "text": "(no content)"}]


def _mark_last_user_turn(messages: list[dict[str, Any]]) -> None:
    for message in reversed(messages):
        if message["role"] == "user" and message["content"]:
            message["content"][-1]["cache_control"] = dict(EPHEMERAL)
            return


# --- response translation -------------------------------------------------------------------


def _arguments(value: Any) -> dict[str, Any] | str:
    if isinstance(value, dict):
        return value
    if isinstance(value, str):  # some gateways pass the JSON text through unparsed
        try:
            parsed = json.loads(value)
        except ValueError:
            return value
        return parsed if isinstance(parsed, dict) else value
    return json.dumps(value)


def _usage(usage: Any) -> Usage:
    return Usage(
        input_tokens=usage.input_tokens or 0,
        output_tokens=usage.output_tokens or 0,
        cache_read_tokens=getattr(usage, "cache_read_input_tokens", None) or 0,
        cache_write_tokens=getattr(usage, "cache_creation_input_tokens", None) or 0,
    )


def _block_param(block: Any) -> dict[str, Any]:
    """A response content block as a request block (response-only fields dropped)."""
    if block.type == "text":
        return {"type": "text", "text": block.text}
    if block.type == "tool_use":
        return {"type": "tool_use", "id": block.id, "name": block.name, "input": block.input}
    if block.type == "thinking":
        return {"type": "thinking", "thinking": block.thinking, "signature": block.signature}
    if block.type == "redacted_thinking":
        return {"type": "redacted_thinking", "data": block.data}
    dumped: dict[str, Any] = block.model_dump(mode="json", exclude_none=True)
    return dumped


def _status_message(exc: anthropic.APIStatusError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    raw_error = body.get("error")
    error = raw_error if isinstance(raw_error, dict) else {}
    kind = error.get("type") or "error"
    detail = error.get("message") or str(exc)
    return f"Anthropic API {exc.status_code} {kind}: {detail}"


def _retryable(exc: anthropic.APIStatusError) -> bool:
    return exc.status_code in (408, 409, 429) or exc.status_code >= 500
