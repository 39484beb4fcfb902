"""Sample projects for the execution engine's tests, built offline.

The sandbox shows a project nothing of autofixer's venv, so a project whose tests run with
pytest needs pytest of its own. Tests must not need the network, so the sample projects carry
a copy of pytest (and its dependencies) from autofixer's venv in `_vendor/`, found through
`PYTHONPATH=_vendor` (relative: it works at /sandbox/repo and in `sandbox: none`'s copy alike).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import _pytest
import pytest

from execution.config import TestsConfig
from execution.engine import TestEngine

_SITE = Path(_pytest.__file__).parent.parent
_VENDORED = ("_pytest", "pytest", "pluggy", "iniconfig", "packaging", "pygments", "py.py")


def write_files(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def python_project(root: Path, files: dict[str, str], *, vendor: bool = True) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    write_files(root, files)
    if vendor:
        metadata = [p.name for p in _SITE.glob("*.dist-info") if p.name.split("-")[0].lower() in _VENDORED]
        for name in (*_VENDORED, *metadata):  # pluggy reads its own version from its metadata
            source = _SITE / name
            if source.is_dir():
                shutil.copytree(source, root / "_vendor" / name, ignore=shutil.ignore_patterns("__pycache__"))
            elif source.exists():
                shutil.copy2(source, root / "_vendor" / name)
    return root


def vendored_pytest(**overrides: object) -> TestsConfig:
    """A `tests:` block for a python_project: pytest from `_vendor/`, no setup."""
    return TestsConfig.model_validate({"runner": "pytest", "env": {"PYTHONPATH": "_vendor"}, **overrides})


def sandboxed_engine(state_dir: Path) -> TestEngine:
    """A bwrap engine, or the test is skipped (with the reason) where no sandbox can start."""
    engine = TestEngine(state_dir)
    if (reason := engine.unavailable()) is not None:
        pytest.skip(f"bubblewrap cannot start here: {reason}")
    return engine


@contextlib.contextmanager
def tcp_listener() -> Iterator[tuple[int, list[bytes]]]:
    """A TCP server on 127.0.0.1 that code in the sandbox must not reach: records each
    connection's first bytes ("(connected)" when it sends none) and answers "ping" with "pong"."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    received: list[bytes] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(3)
                try:
                    data = conn.recv(100)
                    received.append(data or b"(connected)")
                    if data == b"ping":
                        conn.sendall(b"pong")
                except OSError:
                    received.append(b"(connected)")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], received
    finally:
        stop.set()
        thread.join(2)
        server.close()
