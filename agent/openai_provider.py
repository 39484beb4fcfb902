"""OpenAI Chat Completions through the official `openai` SDK: OpenAI itself, Azure OpenAI, and
any server that speaks Chat Completions (vLLM, llama.cpp server, LM Studio, LocalAI, LiteLLM
proxy, OpenRouter).

The SDK retries connection errors, 408/409/429 and 5xx with exponential backoff and honours
`retry-after` / `retry-after-ms`; this module adds no retry loop of its own. It translates the
neutral conversation (agent/provider.py) into Chat Completions messages: an assistant turn's
tool calls become `tool_calls` (arguments as JSON text), each tool result one `role: tool`
message. Usage: `prompt_tokens` includes cached tokens, which are split out as cache reads;
`completion_tokens` includes reasoning tokens, which are billed as output.

Reasoning models (o-series, gpt-5) take `max_completion_tokens` and no temperature.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import cache, cached_property, partial
from typing import TYPE_CHECKING, Any, ClassVar

from agent.openai_pricing import LocalPricing, OpenAIPricing, TablePricing, configured_price
from agent.provider import (
    ModelTurn,
    ProviderError,
    ProviderUnavailable,
    ToolCall,
    normalize_stop_reason,
    synthetic_call_id,
)
from agent.settings import LlmConfig
from agent.tool_text import json_mode_messages, json_mode_system
from common.config import ConnectorContext
from domain import Usage

if TYPE_CHECKING:  # the SDK itself is imported on first use: `serve` checks its configuration without it
    import openai
    from openai import AsyncAzureOpenAI, AsyncOpenAI

DEFAULT_OPENAI_MODEL = "gpt-5.1"
DEFAULT_MAX_TOKENS = 8192
DEFAULT_TIMEOUT_S = 300.0
DEFAULT_MAX_RETRIES = 3
DEFAULT_CONTEXT_WINDOW = 128_000
LOCAL_CONTEXT_WINDOW = 8192  # a local server's default when none is configured
_REASONING_MODEL = re.compile(r"^(?:openai/)?(?:o\d|gpt-5)")


def is_reasoning_model(model: str) -> bool:
    return bool(_REASONING_MODEL.match(model))


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: str) -> float | None:
    """OpenAI's reset durations ("1s", "6m0s", "20ms", "1h2m3.5s") in seconds."""
    parts = _DURATION_PART.findall(value.strip())
    if not parts or "".join(n + u for n, u in parts) != value.strip():
        return None
    return sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)


def reset_wait(headers: Any) -> float | None:
    """How long until the exhausted limit resets, from `x-ratelimit-remaining-*` /
    `x-ratelimit-reset-*` (OpenAI sends these on a 429 that may lack Retry-After)."""
    waits = []
    for limit in ("requests", "tokens"):
        if headers.get(f"x-ratelimit-remaining-{limit}") == "0":
            wait = parse_duration(headers.get(f"x-ratelimit-reset-{limit}") or "")
            if wait is not None:
                waits.append(wait)
    return max(waits) if waits else None


class _ResetHeaders:
    """Teaches the SDK's retry (which reads only Retry-After / retry-after-ms) OpenAI's reset headers."""

    def _parse_retry_after_header(self, response_headers: Any = None) -> float | None:
        hinted: float | None = super()._parse_retry_after_header(response_headers)  # type: ignore[misc]
        if hinted is not None or response_headers is None:
            return hinted
        return reset_wait(response_headers)


@cache
def _clients() -> tuple[type[AsyncOpenAI], type[AsyncAzureOpenAI]]:
    """The SDK's clients taught the reset headers; defined on first use, with the SDK's import."""
    from openai import AsyncAzureOpenAI, AsyncOpenAI

    class OpenAIClient(_ResetHeaders, AsyncOpenAI):
        pass

    class AzureOpenAIClient(_ResetHeaders, AsyncAzureOpenAI):
        pass

    return OpenAIClient, AzureOpenAIClient


class OpenAIProvider:
    name = "openai"
    # The list prices; an instance with a configured price for unknown models replaces it.
    pricing: TablePricing = OpenAIPricing()
    KEY_ENVS: ClassVar[tuple[str, ...]] = ("OPENAI_API_KEY",)  # the vendor's usual variable
    # Chat Completions accepts max_completion_tokens on every OpenAI model; other servers may
    # only know the older max_tokens.
    USE_MAX_COMPLETION_TOKENS: ClassVar[bool] = True

    @classmethod
    def from_config(cls, llm: LlmConfig, context: ConnectorContext) -> OpenAIProvider:
        key = cls.key(llm, context)
        if not key:
            raise ProviderUnavailable(f"no LLM key: set {llm.key_env} (or {' or '.join(cls.KEY_ENVS)})")
        return cls(connect=partial(cls.client_for, llm, key), llm=llm)

    @classmethod
    def key(cls, llm: LlmConfig, context: ConnectorContext) -> str | None:
        for env in (llm.key_env, *cls.KEY_ENVS):
            value = context.env(env)
            if value:
                return value
        return None

    @classmethod
    def client_for(cls, llm: LlmConfig, key: str) -> AsyncOpenAI:
        # An explicit key and base URL keep the SDK from reading OPENAI_* variables itself.
        openai_client, _ = _clients()
        return openai_client(api_key=key, base_url=llm.base_url, timeout=DEFAULT_TIMEOUT_S,
                             max_retries=DEFAULT_MAX_RETRIES)

    @classmethod
    def default_model(cls, llm: LlmConfig) -> str:
        # LlmConfig's default is a Claude model; an OpenAI provider left without a model gets its own.
        return DEFAULT_OPENAI_MODEL if llm.model.startswith("claude") else llm.model

    def __init__(self, *, llm: LlmConfig, client: AsyncOpenAI | None = None,
                 connect: Callable[[], AsyncOpenAI] | None = None) -> None:
        if client is not None:
            self.client = client
        elif connect is not None:
            self._connect = connect
        else:
            raise TypeError("OpenAIProvider needs a client or a way to connect one")
        self.model = self.default_model(llm)
        self.temperature = llm.temperature
        self.json_mode = llm.tool_calling == "json"
        self.results_as_user = llm.tool_result_role == "user"
        self.context_window = llm.context_window or self.default_context_window()
        self.pricing: TablePricing = self.make_pricing(llm)

    @cached_property
    def client(self) -> AsyncOpenAI:
        """The SDK client, made (and the SDK imported) on first use, not when the service checks
        its configuration at start-up."""
        return self._connect()

    def make_pricing(self, llm: LlmConfig) -> TablePricing:
        return OpenAIPricing(configured_price(llm.input_price_per_mtok, llm.output_price_per_mtok))

    def default_context_window(self) -> int:
        return DEFAULT_CONTEXT_WINDOW

    async def complete(
        self,
        system: str,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]],
        *,
        max_tokens: int | None = None,
    ) -> ModelTurn:
        import openai

        request = self.request(system, messages, tools, max_tokens or DEFAULT_MAX_TOKENS)
        try:
            completion = await self.client.chat.completions.create(**request)
        except openai.APIStatusError as exc:
            raise ProviderError(self._status_message(exc), status=exc.status_code,
                                retryable=exc.status_code in (408, 409, 429) or exc.status_code >= 500) from exc
        except openai.APIConnectionError as exc:  # includes APITimeoutError
            raise ProviderError(f"{self.label()} unreachable: {exc}", retryable=True) from exc
        except openai.APIError as exc:
            raise ProviderError(f"{self.label()} error: {exc}") from exc
        return self.to_turn(completion, messages)

    def label(self) -> str:
        return "OpenAI API"

    def request(self, system: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]],
                max_tokens: int) -> dict[str, Any]:
        request: dict[str, Any] = {"model": self.model}
        if self.json_mode:  # no tool calling: tools are described in the prompt, calls come back as text
            request["messages"] = [{"role": "system", "content": json_mode_system(system, tools)},
                                   *json_mode_messages(messages)]
        else:
            request["messages"] = [{"role": "system", "content": system}, *self.to_messages(messages)]
            if tools:
                request["tools"] = [tool_param(t) for t in tools]
                # "auto", never "required": some compatible servers accept only auto or a named function.
                request["tool_choice"] = "auto"
        reasoning = is_reasoning_model(self.model)
        request["max_completion_tokens" if self.USE_MAX_COMPLETION_TOKENS else "max_tokens"] = max_tokens
        if self.temperature is not None and not reasoning:
            request["temperature"] = self.temperature
        return request

    def to_messages(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for message in messages:
            role = message["role"]
            if role == "user":
                out.append({"role": "user", "content": message["content"]})
            elif role == "assistant":
                out.append(assistant_param(message))
            elif role == "tool_results":
                out.extend(self.tool_result_params(message))
            else:
                raise ValueError(f"unknown message role {role!r}")
        return out

    def tool_result_params(self, message: dict[str, Any]) -> list[dict[str, Any]]:
        if self.results_as_user:  # the same text json mode uses
            return json_mode_messages([message])
        out: list[dict[str, Any]] = [
            {"role": "tool", "tool_call_id": r["tool_call_id"],
             "content": ("ERROR: " if r["is_error"] else "") + (r["content"] or "(no output)")}
            for r in message["results"]
        ]
        if message.get("text"):
            out.append({"role": "user", "content": message["text"]})
        return out

    def to_turn(self, completion: Any, messages: list[dict[str, Any]]) -> ModelTurn:
        if not completion.choices:
            raise ProviderError(f"{self.label()} returned no choices")
        choice = completion.choices[0]
        message = choice.message
        calls = [
            ToolCall(id=call.id or synthetic_call_id(messages, i), name=call.function.name,
                     arguments=parse_arguments(call.function.arguments))
            for i, call in enumerate(message.tool_calls or [])
            if getattr(call, "function", None) is not None
        ]
        vendor_stop = choice.finish_reason
        stop = normalize_stop_reason(vendor_stop)
        if getattr(message, "refusal", None):
            stop = "refusal"
        model = completion.model or self.model
        usage, known = self.pricing.price(model, to_usage(completion.usage))
        text = message.content or getattr(message, "refusal", None) or ""
        return ModelTurn(
            text=text, tool_calls=calls, stop_reason=stop, vendor_stop_reason=vendor_stop, usage=usage,
            cost_estimated=not known, model=model, raw=None,
        )

    def _status_message(self, exc: openai.APIStatusError) -> str:
        body = exc.body if isinstance(exc.body, dict) else {}
        error = body.get("error", body)
        detail = (error.get("message") if isinstance(error, dict) else None) or (
            error if isinstance(error, str) else exc.message)
        kind = (error.get("code") or error.get("type")) if isinstance(error, dict) else None
        return f"{self.label()} {exc.status_code}{f' {kind}' if kind else ''}: {detail}"


class AzureOpenAIProvider(OpenAIProvider):
    """Azure OpenAI: the SDK's Azure client (`api-key` header, deployment paths, api-version)."""

    name = "azure-openai"
    KEY_ENVS = ("AZURE_OPENAI_API_KEY",)
    DEFAULT_API_VERSION = "2024-10-21"  # the current GA data-plane version

    @classmethod
    def from_config(cls, llm: LlmConfig, context: ConnectorContext) -> OpenAIProvider:
        if not llm.base_url:
            raise ProviderUnavailable("llm.provider azure-openai needs llm.base-url: the resource endpoint "
                                      "(https://<resource>.openai.azure.com)")
        return super().from_config(llm, context)

    @classmethod
    def client_for(cls, llm: LlmConfig, key: str) -> AsyncOpenAI:
        _, azure_client = _clients()
        return azure_client(
            api_key=key, azure_endpoint=llm.base_url or "", azure_deployment=llm.deployment or cls.default_model(llm),
            api_version=llm.api_version or cls.DEFAULT_API_VERSION, timeout=DEFAULT_TIMEOUT_S,
            max_retries=DEFAULT_MAX_RETRIES,
        )

    def label(self) -> str:
        return "Azure OpenAI"


class OpenAICompatibleProvider(OpenAIProvider):
    """Any server speaking Chat Completions. No key required; the model name is whatever the
    server serves; it costs 0 unless a price is configured; tool calling is native unless
    `llm.tool-calling: json` says the model has none."""

    name = "openai-compatible"
    pricing: TablePricing = LocalPricing()
    KEY_ENVS = ()
    USE_MAX_COMPLETION_TOKENS = False

    @classmethod
    def from_config(cls, llm: LlmConfig, context: ConnectorContext) -> OpenAIProvider:
        if not llm.base_url:
            raise ProviderUnavailable("llm.provider openai-compatible needs llm.base-url "
                                      "(e.g. http://127.0.0.1:8000/v1)")
        # Local servers want no key, but the SDK insists on one: any non-empty string will do.
        return cls(connect=partial(cls.client_for, llm, cls.key(llm, context) or "no-key"), llm=llm)

    @classmethod
    def default_model(cls, llm: LlmConfig) -> str:
        return llm.model

    def make_pricing(self, llm: LlmConfig) -> TablePricing:
        return LocalPricing(configured_price(llm.input_price_per_mtok, llm.output_price_per_mtok))

    def default_context_window(self) -> int:
        return LOCAL_CONTEXT_WINDOW

    def label(self) -> str:
        return "OpenAI-compatible server"


# --- translation ---------------------------------------------------------------------------------


def tool_param(spec: dict[str, Any]) -> dict[str, Any]:
    return {"type": "function", "function": {"name": spec["name"], "description": spec.get("description", ""),
                                             "parameters": spec["input_schema"]}}


def assistant_param(message: dict[str, Any]) -> dict[str, Any]:
    # content "" rather than null: some compatible servers' chat templates fail on null.
    param: dict[str, Any] = {"role": "assistant", "content": message.get("text") or ""}
    calls = message.get("tool_calls") or []
    if calls:
        param["tool_calls"] = [
            {"id": c["id"], "type": "function",
             "function": {"name": c["name"], "arguments": c["arguments"] if isinstance(c["arguments"], str)
                          else json.dumps(c["arguments"], ensure_ascii=False)}}
            for c in calls
        ]
    return param


def parse_arguments(raw: str | None) -> dict[str, Any] | str:
    """The arguments object, or the raw text when it is not one (the loop repairs or rejects it)."""
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError:
        return raw
    return parsed if isinstance(parsed, dict) else raw


def to_usage(usage: Any) -> Usage:
    if usage is None:
        return Usage()
    details = getattr(usage, "prompt_tokens_details", None)
    cached = (getattr(details, "cached_tokens", None) or 0) if details is not None else 0
    prompt = usage.prompt_tokens or 0
    return Usage(input_tokens=max(prompt - cached, 0), cache_read_tokens=cached,
                 output_tokens=usage.completion_tokens or 0)
