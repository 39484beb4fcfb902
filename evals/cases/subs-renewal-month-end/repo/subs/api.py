"""The HTTP interface: a plain WSGI application, served by gunicorn in production."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from subs.schedule import renewal_dates
from subs.store import SubscriptionNotFound, get_subscription

log = logging.getLogger("subs.api")

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
_RENEWALS = re.compile(r"^/subscriptions/(?P<id>\d+)/renewals$")


def _json(start_response: StartResponse, status: str, body: object) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def renewals_view(start_response: StartResponse, subscription_id: int, query: str) -> list[bytes]:
    subscription = get_subscription(subscription_id)
    raw = parse_qs(query).get("months", ["12"])[0]
    if not raw.isdigit():
        return _json(start_response, "400 Bad Request", {"error": "months must be a number"})
    try:
        dates = renewal_dates(subscription.started, int(raw))
    except ValueError as exc:
        return _json(start_response, "400 Bad Request", {"error": str(exc)})
    log.info("renewal calendar of %s (%s months)", subscription.id, raw)
    return _json(start_response, "200 OK", {
        "subscription": subscription.id, "plan": subscription.plan,
        "renewals": [d.isoformat() for d in dates],
    })


def application(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
    method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "/")
    if (method, path) == ("GET", "/health"):
        return _json(start_response, "200 OK", {"status": "ok"})
    match = _RENEWALS.match(path)
    if method == "GET" and match:
        try:
            return renewals_view(start_response, int(match["id"]), environ.get("QUERY_STRING", ""))
        except SubscriptionNotFound:
            return _json(start_response, "404 Not Found", {"error": "no such subscription"})
    return _json(start_response, "404 Not Found", {"error": f"no route for {method} {path}"})
