"""The HTTP interface: a plain WSGI application, served by gunicorn in production."""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from shop.catalog import UnknownProduct
from shop.orders import OrderError, parse_order, parse_quote_query
from shop.pricing import price_order
from shop.tax import UnsupportedCountry

log = logging.getLogger("shop.api")

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
MAX_BODY = 64 * 1024
_order_numbers = itertools.count(10001)


def _json(start_response: StartResponse, status: str, body: object) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def _read_json(environ: dict[str, Any]) -> Any:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY:
        raise OrderError("request body too large")
    raw = environ["wsgi.input"].read(length) if length else b""
    try:
        return json.loads(raw or b"null")
    except ValueError:
        raise OrderError("the body is not valid JSON") from None


def quote(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
    query = environ.get("QUERY_STRING", "")
    log.info("price preview requested: %s", query)
    order = parse_quote_query(parse_qs(query))
    return _json(start_response, "200 OK", price_order(order).as_dict())


def create_order(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
    order = parse_order(_read_json(environ))
    priced = price_order(order)
    number = next(_order_numbers)
    log.info("order %s accepted: %d line(s), total %s", number, len(priced.lines), priced.total)
    return _json(start_response, "201 Created", {"order": number, **priced.as_dict()})


ROUTES: dict[tuple[str, str], Callable[[dict[str, Any], StartResponse], list[bytes]]] = {
    ("GET", "/quote"): quote,
    ("POST", "/orders"): create_order,
}


def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    method = environ.get("REQUEST_METHOD", "GET")
    path = environ.get("PATH_INFO") or "/"
    if path == "/health":
        return _json(start_response, "200 OK", {"status": "ok"})
    handler = ROUTES.get((method, path))
    if handler is None:
        return _json(start_response, "404 Not Found", {"error": f"no route for {method} {path}"})
    try:
        return handler(environ, start_response)
    except (OrderError, UnknownProduct, UnsupportedCountry) as exc:
        log.warning("rejected %s %s: %s", method, path, exc)
        return _json(start_response, "400 Bad Request", {"error": str(exc)})


if __name__ == "__main__":
    from wsgiref.simple_server import make_server

    logging.basicConfig(level=logging.INFO)
    with make_server("", 8000, application) as server:
        server.serve_forever()
