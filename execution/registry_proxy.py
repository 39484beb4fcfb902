"""Setup's only way out: an HTTPS CONNECT proxy that tunnels to the package registries and nothing else.

Setup commands (`pip install`, `npm ci`) need the registries, but a network namespace shared
with the host would also give them this machine's loopback (autofixer's own API, a database,
a cloud metadata endpoint) and the whole internet, and setup can run LLM-written code (a
`setup.py` the agent edited). So setup gets its own network namespace too, with only a
loopback, and the proxy below: it listens on a Unix socket that is mounted into the sandbox,
where a small forwarder (FORWARDER, run with autofixer's own interpreter) exposes it as
127.0.0.1:PROXY_PORT, the address the setup's `https_proxy` variables name. The proxy accepts
only `CONNECT host:443` for an allowed host (`tests.registries`), so TLS stays end to end
between the package manager and the registry; anything else is refused and recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger("autofixer.execution")

PROXY_PORT = 3128
DEFAULT_REGISTRIES = ("pypi.org", "files.pythonhosted.org", "registry.npmjs.org", "registry.yarnpkg.com")
_HEAD_LIMIT = 8192
_HEAD_TIMEOUT_S = 15.0
_CONNECT_TIMEOUT_S = 20.0

# Runs inside the sandbox (python -S -c): 127.0.0.1:PORT → the proxy's Unix socket, one pair of
# threads per connection; `ready` tells the setup script it may start.
FORWARDER = """
import socket, sys, threading
port, path, ready = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def pipe(a, b):
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    finally:
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", port))
server.listen(64)
open(ready, "w").close()
while True:
    client, _ = server.accept()
    upstream = socket.socket(socket.AF_UNIX)
    try:
        upstream.connect(path)
    except OSError:
        client.close()
        continue
    threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
    threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()
"""


def allowed_hosts(registries: Iterable[str]) -> set[tuple[str, int]]:
    """`host` (port 443) or `host:port` entries as (host, port) pairs."""
    allowed: set[tuple[str, int]] = set()
    for entry in registries:
        host, sep, port = entry.strip().lower().rpartition(":")
        if sep and port.isdigit():
            allowed.add((host.strip("[]"), int(port)))
        else:
            allowed.add((entry.strip().lower(), 443))
    return allowed


class RegistryProxy:
    """`async with RegistryProxy(socket_path, registries)`: serving while the block runs."""

    def __init__(self, socket_path: Path, registries: Iterable[str]) -> None:
        self.socket_path = socket_path
        self.allowed = allowed_hosts(registries)
        self.refused: list[str] = []  # what setup tried to reach and was not let through
        self._server: asyncio.AbstractServer | None = None
        self._tunnels: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> RegistryProxy:
        self._server = await asyncio.start_unix_server(self._serve, path=str(self.socket_path))
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tunnels):
            task.cancel()
        await asyncio.gather(*self._tunnels, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tunnels.add(task)
        try:
            await self._tunnel(reader, writer)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError):
            pass
        finally:
            if task is not None:
                self._tunnels.discard(task)
            writer.close()

    async def _tunnel(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _HEAD_TIMEOUT_S)
        if len(head) > _HEAD_LIMIT:
            return
        method, _, rest = head.split(b"\r\n", 1)[0].decode("latin-1").partition(" ")
        target = rest.split(" ", 1)[0]
        host, _, port = target.rpartition(":")
        key = (host.strip("[]").lower(), int(port) if port.isdigit() else 0)
        if method != "CONNECT" or key not in self.allowed:
            self.refused.append(f"{method} {target}"[:200])
            log.info("setup's network: refused %s %s", method, target[:200])
            writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            return
        up_reader, up_writer = await asyncio.wait_for(asyncio.open_connection(*key), _CONNECT_TIMEOUT_S)
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            up_writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        with contextlib.suppress(OSError):
            if writer.can_write_eof():
                writer.write_eof()
