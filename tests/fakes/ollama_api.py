"""A local fake of Ollama's native API, for tests only: `POST /api/chat` (stream false, with
tools) and `POST /api/show`, built on the real recorded bodies in
shared/fixtures/apis/real/ollama/ (the documented chat answer with `tool_calls` that carry no id,
`done_reason`, `prompt_eval_count` / `eval_count`; `/api/show`'s `model_info` with
`llama.context_length`; the 404 `{"error": "model '…' not found"}` of a model not pulled).

Requests are checked as Ollama needs them: `stream: false` (the default is a stream),
`options.num_ctx` present (without it Ollama truncates silently, which this fake refuses),
tool results as `role: tool` messages.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

from quart import Quart, Response, request

from tests.fixtures_path import shared_dir

REAL = shared_dir() / "fixtures" / "apis" / "real" / "ollama"
MODEL = "llama3.1:8b"


def _recorded(name: str) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((REAL / name).read_text())
    return data


@dataclass
class Chat:
    content: str = ""
    tool_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    done_reason: str = "stop"
    prompt_eval_count: int = 1000
    eval_count: int = 100


@dataclass
class Failure:
    status: int
    error: str = "llama runner process has terminated"


class FakeOllama:
    def __init__(self, models: tuple[str, ...] = (MODEL,), context_length: int | None = None) -> None:
        self.models = set(models)
        self.script: list[Chat | Failure] = []
        self.requests: list[dict[str, Any]] = []
        self.rejections: list[str] = []
        chat = _recorded("ollama-docs__api-chat-tool-calls_nonstream_stream_history.json")
        self.chat_template = chat[0]["response"]["body"]
        show = next(e for e in _recorded("ollama-docs__api-tags_api-show_api-ps.json")
                    if e["request"]["url"].endswith("/api/show"))
        self.show_template = show["response"]["body"]
        if context_length is not None:
            self.show_template["model_info"]["llama.context_length"] = context_length
        self.not_found = _recorded("issues__ollama-404-model-not-found.json")[0]["response"]["body"]["error"]
        self.app = self._build_app()

    def _missing(self, model: str) -> Response:
        recorded_model = self.not_found.split("'")[1]
        return _error(404, self.not_found.replace(recorded_model, model))

    def _build_app(self) -> Quart:
        app = Quart(__name__)

        @app.post("/api/show")
        async def show() -> Response:
            body = json.loads(await request.get_data())
            if body.get("model") not in self.models:
                return self._missing(str(body.get("model")))
            return Response(json.dumps(self.show_template), 200, {"content-type": "application/json"})

        @app.post("/api/chat")
        async def chat() -> Response:
            body = json.loads(await request.get_data())
            self.requests.append(body)
            if body.get("model") not in self.models:
                return self._missing(str(body.get("model")))
            problem = check(body)
            if problem is None and not self.script:
                problem = "fake: the script has no turn left for this request"
            if problem:
                self.rejections.append(problem)
                return _error(400, problem)
            item = self.script.pop(0)
            if isinstance(item, Failure):
                return _error(item.status, item.error)
            answer = copy.deepcopy(self.chat_template)
            answer["model"] = body["model"]
            answer["message"] = {"role": "assistant", "content": item.content}
            if item.tool_calls:
                # No ids: Ollama's tool calls carry none (see the recorded answer).
                answer["message"]["tool_calls"] = [{"function": {"name": n, "arguments": a}}
                                                   for n, a in item.tool_calls]
            answer.update(done_reason=item.done_reason, prompt_eval_count=item.prompt_eval_count,
                          eval_count=item.eval_count)
            return Response(json.dumps(answer), 200, {"content-type": "application/json"})

        return app


def check(body: dict[str, Any]) -> str | None:
    if body.get("stream") is not False:
        return "fake: this client must ask for stream: false"
    if not isinstance((body.get("options") or {}).get("num_ctx"), int):
        return "fake: options.num_ctx missing: Ollama would silently truncate the prompt to its default context"
    for i, m in enumerate(body.get("messages") or []):
        if m.get("role") not in ("system", "user", "assistant", "tool"):
            return f"messages[{i}]: unknown role"
        if not isinstance(m.get("content"), str):
            return f"messages[{i}].content must be a string"
        for call in m.get("tool_calls") or []:
            if not isinstance(call.get("function", {}).get("arguments"), dict):
                return f"messages[{i}].tool_calls: arguments must be an object"
    return None


def _error(status: int, message: str) -> Response:
    return Response(json.dumps({"error": message}), status, {"content-type": "application/json"})
