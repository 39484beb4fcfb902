"""A tiny WSGI client, so the tests go through the same entry point as production traffic."""

from __future__ import annotations

import json
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest

from subs.api import application


def call(method: str, path: str, query: str = "") -> tuple[int, Any]:
    environ: dict[str, Any] = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query}
    setup_testing_defaults(environ)
    status: list[str] = []
    chunks = application(environ, lambda s, h: status.append(s))
    return int(status[0].split()[0]), json.loads(b"".join(chunks))


@pytest.fixture
def client() -> Any:
    return call
