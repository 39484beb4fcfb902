"""Run one command under limits and always come back with a result.

The command runs in its own session (process group) and, where possible, its own cgroups
(execution/limits.py). At the wall-time limit, or when its output passes `max_output_bytes`,
the whole tree is killed: the process group, then whatever is left in its cgroups (under
bubblewrap, `--die-with-parent` and the PID namespace take the rest). Output is stdout and
stderr interleaved, kept up to the cap. Nothing here decides what the output means.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from execution.limits import Limits, LimitSpec

_CHUNK = 64 * 1024
# After the command exits, how long a grandchild still holding the pipe may keep it open.
_DRAIN_SECONDS = 1.0


class CommandNotStarted(Exception):
    """The program could not be executed at all (missing, not executable)."""


@dataclass
class ProcessResult:
    exit_code: int | None  # None: killed at a limit
    output: str
    seconds: float
    limit: str | None  # "time" | "output" | "memory" | "processes"
    limits: str  # which mechanism enforced what (Limits.describe)


async def run_limited(argv: list[str], cwd: Path, env: Mapping[str, str], spec: LimitSpec) -> ProcessResult:
    loop = asyncio.get_running_loop()
    started = loop.time()
    limits = await asyncio.to_thread(Limits.open, spec)
    try:
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, cwd=cwd, env=dict(env), stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT, start_new_session=True, preexec_fn=limits.preexec(),
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise CommandNotStarted(f"cannot run {argv[0]}: {exc}") from None
        assert proc.stdout is not None
        buffer = bytearray()
        limit = await _collect(proc, buffer, spec, limits)
        try:
            code: int | None = await asyncio.wait_for(proc.wait(), 5)
        except TimeoutError:
            _kill(proc.pid, limits)
            code = await proc.wait()
        if code == -signal.SIGXCPU:
            limit = limit or "time"
        if (hit := limits.hit()) is not None and limit in (None, "time"):
            limit = hit  # a fork bomb that spun until the time ran out hit the processes limit first
        if limit is not None and limit != "processes":
            code = None
        _kill(proc.pid, limits)  # anything left behind (a daemonised grandchild) ends with the run
        text = bytes(buffer[: spec.max_output_bytes]).decode("utf-8", errors="replace")
        return ProcessResult(code, text, loop.time() - started, limit, limits.describe())
    finally:
        await asyncio.to_thread(limits.close)


async def _collect(proc: asyncio.subprocess.Process, buffer: bytearray, spec: LimitSpec,
                   limits: Limits) -> str | None:
    """Read the output until EOF; the limit that cut it short, if one did. Once the command
    itself has exited, a grandchild still holding the pipe gets `_DRAIN_SECONDS`, not forever."""
    assert proc.stdout is not None
    over = asyncio.Event()
    reader = asyncio.create_task(_read(proc.stdout, buffer, spec.max_output_bytes, over))
    waiter = asyncio.create_task(proc.wait())
    overflow = asyncio.create_task(over.wait())
    limit: str | None = None
    try:
        done, _ = await asyncio.wait({reader, waiter, overflow}, timeout=spec.seconds,
                                     return_when=asyncio.FIRST_COMPLETED)
        if overflow in done:
            limit = "output"
        elif waiter in done and reader not in done:
            done, _ = await asyncio.wait({reader, overflow}, timeout=_DRAIN_SECONDS)
            limit = "output" if overflow in done else None
        elif not done:
            limit = "time"
        if reader not in done:
            _kill(proc.pid, limits)
            await asyncio.wait({reader}, timeout=_DRAIN_SECONDS)  # EOF once every writer is dead
        return limit
    finally:
        for task in (reader, waiter, overflow):
            task.cancel()
        await asyncio.gather(reader, waiter, overflow, return_exceptions=True)


async def _read(stream: asyncio.StreamReader, buffer: bytearray, cap: int, over: asyncio.Event) -> None:
    """Read to EOF, keeping the first `cap` bytes; `over` is set once there is more."""
    while chunk := await stream.read(_CHUNK):
        if len(buffer) <= cap:
            buffer.extend(chunk)
        if len(buffer) > cap:
            over.set()


def _kill(pid: int, limits: Limits) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    limits.kill_all()
