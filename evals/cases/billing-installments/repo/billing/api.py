"""The HTTP interface: a plain WSGI application, served by gunicorn in production."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import date
from typing import Any

from billing.invoices import UnknownInvoice, get_invoice
from billing.schedule import PlanError, build_schedule

log = logging.getLogger("billing.api")

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def _json(start_response: StartResponse, status: str, body: object) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def create_plan(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = json.loads(environ["wsgi.input"].read(length) or b"{}")
    try:
        invoice = get_invoice(str(body.get("invoice", "")))
        installments = int(body.get("installments", 0))
        first_due = date.fromisoformat(body.get("first_due") or date.today().isoformat())
    except UnknownInvoice as exc:
        return _json(start_response, "404 Not Found", {"error": f"no invoice {exc}"})
    except (TypeError, ValueError) as exc:
        return _json(start_response, "400 Bad Request", {"error": str(exc)})
    log.info("installment plan requested for %s: %s x", invoice.number, installments)
    try:
        plan = build_schedule(invoice, installments, first_due)
    except PlanError as exc:
        return _json(start_response, "400 Bad Request", {"error": str(exc)})
    return _json(start_response, "201 Created", {
        "invoice": invoice.number,
        "total": str(invoice.total),
        "installments": [{"due": p.due.isoformat(), "amount": str(p.amount)} for p in plan],
    })


def application(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
    method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "/")
    if (method, path) == ("GET", "/health"):
        return _json(start_response, "200 OK", {"status": "ok"})
    if (method, path) == ("POST", "/installment-plans"):
        return create_plan(environ, start_response)
    return _json(start_response, "404 Not Found", {"error": f"no route for {method} {path}"})
