"""A local fake of the OpenAI Chat Completions API, for tests only: `POST /v1/chat/completions`
(OpenAI, and any OpenAI-compatible server) and Azure OpenAI's
`POST /openai/deployments/{deployment}/chat/completions?api-version=…` with the `api-key` header.

Responses are built on the real recorded response in
shared/fixtures/apis/real/openai/pydantic-ai__chat-completions-tool-calls_2-turns.json (ids,
`object`, `service_tier`, `system_fingerprint`, usage with `prompt_tokens_details.cached_tokens`
and `completion_tokens_details.reasoning_tokens`), errors on the recorded error bodies
(`{"error": {"message", "type", "param", "code"}}`). Requests are checked the way the API checks
them: auth, model, message roles, every assistant `tool_calls` id answered by a `role: tool`
message before the next turn, tools declared as `{"type": "function", "function": {...}}`,
`max_completion_tokens` only (never `max_tokens`) for reasoning models, no temperature for them.
"""

from __future__ import annotations

import copy
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from quart import Quart, Response, request

from tests.fixtures_path import shared_dir

API_KEY = "test-openai-key-not-real"
REAL = shared_dir() / "fixtures" / "apis" / "real" / "openai"
_ids = itertools.count(1)


def recorded_response() -> dict[str, Any]:
    """The recorded first turn's response body (a tool call), the template of every answer."""
    cassette = json.loads((REAL / "pydantic-ai__chat-completions-tool-calls_2-turns.json").read_text())
    body: dict[str, Any] = cassette[0]["response"]["body"]
    return body


@dataclass
class Completion:
    """One scripted answer."""

    content: str | None = None
    tool_calls: list[tuple[str, dict[str, Any] | str]] = field(default_factory=list)
    finish_reason: str | None = None  # default: tool_calls when calls are made, else stop
    prompt_tokens: int = 1000
    completion_tokens: int = 100
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    refusal: str | None = None
    omit_ids: bool = False  # some compatible servers send tool calls without ids


@dataclass
class Failure:
    status: int
    message: str = "The server had an error while processing your request."
    type: str = "server_error"
    headers: dict[str, str] = field(default_factory=dict)


class Rejected(Exception):
    def __init__(self, message: str, status: int = 400, kind: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.message, self.status, self.kind = message, status, kind


class FakeOpenAI:
    def __init__(self, *, api_key: str | None = API_KEY, azure: bool = False) -> None:
        self.api_key = api_key  # None: no key needed (a local compatible server)
        self.azure = azure
        self.script: list[Completion | Failure] = []
        self.requests: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.rejections: list[str] = []
        self.template = recorded_response()
        self.app = self._build_app()

    def _build_app(self) -> Quart:
        app = Quart(__name__)

        async def handle(deployment: str | None = None) -> Response:
            self.paths.append(request.full_path)
            try:
                self._check_auth({k.lower(): v for k, v in request.headers.items()}, deployment)
                body = json.loads(await request.get_data())
                self.requests.append(body)
                validate(body, azure=self.azure)
                if not self.script:
                    raise Rejected("fake: the script has no turn left for this request")
                item = self.script.pop(0)
            except Rejected as exc:
                self.rejections.append(exc.message)
                return _error(exc.status, exc.message, exc.kind)
            if isinstance(item, Failure):
                return _error(item.status, item.message, item.type, item.headers)
            return Response(json.dumps(self._answer(body, item, deployment)), 200,
                            {"content-type": "application/json", "x-request-id": f"req_{next(_ids)}"})

        @app.post("/v1/chat/completions")
        async def chat() -> Response:
            if self.azure:
                return _error(404, "Resource not found", "not_found")
            return await handle()

        @app.post("/openai/deployments/<deployment>/chat/completions")
        async def azure_chat(deployment: str) -> Response:
            if not self.azure:
                return _error(404, "Not found", "not_found")
            if not request.args.get("api-version"):
                return _error(404, "Resource not found: api-version is required", "not_found")
            return await handle(deployment)

        return app

    def _check_auth(self, headers: dict[str, str], deployment: str | None) -> None:
        if self.api_key is None:
            return
        given = headers.get("api-key") if self.azure else headers.get("authorization", "").removeprefix("Bearer ")
        if given != self.api_key:
            what = "api-key header" if self.azure else "API key"
            raise Rejected(f"Incorrect {what} provided.", 401, "invalid_request_error")

    def _answer(self, body: dict[str, Any], item: Completion, deployment: str | None) -> dict[str, Any]:
        answer = copy.deepcopy(self.template)
        answer["id"] = f"chatcmpl-fake{next(_ids)}"
        # Azure answers with the deployed model's name (e.g. gpt-4o-2024-11-20), not the
        # deployment's; the request's model stands in for it here.
        answer["model"] = body.get("model") or deployment
        calls = [
            {**({} if item.omit_ids else {"id": f"call_fake{next(_ids)}"}), "type": "function",
             "function": {"name": name, "arguments": args if isinstance(args, str) else json.dumps(args)}}
            for name, args in item.tool_calls
        ]
        message = answer["choices"][0]["message"]
        message.update(content=item.content, refusal=item.refusal, tool_calls=calls or None)
        answer["choices"][0]["finish_reason"] = item.finish_reason or ("tool_calls" if calls else "stop")
        usage = answer["usage"]
        usage.update(prompt_tokens=item.prompt_tokens, completion_tokens=item.completion_tokens,
                     total_tokens=item.prompt_tokens + item.completion_tokens)
        usage["prompt_tokens_details"]["cached_tokens"] = item.cached_tokens
        usage["completion_tokens_details"]["reasoning_tokens"] = item.reasoning_tokens
        return answer


def validate(body: Any, *, azure: bool = False) -> None:
    if not isinstance(body, dict):
        raise Rejected("request body must be a JSON object")
    if not azure and not isinstance(body.get("model"), str):
        raise Rejected("you must provide a model parameter")
    model = str(body.get("model", ""))
    if model.startswith(("o1", "o3", "o4", "gpt-5")):
        if "max_tokens" in body:
            raise Rejected("Unsupported parameter: 'max_tokens' is not supported with this model. "
                           "Use 'max_completion_tokens' instead.")
        if "temperature" in body and body["temperature"] != 1:
            raise Rejected("Unsupported value: 'temperature' does not support this value with this model.")
    for tool in body.get("tools") or []:
        fn = tool.get("function") if isinstance(tool, dict) else None
        if tool.get("type") != "function" or not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
            raise Rejected("Invalid 'tools': each tool must be {type: function, function: {name, ...}}")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise Rejected("'messages' must be a non-empty array")
    pending: list[str] = []
    for i, m in enumerate(messages):
        role = m.get("role") if isinstance(m, dict) else None
        if role not in ("system", "developer", "user", "assistant", "tool"):
            raise Rejected(f"Invalid value for 'messages[{i}].role'")
        if role == "tool":
            if m.get("tool_call_id") not in pending:
                raise Rejected(f"messages[{i}]: a message with role 'tool' must answer a preceding tool_calls id")
            pending.remove(m["tool_call_id"])
            continue
        if pending:
            raise Rejected("An assistant message with 'tool_calls' must be followed by tool messages responding "
                           f"to each 'tool_call_id'. The following tool_call_ids did not have response messages: "
                           f"{', '.join(pending)}")
        if role == "assistant":
            for call in m.get("tool_calls") or []:
                if not isinstance(call.get("function", {}).get("arguments"), str):
                    raise Rejected(f"messages[{i}].tool_calls: function.arguments must be a string")
                pending.append(call["id"])
        elif not isinstance(m.get("content"), str):
            raise Rejected(f"messages[{i}].content must be a string")


def _error(status: int, message: str, kind: str, headers: dict[str, str] | None = None) -> Response:
    body = {"error": {"message": message, "type": kind, "param": None, "code": None}}
    return Response(json.dumps(body), status, {"content-type": "application/json", **(headers or {})})
