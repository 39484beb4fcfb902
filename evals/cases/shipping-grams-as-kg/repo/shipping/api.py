"""The HTTP interface: a plain WSGI application, served by gunicorn in production."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from shipping.cart import CartError, parse_cart, total_weight
from shipping.catalog import UnknownProduct
from shipping.rates import rate_for, zone_for

log = logging.getLogger("shipping.api")

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def _json(start_response: StartResponse, status: str, body: object) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def quote(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
    body = json.loads(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)) or b"{}")
    try:
        lines = parse_cart(body.get("items") or [])
        zone = zone_for(str(body.get("country", "")))
    except (CartError, UnknownProduct) as exc:
        return _json(start_response, "400 Bad Request", {"error": str(exc)})
    weight = total_weight(lines)
    log.info("quote: %d line(s) to %s", len(lines), zone)
    price = rate_for(weight, zone)
    return _json(start_response, "200 OK", {"weight_kg": weight, "zone": zone, "price": str(price)})


def application(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
    method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "/")
    if (method, path) == ("GET", "/health"):
        return _json(start_response, "200 OK", {"status": "ok"})
    if (method, path) == ("POST", "/shipping-quote"):
        return quote(environ, start_response)
    return _json(start_response, "404 Not Found", {"error": f"no route for {method} {path}"})
