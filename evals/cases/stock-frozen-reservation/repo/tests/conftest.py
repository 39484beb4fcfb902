"""A tiny WSGI client over a fresh store per test, through the same entry point as production."""

from __future__ import annotations

import io
import json
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest

from stock.api import make_app
from stock.store import demo_store


@pytest.fixture
def store():
    return demo_store()


@pytest.fixture
def client(store) -> Any:
    app = make_app(store)

    def call(method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else b""
        environ: dict[str, Any] = {"REQUEST_METHOD": method, "PATH_INFO": path, "CONTENT_LENGTH": str(len(data)),
                                   "wsgi.input": io.BytesIO(data)}
        setup_testing_defaults(environ)
        status: list[str] = []
        chunks = app(environ, lambda s, h: status.append(s))
        return int(status[0].split()[0]), json.loads(b"".join(chunks))

    return call
