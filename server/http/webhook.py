"""`POST /api/webhook/<source name>`: the hot path, as plain ASGI in front of the Quart app.

Every delivery passes here, hundreds a second at a burst, and Quart's request machinery (request
and app contexts, signals, the werkzeug request and response objects) cost as much CPU as
hypercorn's HTTP handling and our own work together (bench/webhook.py, issue 16). So this route
reads the body, answers and counts its outcome itself, with the same answers the rest of the app
gives: 413 over the body limit, JSON errors, a 500 only for a bug. Every other path, and a
method other than POST here, goes on to Quart untouched.

No network, git or LLM work happens here: the source verifies and classifies the delivery, the
intake stores the job durably, and we answer (Sentry gives up after one second). Every input
problem is a 4xx; 503 means we could not store the job and the tracker should retry.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, overload
from urllib.parse import parse_qsl

from hypercorn.typing import ASGIReceiveCallable, ASGISendCallable, HTTPScope, Scope

from server.config import Settings
from server.metrics import Metrics
from server.pipeline.submit import JobStore, submit
from sources.base import Delivery, DeliveryRejected, ErrorSource

log = logging.getLogger("autofixer.http")

PREFIX = "/api/webhook/"
BODY_TIMEOUT_SECONDS = 10  # a sender that stalls mid-body is cut off, as Quart's BODY_TIMEOUT did

ASGIApp = Callable[[Scope, ASGIReceiveCallable, ASGISendCallable], Awaitable[None]]


@dataclass(frozen=True)
class Answer:
    outcome: str  # the metrics label: accepted, duplicate, unauthorized, …
    status: int
    body: dict[str, Any]


class RequestHeaders:
    """ASGI's raw header pairs as sources read them (`sources.base.Headers`): by name, any case,
    the first value of a repeated header (as werkzeug's `get` gives)."""

    def __init__(self, raw: Iterable[tuple[bytes, bytes]]) -> None:
        self._values: dict[str, str] = {}
        for name, value in raw:
            self._values.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))

    @overload
    def get(self, key: str) -> str | None: ...

    @overload
    def get(self, key: str, default: str) -> str: ...

    def get(self, key: str, default: str | None = None) -> str | None:
        return self._values.get(key.lower(), default)


class _TooLarge(Exception):
    pass


class _Disconnected(Exception):
    pass


class WebhookRoute:
    """ASGI middleware: serves the webhook route, hands everything else to `inner`."""

    def __init__(self, inner: ASGIApp, settings: Settings, sources: Mapping[str, ErrorSource], metrics: Metrics,
                 jobs: Callable[[], JobStore]) -> None:
        self.inner = inner
        self.settings = settings
        self.sources = sources
        self.metrics = metrics
        self.jobs = jobs  # the service's job store, once it has started

    async def __call__(self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        name = _webhook_name(scope)
        if name is None or scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        if scope["method"] != "POST":
            await _send_json(send, 405, {"error": "method not allowed"}, [(b"allow", b"POST")])
            return
        try:
            answer = await self._answer(name, scope, receive)
        except _Disconnected:  # the sender hung up: nobody to answer
            return
        except Exception:
            # A bug, not an outage: 503 would make the sender retry a poison delivery forever.
            # No input reaches here (tests/test_webhook_fuzz.py); if one does, it is logged.
            log.exception("unhandled error on POST %s", scope["path"])
            answer = Answer("error", 500, {"error": "internal error"})
        if answer.outcome != "no_source":
            self.metrics.webhook(answer.outcome)
        await _send_json(send, answer.status, answer.body)

    async def _answer(self, name: str, scope: HTTPScope, receive: ASGIReceiveCallable) -> Answer:
        source = self.sources.get(name)
        if source is None:
            known = ", ".join(self.sources)
            return Answer("no_source", 404, {"error": f"no source named {name!r} (configured: {known})"})
        headers = RequestHeaders(scope["headers"])
        limit = self.settings.server.max_body_bytes
        try:
            body = await _read_body(receive, headers, limit)
        except _TooLarge:
            return Answer("too_large", 413, {"error": f"body larger than {limit} bytes"})
        except TimeoutError:
            return Answer("body_timeout", 408, {"error": f"body not received within {BODY_TIMEOUT_SECONDS} s"})
        delivery = Delivery(headers=headers, body=body, content_type=_mimetype(headers.get("content-type", "")),
                            query=_query(scope.get("query_string", b"")))
        return await handle(self.settings, source, self.jobs(), delivery)


async def handle(settings: Settings, source: ErrorSource, jobs: JobStore, delivery: Delivery) -> Answer:
    """One delivery: verify, classify, queue durably."""
    try:
        source.verify(delivery)  # first: nothing about an unauthenticated body is looked at
        wanted = source.fix_request(delivery)
    except DeliveryRejected as exc:
        return Answer(exc.outcome, exc.status, {"error": str(exc)})
    if wanted is None:
        return Answer("ignored", 200, {"status": "ignored"})
    try:
        submitted = await submit(jobs, settings, source, wanted)
    except Exception:
        log.exception("could not store job %s", source.job_id(wanted.issue_id))
        return Answer("store_failed", 503, {"error": "could not store the job; retry later"})
    job = submitted.job_id
    if submitted.status == "duplicate":
        return Answer("duplicate", 200, {"status": "duplicate", "job_id": job})
    if submitted.status == "ignored_by_rule":  # queued to be recorded as ignored, never silently dropped
        return Answer("ignored_by_rule", 202, {"status": "ignored", "job_id": job, "rule": submitted.rule})
    log.info("accepted %s for issue %s as %s (%s)", wanted.trigger, wanted.issue_id, job, submitted.status)
    return Answer(submitted.status, 202, {"status": "accepted", "job_id": job})


def _webhook_name(scope: Scope) -> str | None:
    """The source name of a webhook route; None for any other path (Quart serves those)."""
    if scope["type"] != "http":
        return None
    path: str = scope["path"]
    if not path.startswith(PREFIX):
        return None
    name = path[len(PREFIX):]
    return name if name and "/" not in name else None


async def _read_body(receive: ASGIReceiveCallable, headers: RequestHeaders, limit: int) -> bytes:
    declared = headers.get("content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > limit:
        raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    async with asyncio.timeout(BODY_TIMEOUT_SECONDS):
        while True:
            message = await receive()
            if message["type"] != "http.request":  # http.disconnect: the sender hung up
                raise _Disconnected
            chunk = message.get("body", b"")  # both keys are optional in ASGI
            size += len(chunk)
            if size > limit:  # chunked, or a Content-Length that lies: stop reading at the cap
                raise _TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _mimetype(content_type: str) -> str:
    return content_type.partition(";")[0].strip().lower()


def _query(raw: bytes) -> dict[str, str]:
    """The first value of each parameter, as werkzeug's `args.to_dict()` gives."""
    params: dict[str, str] = {}
    for key, value in parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True, errors="replace"):
        params.setdefault(key, value)
    return params


async def _send_json(send: ASGISendCallable, status: int, body: dict[str, Any],
                     extra_headers: Iterable[tuple[bytes, bytes]] = ()) -> None:
    payload = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()), *extra_headers]
    await send({"type": "http.response.start", "status": status, "headers": headers, "trailers": False})
    await send({"type": "http.response.body", "body": payload, "more_body": False})
