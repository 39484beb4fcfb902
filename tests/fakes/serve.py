"""Run an ASGI app (a fake upstream API) on a real loopback port in a background thread.

Fakes run on their own event loop so the code under test — sync or async, in-process or a
subprocess — talks real HTTP to them, exactly as it would to the real service.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from hypercorn.asyncio import serve
from hypercorn.config import Config


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve_app(app: Any, port: int | None = None, *, tls: tuple[str, str] | None = None) -> Iterator[str]:
    """Serve `app` on 127.0.0.1 and yield its base URL (no trailing slash); over HTTPS with
    `tls=(certfile, keyfile)` (a forge behind an internal CA)."""
    port = port or free_port()
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    if tls is not None:
        config.certfile, config.keyfile = tls
    config.accesslog = None
    config.errorlog = None
    config.graceful_timeout = 0.5
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    started = threading.Event()

    async def main() -> None:
        async def trigger() -> None:
            await stop.wait()

        task = asyncio.ensure_future(serve(app, config, shutdown_trigger=trigger))
        while not _listening(port):
            await asyncio.sleep(0.01)
        started.set()
        await task

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    if not started.wait(10):
        raise RuntimeError(f"fake server on port {port} did not start")
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(5)
        if not thread.is_alive():
            loop.close()


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0
