"""The webhook route's own ASGI handling, where the HTTP tests cannot reach cheaply: a sender that
stalls mid-body is cut off with a 408, one that hangs up gets nothing and costs nothing, and
every other request goes on to the app behind it untouched."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from server.config import parse_settings
from server.http import webhook
from server.http.webhook import RequestHeaders, WebhookRoute
from server.metrics import Metrics


class Inner:
    def __init__(self) -> None:
        self.paths: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.paths.append(f"{scope.get('method')} {scope.get('path')}")


def _route(tmp_path: Any, inner: Inner, metrics: Metrics) -> WebhookRoute:
    settings = parse_settings({"source": {"org": "acme"}, "state-dir": str(tmp_path)})
    return WebhookRoute(inner, settings, {"sentry": object()}, metrics, lambda: None)  # type: ignore[arg-type,return-value,dict-item]


def _scope(method: str, path: str) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "headers": [(b"content-type", b"application/json")],
            "query_string": b""}


async def _call(route: WebhookRoute, scope: dict[str, Any], messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    queue = list(messages)

    async def receive() -> dict[str, Any]:
        if queue:
            return queue.pop(0)
        await asyncio.Event().wait()  # the sender stalls: nothing more ever arrives
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await route(scope, receive, send)  # type: ignore[arg-type]
    return sent


async def test_a_stalled_body_is_a_408(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(webhook, "BODY_TIMEOUT_SECONDS", 0.1)
    metrics = Metrics()
    sent = await _call(_route(tmp_path, Inner(), metrics), _scope("POST", "/api/webhook/sentry"),
                       [{"type": "http.request", "body": b'{"act', "more_body": True}])
    assert sent[0]["status"] == 408 and b"not received within" in sent[1]["body"]
    assert 'outcome="body_timeout"} 1' in metrics.render()


async def test_a_sender_that_hangs_up_gets_no_answer(tmp_path: Any) -> None:
    metrics = Metrics()
    sent = await _call(_route(tmp_path, Inner(), metrics), _scope("POST", "/api/webhook/sentry"),
                       [{"type": "http.request", "body": b"{", "more_body": True}, {"type": "http.disconnect"}])
    assert sent == [] and "autofixer_webhooks_total{" not in metrics.render()


async def test_other_requests_go_to_the_app_and_other_methods_are_405(tmp_path: Any) -> None:
    inner = Inner()
    route = _route(tmp_path, inner, Metrics())
    for method, path in [("GET", "/health"), ("POST", "/api/webhook/"), ("POST", "/api/webhook/a/b"),
                         ("POST", "/api/slack/actions")]:
        assert await _call(route, _scope(method, path), []) == []
    assert await _call(route, {"type": "lifespan"}, []) == []
    assert inner.paths == ["GET /health", "POST /api/webhook/", "POST /api/webhook/a/b", "POST /api/slack/actions",
                           "None None"]
    sent = await _call(route, _scope("GET", "/api/webhook/sentry"), [])
    assert sent[0]["status"] == 405 and (b"allow", b"POST") in sent[0]["headers"]


def test_headers_are_read_by_name_in_any_case_first_value_first() -> None:
    headers = RequestHeaders([(b"Sentry-Hook-Resource", b"issue"), (b"x-dup", b"1"), (b"X-Dup", b"2")])
    assert headers.get("sentry-hook-resource") == "issue" and headers.get("X-DUP") == "1"
    assert headers.get("missing") is None and headers.get("missing", "") == ""
