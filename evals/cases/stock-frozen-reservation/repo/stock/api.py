"""The HTTP interface: a plain WSGI application, served by gunicorn in production."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any

from stock.reservations import OutOfStock, ReservationError, release, reserve
from stock.store import Store, UnknownSku, demo_store

log = logging.getLogger("stock.api")

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
_STOCK = re.compile(r"^/stock/(?P<sku>[A-Z0-9-]+)$")
_CHANGES = {"/reservations": reserve, "/releases": release}


def _json(start_response: StartResponse, status: str, body: object) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def _body(environ: dict[str, Any]) -> Any:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return json.loads(environ["wsgi.input"].read(length) or b"null")


def make_app(store: Store) -> Callable[[dict[str, Any], StartResponse], list[bytes]]:
    def change(environ: dict[str, Any], start_response: StartResponse, path: str) -> list[bytes]:
        try:
            body = _body(environ)
            sku, quantity = body["sku"], body["quantity"]
        except (ValueError, TypeError, KeyError):
            return _json(start_response, "400 Bad Request", {"error": "expected {\"sku\": ..., \"quantity\": n}"})
        if not isinstance(sku, str) or not isinstance(quantity, int):
            return _json(start_response, "400 Bad Request", {"error": "sku is a string, quantity a whole number"})
        try:
            level = _CHANGES[path](store, sku, quantity)
        except ReservationError as exc:
            return _json(start_response, "400 Bad Request", {"error": str(exc)})
        except OutOfStock as exc:
            return _json(start_response, "409 Conflict", {"error": str(exc), "available": exc.level.available})
        log.info("%s %s x%d", path.strip("/"), sku, quantity)
        return _json(start_response, "201 Created" if path == "/reservations" else "200 OK", level.as_dict())

    def application(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "/")
        try:
            if (method, path) == ("GET", "/health"):
                return _json(start_response, "200 OK", {"status": "ok"})
            match = _STOCK.match(path)
            if method == "GET" and match:
                return _json(start_response, "200 OK", store.get(match["sku"]).as_dict())
            if method == "POST" and path in _CHANGES:
                return change(environ, start_response, path)
        except UnknownSku as exc:
            return _json(start_response, "404 Not Found", {"error": f"unknown sku {exc}"})
        return _json(start_response, "404 Not Found", {"error": f"no route for {method} {path}"})

    return application


application = make_app(demo_store())
