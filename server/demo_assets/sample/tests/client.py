"""A tiny WSGI client, so the tests go through the same entry point as production traffic."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any
from wsgiref.util import setup_testing_defaults

from shop.api import application


@dataclass
class Response:
    status: int
    body: Any


def call(method: str, path: str, query: str = "", body: Any = None) -> Response:
    raw = json.dumps(body).encode() if body is not None else b""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "CONTENT_LENGTH": str(len(raw)),
        "CONTENT_TYPE": "application/json",
        "wsgi.input": io.BytesIO(raw),
    }
    setup_testing_defaults(environ)
    status: list[str] = []
    chunks = application(environ, lambda s, headers: status.append(s))
    return Response(int(status[0].split()[0]), json.loads(b"".join(chunks)))
