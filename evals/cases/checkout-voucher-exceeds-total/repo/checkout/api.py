"""The HTTP interface: a plain WSGI application, served by gunicorn in production."""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Callable
from typing import Any

from checkout.payments import Gateway
from checkout.pricing import CheckoutError, price

log = logging.getLogger("checkout.api")

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
_orders = itertools.count(50001)


def _json(start_response: StartResponse, status: str, body: object) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def checkout(environ: dict[str, Any], start_response: StartResponse, gateway: Gateway) -> list[bytes]:
    body = json.loads(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)) or b"{}")
    try:
        priced = price(body.get("items") or [], body.get("voucher"))
    except CheckoutError as exc:
        return _json(start_response, "400 Bad Request", {"error": str(exc)})
    log.info("checkout: subtotal %s, discount %s, total %s", priced.subtotal, priced.discount, priced.total)
    charge = gateway.charge(str(body.get("card_token", "")), priced.total)
    order = next(_orders)
    return _json(start_response, "201 Created", {"order": order, "charge": charge, "total": str(priced.total)})


def make_app(gateway: Gateway | None = None) -> Callable[[dict[str, Any], StartResponse], list[bytes]]:
    gw = gateway or Gateway()

    def application(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "/")
        if (method, path) == ("GET", "/health"):
            return _json(start_response, "200 OK", {"status": "ok"})
        if (method, path) == ("POST", "/checkout"):
            return checkout(environ, start_response, gw)
        return _json(start_response, "404 Not Found", {"error": f"no route for {method} {path}"})

    return application


application = make_app()
