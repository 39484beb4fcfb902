"""The HTTP interface: a plain WSGI application, served by gunicorn in production."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from datetime import date
from typing import Any

from accounts.serializers import profile_payload, settings_payload
from accounts.users import UserNotFound, get_user

log = logging.getLogger("accounts.api")

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
_USER_ROUTE = re.compile(r"^/users/(?P<id>\d+)/(?P<view>profile|settings)$")


def _json(start_response: StartResponse, status: str, body: object) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def user_view(environ: dict[str, Any], start_response: StartResponse, user_id: int, view: str) -> list[bytes]:
    user = get_user(user_id)
    if view == "settings":
        if environ.get("HTTP_X_USER_ID") != str(user_id):
            return _json(start_response, "403 Forbidden", {"error": "not your account"})
        return _json(start_response, "200 OK", settings_payload(user))
    log.info("profile card for %s", user.username)
    return _json(start_response, "200 OK", profile_payload(user, today=date.today()))


def application(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
    method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "/")
    if (method, path) == ("GET", "/health"):
        return _json(start_response, "200 OK", {"status": "ok"})
    match = _USER_ROUTE.match(path)
    if method == "GET" and match:
        try:
            return user_view(environ, start_response, int(match["id"]), match["view"])
        except UserNotFound:
            return _json(start_response, "404 Not Found", {"error": "no such user"})
    return _json(start_response, "404 Not Found", {"error": f"no route for {method} {path}"})
