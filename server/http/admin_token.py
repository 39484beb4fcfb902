"""The jobs API's token when the operator set none: random, in the state dir, readable by its owner.

A service bound beyond loopback (Docker, `--host 0.0.0.0`) cannot tell a local client from a
remote one, so without AUTOFIXER_API_TOKEN it used to refuse everybody, `autofixer retry` on the
same host included. Instead it writes a token at first start (mode 0600) and the CLI on a host
that shares the state dir reads it: whoever can read the state dir may already read every job.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

FILE_NAME = "api-token"


def path(state_dir: Path) -> Path:
    return state_dir / FILE_NAME


def ensure(state_dir: Path) -> str:
    """The token in the state dir, created (0600, never overwritten) when missing."""
    state_dir.mkdir(parents=True, exist_ok=True)
    target = path(state_dir)
    with contextlib.suppress(FileExistsError):
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(32) + "\n")
    token = read(state_dir)
    if not token:
        raise OSError(f"{target} is empty: delete it and restart the service to create a new token")
    return token


def read(state_dir: Path) -> str | None:
    try:
        return path(state_dir).read_text(encoding="utf-8").strip() or None
    except OSError:
        return None
