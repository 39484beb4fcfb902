"""Local models through Ollama's native API (`POST /api/chat`, `POST /api/show`), over the shared
HttpClient (common/http.py: pooled connections, retries with backoff on 5xx, 429 and connection
resets, which covers Ollama's "model is loading" / "server busy" answers).

Why the native API rather than Ollama's OpenAI-compatible one: only the native API takes
`options.num_ctx`. Without it Ollama silently truncates the prompt to its default context
(2k-4k tokens depending on the version), and an agent's first message alone is larger. The
window comes from `llm.context-window`, else from `/api/show` (`<architecture>.context_length`),
capped at MAX_NUM_CTX so a 128k model does not allocate 128k of KV cache on a laptop.

Ollama's tool calls carry no id; ids are synthesised from the turn's position (stable across a
replayed run). Arguments arrive as an object; tool results go back as `role: tool` messages
with `tool_name`. Models that answer a tool call as text are handled by the loop
(agent/tool_text.py), like any provider's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

from agent.openai_pricing import LocalPricing, configured_price
from agent.provider import ModelTurn, ProviderError, ToolCall, normalize_stop_reason, synthetic_call_id
from agent.settings import LlmConfig
from agent.tool_text import json_mode_messages, json_mode_system
from common.config import ConnectorContext
from common.http import HttpClient, HttpError, RetryPolicy
from domain import Usage

DEFAULT_BASE_URL = "http://127.0.0.1:11434"
DEFAULT_OLLAMA_MODEL = "qwen2.5-coder:7b"
DEFAULT_MAX_TOKENS = 4096
FALLBACK_NUM_CTX = 8192  # /api/show said nothing usable
MAX_NUM_CTX = 32_768
TIMEOUT_S = 600.0  # a CPU-only model can take minutes per turn


class OllamaClient(HttpClient):
    name = "ollama"
    vendor = "Ollama"
    base_url_hint = "is llm.base-url Ollama's root (http://host:11434, without /api or /v1)?"
    status_hints: ClassVar[Mapping[int, str]] = {404: "the model is not pulled: run `ollama pull <model>`"}


class OllamaProvider:
    name = "ollama"
    pricing: LocalPricing = LocalPricing()  # free; an instance with a configured price replaces it

    @classmethod
    def from_config(cls, llm: LlmConfig, context: ConnectorContext) -> OllamaProvider:
        model = DEFAULT_OLLAMA_MODEL if llm.model.startswith("claude") else llm.model
        retry = RetryPolicy(max_attempts=context.max_attempts, initial_wait=context.backoff_seconds)
        return cls(OllamaClient(llm.base_url or DEFAULT_BASE_URL, timeout=TIMEOUT_S, retry=retry), model=model, llm=llm)

    def __init__(self, client: OllamaClient, *, model: str, llm: LlmConfig) -> None:
        self.client = client
        self.model = model
        self.keep_alive = llm.keep_alive
        self.temperature = llm.temperature
        self.json_mode = llm.tool_calling == "json"
        self.configured_window = llm.context_window
        self._window: int | None = llm.context_window
        self.pricing = LocalPricing(configured_price(llm.input_price_per_mtok, llm.output_price_per_mtok))

    async def context_window_tokens(self) -> int:
        """The window the model runs with: configured, else what /api/show reports (capped)."""
        if self._window is None:
            self._window = min(await self._probe_window() or FALLBACK_NUM_CTX, MAX_NUM_CTX)
        return self._window

    async def _probe_window(self) -> int | None:
        try:
            response = await self.client.request("POST", "/api/show", json={"model": self.model},
                                                 what=f"reading model {self.model}")
            info = self.client.json_body(response, what="model information").get("model_info") or {}
        except (HttpError, AttributeError) as exc:
            raise ProviderError(str(exc), status=getattr(exc, "status", None),
                                retryable=getattr(exc, "retryable", False)) from exc
        lengths = [v for k, v in info.items() if k.endswith(".context_length") and isinstance(v, int)]
        return max(lengths) if lengths else None

    async def complete(
        self,
        system: str,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]],
        *,
        max_tokens: int | None = None,
    ) -> ModelTurn:
        body = self.request(system, messages, tools, max_tokens or DEFAULT_MAX_TOKENS,
                            await self.context_window_tokens())
        try:
            response = await self.client.request("POST", "/api/chat", json=body, what="chat")
            data = self.client.json_body(response, what="chat answer")
        except HttpError as exc:
            raise ProviderError(str(exc), status=exc.status, retryable=exc.retryable) from exc
        if not isinstance(data, dict) or not isinstance(data.get("message"), dict):
            raise ProviderError("Ollama answered without a message")
        if data.get("error"):
            raise ProviderError(f"Ollama: {data['error']}")
        return self.to_turn(data, messages)

    def request(self, system: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]],
                max_tokens: int, num_ctx: int) -> dict[str, Any]:
        options: dict[str, Any] = {"num_ctx": num_ctx, "num_predict": max_tokens}
        if self.temperature is not None:
            options["temperature"] = self.temperature
        body: dict[str, Any] = {"model": self.model, "stream": False, "options": options}
        if self.json_mode:
            body["messages"] = [{"role": "system", "content": json_mode_system(system, tools)},
                                *json_mode_messages(messages)]
        else:
            body["messages"] = [{"role": "system", "content": system}, *to_ollama_messages(messages)]
            if tools:
                body["tools"] = [{"type": "function", "function": {
                    "name": t["name"], "description": t.get("description", ""), "parameters": t["input_schema"]}}
                    for t in tools]
        if self.keep_alive is not None:
            # A duration ("30m") as a string; plain seconds (-1: forever) as a number, as Ollama parses them.
            bare = self.keep_alive.lstrip("-")
            body["keep_alive"] = int(self.keep_alive) if bare.isdigit() else self.keep_alive
        return body

    def to_turn(self, data: dict[str, Any], messages: list[dict[str, Any]]) -> ModelTurn:
        message = data["message"]
        calls: list[ToolCall] = []
        for i, call in enumerate(message.get("tool_calls") or []):
            function = call.get("function") or {}
            if not isinstance(function.get("name"), str):
                continue
            args = function.get("arguments", {})
            calls.append(ToolCall(id=call.get("id") or synthetic_call_id(messages, i), name=function["name"],
                                  arguments=args if isinstance(args, (dict, str)) else json.dumps(args)))
        vendor = data.get("done_reason")
        # Ollama says "stop" even when the turn is a tool call.
        stop = "tool_use" if calls and vendor in (None, "stop") else normalize_stop_reason(vendor)
        model = data.get("model") or self.model
        usage, known = self.pricing.price(model, Usage(input_tokens=int(data.get("prompt_eval_count") or 0),
                                                       output_tokens=int(data.get("eval_count") or 0)))
        return ModelTurn(text=message.get("content") or "", tool_calls=calls, stop_reason=stop,
                         vendor_stop_reason=vendor, usage=usage, cost_estimated=not known, model=model)


def to_ollama_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    names: dict[str, str] = {}  # tool_call_id -> tool name (Ollama pairs results by name)
    for m in messages:
        if m["role"] == "user":
            out.append({"role": "user", "content": m["content"]})
        elif m["role"] == "assistant":
            entry: dict[str, Any] = {"role": "assistant", "content": m.get("text") or ""}
            calls = m.get("tool_calls") or []
            if calls:
                entry["tool_calls"] = [{"function": {"name": c["name"], "arguments": c["arguments"]
                                                     if isinstance(c["arguments"], dict) else {"_raw": c["arguments"]}}}
                                       for c in calls]
                names.update({c["id"]: c["name"] for c in calls})
            out.append(entry)
        elif m["role"] == "tool_results":
            for r in m["results"]:
                out.append({"role": "tool", "tool_name": names.get(r["tool_call_id"], ""),
                            "content": ("ERROR: " if r["is_error"] else "") + (r["content"] or "(no output)")})
            if m.get("text"):
                out.append({"role": "user", "content": m["text"]})
    return out
