"""A local fake of the Anthropic Messages API (`POST /v1/messages`), for tests only.

It plays a script of assistant turns and checks every request the way the real API would
(headers, required fields, tool declarations, tool_use/tool_result pairing, role order, cache
breakpoints), answering violations with the API's error shape:

    400 {"type": "error", "error": {"type": "invalid_request_error", "message": ...}, "request_id": ...}

Responses follow the documented Message object: `msg_…` id, type "message", role "assistant",
content blocks, model, stop_reason ("tool_use" when a tool is called, else "end_turn"),
stop_sequence null, and usage with input, output, cache-creation and cache-read tokens.

Prompt caching is simulated: a breakpoint stores a hash of the prefix up to it; a later request
whose prefix matches one stored (at the breakpoint or up to 20 blocks before it, as the real
cache looks back) reads those tokens from the cache. Tokens are estimated as characters / 4,
and the real minimum cacheable length is ignored.

Script items: a list of content blocks (one assistant turn), a `Turn` (blocks plus stop reason
or usage overrides), a `Failure` (an HTTP error for one attempt, e.g. 529 then success, to
exercise the SDK's retries), or a callable that builds the turn from the request body.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import re
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from quart import Quart, Response, request

API_KEY = "test-key-not-real"
TOOL_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
TOOL_ID_RE = re.compile(r"^[a-zA-Z0-9_-]+$")
MAX_CACHE_BREAKPOINTS = 4
CACHE_LOOKBACK_BLOCKS = 20
FRAMING_TOKENS = 4
_B62 = string.ascii_letters + string.digits


def _rand(n: int) -> str:
    return "".join(secrets.choice(_B62) for _ in range(n))


_tool_ids = itertools.count(1)


def tool_use(name: str, input: dict[str, Any] | None = None, id: str | None = None) -> dict[str, Any]:
    """A tool_use content block with an id shaped like the API's (`toolu_01…`)."""
    return {"type": "tool_use", "id": id or f"toolu_01{next(_tool_ids):04d}{_rand(18)}", "name": name,
            "input": input or {}}


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


@dataclass
class Turn:
    content: list[dict[str, Any]]
    stop_reason: str | None = None  # default: tool_use if a tool is called, else end_turn
    output_tokens: int | None = None
    input_tokens: int | None = None  # override the estimate (uncached part)
    delay_s: float = 0.0  # answer this late (time-limit tests)


@dataclass
class Failure:
    status: int
    error_type: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)


def overloaded() -> Failure:
    return Failure(529, "overloaded_error", "Overloaded")


def server_error() -> Failure:
    return Failure(500, "api_error", "Internal server error")


def rate_limited(retry_after: str = "1") -> Failure:
    return Failure(429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit",
                   {"retry-after": retry_after})


ScriptItem = list[dict[str, Any]] | Turn | Failure | Callable[[dict[str, Any]], "list[dict[str, Any]] | Turn"]


class InvalidRequest(Exception):
    def __init__(self, message: str, status: int = 400, error_type: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.message, self.status, self.error_type = message, status, error_type


@dataclass
class Received:
    headers: dict[str, str]
    body: dict[str, Any]
    status: int = 200
    error: str | None = None
    response: dict[str, Any] | None = None


class FakeAnthropic:
    def __init__(
        self,
        script: list[ScriptItem],
        *,
        api_key: str = API_KEY,
        require_cache_control: bool = True,
        require_descriptions: bool = True,
    ) -> None:
        self.script = list(script)
        self.api_key = api_key
        self.require_cache_control = require_cache_control
        self.require_descriptions = require_descriptions
        self.received: list[Received] = []
        self._cache: set[str] = set()
        self.app = self._build_app()

    # --- what tests assert on -------------------------------------------------------------------

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Bodies of requests that were answered 200."""
        return [r.body for r in self.received if r.status == 200]

    @property
    def responses(self) -> list[dict[str, Any]]:
        return [r.response for r in self.received if r.response is not None]

    @property
    def rejections(self) -> list[str]:
        """Validation errors the fake answered with 4xx (a correct client causes none)."""
        return [r.error for r in self.received if r.error and r.status in (400, 401)]

    @property
    def remaining(self) -> int:
        return len(self.script)

    # --- the app ------------------------------------------------------------------------------------

    def _build_app(self) -> Quart:
        app = Quart(__name__)

        @app.post("/v1/messages")
        async def messages() -> Response:
            headers = {k.lower(): v for k, v in request.headers.items()}
            try:
                body = json.loads(await request.get_data())
            except ValueError:
                received = Received(headers, {})
                self.received.append(received)
                return self._error(received, InvalidRequest("request body is not valid JSON"))
            return await self.respond(headers, body, check_headers=self._check_headers)

        @app.errorhandler(404)
        async def not_found(_: Exception) -> Response:
            return _error_response(404, "not_found_error", "Not found")

        return app

    async def respond(self, headers: dict[str, str], body: Any, *,
                      check_headers: Callable[[dict[str, str]], None]) -> Response:
        """Answer one Messages request (also used by the Bedrock and Vertex fakes, which check
        their own auth and put the model in the path)."""
        received = Received(headers, {})
        self.received.append(received)
        received.body = body if isinstance(body, dict) else {"_": body}
        try:
            check_headers(headers)
            validate_request(body, self.require_cache_control, self.require_descriptions)
            item = self._next_item()
        except InvalidRequest as exc:
            return self._error(received, exc)
        if isinstance(item, Failure):
            received.status, received.error = item.status, item.message
            return _error_response(item.status, item.error_type, item.message, item.headers)
        turn = item(body) if callable(item) else item
        turn = turn if isinstance(turn, Turn) else Turn(list(turn))
        if turn.delay_s:
            await asyncio.sleep(turn.delay_s)
        received.response = self._message(body, turn)
        return _json_response(200, received.response)

    def _next_item(self) -> ScriptItem:
        if not self.script:
            raise InvalidRequest("fake: the script has no turn left for this request")
        return self.script.pop(0)

    def _check_headers(self, headers: dict[str, str]) -> None:
        # The API takes the key as `x-api-key` (the documented header) or as a bearer token;
        # the installed SDK (2.14) sends `Authorization: Bearer <key>`, so both count.
        given = headers.get("x-api-key") or headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not given:
            raise InvalidRequest("x-api-key header is required", 401, "authentication_error")
        if given != self.api_key:
            raise InvalidRequest("invalid x-api-key", 401, "authentication_error")
        if not headers.get("anthropic-version"):
            raise InvalidRequest("anthropic-version: header is required")
        if "application/json" not in headers.get("content-type", ""):
            raise InvalidRequest("content-type must be application/json")

    def _error(self, received: Received, exc: InvalidRequest) -> Response:
        received.status, received.error = exc.status, exc.message
        return _error_response(exc.status, exc.error_type, exc.message)

    def _message(self, body: dict[str, Any], turn: Turn) -> dict[str, Any]:
        for block in turn.content:
            if block.get("type") not in ("text", "tool_use"):
                raise AssertionError(f"fake script: unsupported block {block!r}")
        stop = turn.stop_reason or ("tool_use" if any(b["type"] == "tool_use" for b in turn.content) else "end_turn")
        cache_read, cache_write, uncached = self._cache_usage(body)
        return {
            "id": f"msg_01{_rand(22)}",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": turn.content,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": {
                "input_tokens": turn.input_tokens if turn.input_tokens is not None else uncached,
                "cache_creation_input_tokens": cache_write,
                "cache_read_input_tokens": cache_read,
                "cache_creation": {"ephemeral_5m_input_tokens": cache_write, "ephemeral_1h_input_tokens": 0},
                "output_tokens": turn.output_tokens if turn.output_tokens is not None else _output_tokens(turn),
                "service_tier": "standard",
            },
        }

    def _cache_usage(self, body: dict[str, Any]) -> tuple[int, int, int]:
        """(cache read, cache write, uncached input) tokens for this request."""
        blocks = _prefix_blocks(body)
        sizes = list(itertools.accumulate(_tokens(b) for b in blocks))
        total = sizes[-1] if sizes else 0
        breakpoints = [i for i, b in enumerate(blocks) if isinstance(b, dict) and b.get("cache_control")]
        hashes = _prefix_hashes(blocks)
        read_upto = -1
        for bp in breakpoints:
            for i in range(bp, max(-1, bp - CACHE_LOOKBACK_BLOCKS), -1):
                if hashes[i] in self._cache:
                    read_upto = max(read_upto, i)
                    break
        read = sizes[read_upto] if read_upto >= 0 else 0
        last_bp = breakpoints[-1] if breakpoints else -1
        write = max(0, (sizes[last_bp] if last_bp >= 0 else 0) - read)
        for bp in breakpoints:
            self._cache.add(hashes[bp])
        # The API also bills a few tokens of request framing outside any cache breakpoint.
        return read, write, total - read - write + FRAMING_TOKENS


# --- request validation (the API's rules that matter to an agent loop) ---------------------------


def validate_request(body: Any, require_cache_control: bool = True, require_descriptions: bool = True) -> None:
    if not isinstance(body, dict):
        raise InvalidRequest("request body must be a JSON object")
    for name in ("model", "max_tokens", "messages"):
        if name not in body:
            raise InvalidRequest(f"{name}: Field required")
    if not isinstance(body["model"], str) or not body["model"]:
        raise InvalidRequest("model: Input should be a valid string")
    if not isinstance(body["max_tokens"], int) or body["max_tokens"] < 1:
        raise InvalidRequest("max_tokens: Input should be greater than or equal to 1")
    tools = body.get("tools") or []
    _check_tools(tools, require_descriptions)
    _check_system(body.get("system"))
    _check_messages(body["messages"], bool(tools))
    count = _count_cache_control(body)
    if count > MAX_CACHE_BREAKPOINTS:
        raise InvalidRequest(
            f"A maximum of {MAX_CACHE_BREAKPOINTS} blocks with cache_control may be provided. Found {count}."
        )
    if require_cache_control:
        system = body.get("system")
        if not (isinstance(system, list) and any(isinstance(b, dict) and b.get("cache_control") for b in system)):
            raise InvalidRequest("fake: cache_control missing on the system prompt (autofixer caches system + tools)")
        if tools and not any(t.get("cache_control") for t in tools):
            raise InvalidRequest("fake: cache_control missing on the tools (autofixer caches system + tools)")


def _check_tools(tools: Any, require_descriptions: bool) -> None:
    if not isinstance(tools, list):
        raise InvalidRequest("tools: Input should be a valid list")
    seen: set[str] = set()
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict):
            raise InvalidRequest(f"tools.{i}: Input should be a valid dictionary")
        name = tool.get("name")
        if not isinstance(name, str) or not TOOL_NAME_RE.match(name):
            raise InvalidRequest(f"tools.{i}.custom.name: String should match pattern '{TOOL_NAME_RE.pattern}'")
        if name in seen:
            raise InvalidRequest("tools: Tool names must be unique.")
        seen.add(name)
        if require_descriptions and not (isinstance(tool.get("description"), str) and tool["description"]):
            raise InvalidRequest(f"tools.{i}.custom.description: Field required")
        schema = tool.get("input_schema")
        if not isinstance(schema, dict):
            raise InvalidRequest(f"tools.{i}.custom.input_schema: Field required")
        if schema.get("type") != "object":
            raise InvalidRequest(f"tools.{i}.custom.input_schema.type: Input should be 'object'")


def _check_system(system: Any) -> None:
    if system is None or isinstance(system, str):
        return
    if not isinstance(system, list):
        raise InvalidRequest("system: Input should be a valid string or list of text blocks")
    for i, block in enumerate(system):
        if not isinstance(block, dict) or block.get("type") != "text" or not isinstance(block.get("text"), str):
            raise InvalidRequest(f"system.{i}: Input should be a text block")
        if not block["text"]:
            raise InvalidRequest("system: text content blocks must be non-empty")


def _check_messages(messages: Any, has_tools: bool) -> None:
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("messages: at least one message is required")
    previous_role: str | None = None
    pending_tool_ids: list[str] = []
    seen_ids: set[str] = set()
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            raise InvalidRequest(f"messages.{i}.role: Input should be 'user' or 'assistant'")
        role = message["role"]
        if i == 0 and role != "user":
            raise InvalidRequest("messages: first message must use the \"user\" role")
        if role == previous_role:
            raise InvalidRequest(
                f"messages: roles must alternate between \"user\" and \"assistant\", "
                f"but found multiple \"{role}\" roles in a row"
            )
        blocks = _blocks(message.get("content"), i)
        if pending_tool_ids:
            _check_answers(blocks, pending_tool_ids, i)
        elif role == "user":
            stray = [b.get("tool_use_id") for b in blocks if b.get("type") == "tool_result"]
            if stray:
                raise InvalidRequest(
                    f"messages.{i}.content.0: unexpected `tool_use_id` found in `tool_result` blocks: {stray[0]}. "
                    "Each `tool_result` block must have a corresponding `tool_use` block in the previous message."
                )
        pending_tool_ids = _tool_use_ids(blocks, i, seen_ids, has_tools) if role == "assistant" else []
        previous_role = role
    if pending_tool_ids:
        raise InvalidRequest(
            f"messages.{len(messages) - 1}: `tool_use` ids were found without `tool_result` blocks immediately "
            f"after: {', '.join(pending_tool_ids)}. Each `tool_use` block must have a corresponding `tool_result` "
            "block in the next message."
        )


def _blocks(content: Any, i: int) -> list[dict[str, Any]]:
    if isinstance(content, str):
        if not content:
            raise InvalidRequest(f"messages.{i}: all messages must have non-empty content")
        return [{"type": "text", "text": content}]
    if not isinstance(content, list) or not content:
        raise InvalidRequest(f"messages.{i}: all messages must have non-empty content")
    for j, block in enumerate(content):
        if not isinstance(block, dict) or "type" not in block:
            raise InvalidRequest(f"messages.{i}.content.{j}: Input should be a valid content block")
        if block["type"] == "text" and not block.get("text"):
            raise InvalidRequest(f"messages.{i}.content.{j}: text content blocks must be non-empty")
    return content


def _tool_use_ids(blocks: list[dict[str, Any]], i: int, seen: set[str], has_tools: bool) -> list[str]:
    ids: list[str] = []
    for j, block in enumerate(blocks):
        if block["type"] == "tool_result":
            raise InvalidRequest(f"messages.{i}.content.{j}: tool_result blocks are only allowed in user messages")
        if block["type"] != "tool_use":
            continue
        if not has_tools:
            raise InvalidRequest("Requests which include `tool_use` or `tool_result` blocks must define tools.")
        tid = block.get("id")
        if not isinstance(tid, str) or not TOOL_ID_RE.match(tid):
            raise InvalidRequest(
                f"messages.{i}.content.{j}.tool_use.id: String should match pattern '^[a-zA-Z0-9_-]+$'"
            )
        if tid in seen:
            raise InvalidRequest(f"messages.{i}.content.{j}: `tool_use` ids must be unique")
        if not isinstance(block.get("input"), dict):
            raise InvalidRequest(f"messages.{i}.content.{j}.tool_use.input: Input should be a valid dictionary")
        seen.add(tid)
        ids.append(tid)
    return ids


def _check_answers(blocks: list[dict[str, Any]], pending: list[str], i: int) -> None:
    results = [b for b in blocks if b.get("type") == "tool_result"]
    answered = [b.get("tool_use_id") for b in results]
    missing = [t for t in pending if t not in answered]
    if missing:
        raise InvalidRequest(
            f"messages.{i - 1}: `tool_use` ids were found without `tool_result` blocks immediately after: "
            f"{', '.join(missing)}. "
            "Each `tool_use` block must have a corresponding `tool_result` block in the next message."
        )
    unexpected = [t for t in answered if t not in pending]
    if unexpected:
        raise InvalidRequest(
            f"messages.{i}.content: unexpected `tool_use_id` found in `tool_result` blocks: {unexpected[0]}. "
            "Each `tool_result` block must have a corresponding `tool_use` block in the previous message."
        )
    first_other = next((j for j, b in enumerate(blocks) if b.get("type") != "tool_result"), len(blocks))
    if any(b.get("type") == "tool_result" for b in blocks[first_other:]):
        raise InvalidRequest(f"messages.{i}: tool_result blocks must come before any other content in the message")
    for j, block in enumerate(results):
        content = block.get("content")
        if content is not None and not isinstance(content, (str, list)):
            raise InvalidRequest(f"messages.{i}.content.{j}.tool_result.content: Input should be a string or a list")
        if "is_error" in block and not isinstance(block["is_error"], bool):
            raise InvalidRequest(f"messages.{i}.content.{j}.tool_result.is_error: Input should be a valid boolean")


def _count_cache_control(body: dict[str, Any]) -> int:
    return sum(1 for b in _prefix_blocks(body) if isinstance(b, dict) and b.get("cache_control"))


# --- usage estimation ------------------------------------------------------------------------------


def _prefix_blocks(body: dict[str, Any]) -> list[Any]:
    """The request's blocks in cache order: tools, then system, then message content."""
    blocks: list[Any] = list(body.get("tools") or [])
    system = body.get("system")
    if isinstance(system, str):
        blocks.append({"type": "text", "text": system})
    elif isinstance(system, list):
        blocks += system
    for message in body.get("messages") or []:
        content = message.get("content")
        role_marker = {"role": message.get("role")}
        if isinstance(content, list):
            blocks += [{**b, **role_marker} for b in content]
        else:
            blocks += [{"text": content, **role_marker}]
    return blocks


def _without_cache_control(block: Any) -> Any:
    return {k: v for k, v in block.items() if k != "cache_control"} if isinstance(block, dict) else block


def _prefix_hashes(blocks: list[Any]) -> list[str]:
    digest = hashlib.sha256()
    out: list[str] = []
    for block in blocks:
        digest.update(json.dumps(_without_cache_control(block), sort_keys=True).encode())
        out.append(digest.copy().hexdigest())
    return out


def _tokens(block: Any) -> int:
    return max(1, len(json.dumps(_without_cache_control(block))) // 4)


def _output_tokens(turn: Turn) -> int:
    return max(1, sum(len(json.dumps(b)) for b in turn.content) // 4)


# --- responses ---------------------------------------------------------------------------------------


def _json_response(status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    response = Response(json.dumps(payload), status=status, content_type="application/json")
    response.headers["request-id"] = f"req_01{_rand(22)}"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _error_response(status: int, error_type: str, message: str, headers: dict[str, str] | None = None) -> Response:
    payload = {"type": "error", "error": {"type": error_type, "message": message}, "request_id": f"req_01{_rand(22)}"}
    return _json_response(status, payload, headers)
