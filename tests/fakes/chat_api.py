"""Fake chat and webhook receivers (Quart apps) for the notifiers, speaking the real wire formats.

- FakeSlack: incoming webhooks (`POST /services/T…/B…/X…`: 200 `ok`, or the plain-text errors
  recorded in shared/fixtures/apis/real/slack/), the Web API `chat.postMessage` / `chat.update`
  (bearer token, HTTP 200 with `{"ok": false, "error": …}` on failure, the recorded success
  shape with a fresh `ts`), and interaction `response_url`s.
- FakeDiscord: `POST /api/webhooks/<id>/<token>`: 204, or 200 with the recorded message object
  under `?wait=true`; the recorded 429 (`retry_after` in the body, `Retry-After` header); embed
  limits answered with a 400 form error as Discord does.
- FakeReceiver: any JSON endpoint (a Teams workflow answers 202; a generic receiver 200).

Every request is recorded; `fail_next(...)` scripts bad answers. Tests only.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from quart import Quart, Response, request

from tests.fixtures_path import shared_dir


def real_fixture(platform: str, name: str) -> Any:
    return json.loads((shared_dir() / "fixtures" / "apis" / "real" / platform / name).read_text())


SLACK_HOOK_ANSWERS = {e["response"]["body"]: e["response"]["status"] for e in real_fixture(
    "slack", "slack-changelog__incoming-webhook-responses_200-ok_400_403_404_410_500.json")}
SLACK_POST_OK = real_fixture("slack", "slack-api-specs__web-api-chat-postMessage_ok_and_error-examples.json")[0][
    "response"]["body"]
DISCORD_EXECUTE = "discord-api-docs__execute-webhook_wait-true-200_no-wait-204_webhook-object.json"
DISCORD_MESSAGE = real_fixture("discord", DISCORD_EXECUTE)[0]["response"]["body"]
DISCORD_429 = real_fixture("discord", "discord-api-docs__429-rate-limit-user_shared_global.json")[0]["response"]


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Scripted:
    status: int
    body: Any = ""  # str: text/plain; anything else: JSON
    headers: dict[str, str] = field(default_factory=dict)

    def response(self) -> Response:
        if isinstance(self.body, str):
            return Response(self.body, status=self.status, content_type="text/plain", headers=self.headers)
        return Response(json.dumps(self.body), status=self.status, content_type="application/json",
                        headers=self.headers)


class ChatFake:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._failures: deque[Scripted] = deque()
        self._hangs: deque[float] = deque()
        self.app = Quart(type(self).__name__)

    def fail_next(self, *answers: Scripted) -> None:
        self._failures.extend(answers)

    def hang_next(self, seconds: float) -> None:
        """Receive the next request, then wait this long before answering (a client killed
        meanwhile never learns whether its message arrived)."""
        self._hangs.append(seconds)

    async def _record(self) -> tuple[Received, Response | None]:
        received = Received(request.method, request.path, dict(request.args), dict(request.headers),
                            await request.get_data(as_text=False))
        self.requests.append(received)
        if self._hangs:
            await asyncio.sleep(self._hangs.popleft())
        return received, (self._failures.popleft().response() if self._failures else None)


class FakeSlack(ChatFake):
    def __init__(self, *, token: str = "xoxb-fake", channels: tuple[str, ...] = ("C0FAKE",)) -> None:
        super().__init__()
        self.token = token
        self.channels = set(channels)
        self.messages: list[dict[str, Any]] = []  # chat.postMessage bodies, with their ts
        self.updates: list[dict[str, Any]] = []  # chat.update bodies and response_url posts
        self._ts = itertools.count(1)
        app = self.app

        @app.post("/services/<team>/<bot>/<secret>")
        async def incoming_webhook(team: str, bot: str, secret: str) -> Response:
            received, failure = await self._record()
            if failure:
                return failure
            try:
                body = received.json()
            except ValueError:
                body = None
            if not isinstance(body, dict) or not (body.get("text") or body.get("blocks")):
                return self._hook_answer("invalid_payload")
            if len(body.get("blocks") or []) > 50:
                return self._hook_answer("invalid_payload")
            return self._hook_answer("ok")

        @app.post("/api/<method>")
        async def web_api(method: str) -> Response:
            received, failure = await self._record()
            if failure:
                return failure
            if received.headers.get("Authorization") != f"Bearer {self.token}":
                return self._api_error("invalid_auth")
            body = received.json()
            if method == "chat.postMessage":
                if body.get("channel") not in self.channels:
                    return self._api_error("channel_not_found")
                if not (body.get("text") or body.get("blocks")):
                    return self._api_error("no_text")
                answer = copy.deepcopy(SLACK_POST_OK)
                ts = f"1503435956.{next(self._ts):06d}"
                answer.update(ts=ts, channel=body["channel"])
                answer["message"].update(ts=ts, text=body.get("text", ""), blocks=body.get("blocks", []))
                self.messages.append({**body, "ts": ts})
                return Response(json.dumps(answer), content_type="application/json")
            if method == "chat.update":
                self.updates.append(body)
                return Response(json.dumps({"ok": True, "channel": body.get("channel"), "ts": body.get("ts")}),
                                content_type="application/json")
            return self._api_error("unknown_method")

        @app.post("/actions/<hook>")
        async def response_url(hook: str) -> Response:
            received, failure = await self._record()
            if failure:
                return failure
            self.updates.append(received.json())
            return Response(json.dumps({"ok": True}), content_type="application/json")

    @staticmethod
    def _hook_answer(text: str) -> Response:
        return Response(text, status=SLACK_HOOK_ANSWERS[text], content_type="text/html")

    @staticmethod
    def _api_error(error: str) -> Response:
        return Response(json.dumps({"ok": False, "error": error}), content_type="application/json")


class FakeDiscord(ChatFake):
    def __init__(self, *, webhook_id: str = "223704706495545344", token: str = "fake-discord-token") -> None:
        super().__init__()
        self.webhook_id, self.token = webhook_id, token
        self.messages: list[dict[str, Any]] = []
        self._ids = itertools.count(334385199974967042)
        app = self.app

        @app.post("/api/webhooks/<webhook_id>/<token>")
        async def execute(webhook_id: str, token: str) -> Response:
            received, failure = await self._record()
            if failure:
                return failure
            if (webhook_id, token) != (self.webhook_id, self.token):
                return _json(401, {"message": "Invalid Webhook Token", "code": 50027})
            body = received.json()
            embeds = body.get("embeds") or []
            if not (body.get("content") or embeds):
                return _json(400, {"message": "Cannot send an empty message", "code": 50006})
            if len(body.get("content") or "") > 2000 or sum(_embed_chars(e) for e in embeds) > 6000:
                too_long = {"code": "BASE_TYPE_MAX_LENGTH", "message": "Embed size exceeds maximum size of 6000"}
                return _json(400, {"message": "Invalid Form Body", "code": 50035,
                                   "errors": {"embeds": {"_errors": [too_long]}}})
            self.messages.append(body)
            if received.query.get("wait") != "true":
                return Response("", status=204)
            message = copy.deepcopy(DISCORD_MESSAGE)
            message.update(id=str(next(self._ids)), embeds=embeds, content=body.get("content", ""),
                           webhook_id=self.webhook_id)
            return _json(200, message)

    def rate_limit_next(self) -> None:
        """The recorded 429 (the user-scope example), once."""
        self.fail_next(Scripted(429, DISCORD_429["body"], dict(DISCORD_429["headers"])))


class FakeReceiver(ChatFake):
    """A JSON endpoint at any path: a Teams workflow (202) or a generic webhook receiver (200)."""

    def __init__(self, *, status: int = 200) -> None:
        super().__init__()
        self.status = status

        @self.app.post("/<path:path>")
        async def receive(path: str) -> Response:
            received, failure = await self._record()
            if failure:
                return failure
            try:
                received.json()
            except ValueError:
                return _json(400, {"error": "body is not JSON"})
            return Response("", status=self.status)


def _json(status: int, body: Any) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


def _embed_chars(embed: dict[str, Any]) -> int:
    fields = embed.get("fields") or []
    return (len(embed.get("title") or "") + len(embed.get("description") or "")
            + sum(len(f.get("name", "")) + len(f.get("value", "")) for f in fields)
            + len((embed.get("footer") or {}).get("text", "")) + len((embed.get("author") or {}).get("name", "")))
