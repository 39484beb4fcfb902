"""A tiny WSGI client, so the tests go through the same entry point as production traffic."""

from __future__ import annotations

import io
import json
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest

from billing.api import application


def call(method: str, path: str, body: Any = None) -> tuple[int, Any]:
    raw = json.dumps(body).encode() if body is not None else b""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "CONTENT_LENGTH": str(len(raw)),
        "CONTENT_TYPE": "application/json", "wsgi.input": io.BytesIO(raw),
    }
    setup_testing_defaults(environ)
    status: list[str] = []
    chunks = application(environ, lambda s, headers: status.append(s))
    return int(status[0].split()[0]), json.loads(b"".join(chunks))


@pytest.fixture
def client() -> Any:
    return call
