"""The webhook endpoint: a plain WSGI application, served by gunicorn in production."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from typing import Any

from payhook.events import UnsupportedEvent, parse_event
from payhook.ledger import AmountMismatch, Invoice, Ledger
from payhook.signature import BadSignature, verify

log = logging.getLogger("payhook.api")

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
SECRET = os.environ.get("PAYHOOK_SECRET", "whsec_test_3b1f").encode()
LEDGER = Ledger({
    "INV-2026-0311": Invoice("INV-2026-0311", 4990, "EUR"),
    "INV-2026-0312": Invoice("INV-2026-0312", 12000, "EUR"),
})


def _json(start_response: StartResponse, status: str, body: object) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def payments_webhook(environ: dict[str, Any], start_response: StartResponse, ledger: Ledger) -> list[bytes]:
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    try:
        verify(SECRET, body, environ.get("HTTP_PAYHOOK_SIGNATURE"))
    except BadSignature as exc:
        return _json(start_response, "401 Unauthorized", {"error": str(exc)})
    try:
        event = parse_event(json.loads(body))
    except UnsupportedEvent as exc:
        return _json(start_response, "200 OK", {"ignored": str(exc)})  # acknowledged, nothing to do
    try:
        outcome = ledger.apply(event)
    except AmountMismatch as exc:
        log.error("refusing payment: %s", exc)
        return _json(start_response, "422 Unprocessable Entity", {"error": str(exc)})
    return _json(start_response, "200 OK", {"result": outcome})


def make_app(ledger: Ledger = LEDGER) -> Callable[[dict[str, Any], StartResponse], list[bytes]]:
    def application(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "/")
        if (method, path) == ("GET", "/health"):
            return _json(start_response, "200 OK", {"status": "ok"})
        if (method, path) == ("POST", "/webhooks/payments"):
            return payments_webhook(environ, start_response, ledger)
        return _json(start_response, "404 Not Found", {"error": f"no route for {method} {path}"})

    return application


application = make_app()
