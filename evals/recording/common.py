"""What every recorder shares: the recording DSN, where the scratch SDK installs live and which
SDK versions they pin, the error for an install that failed, where the recorded process pretends
to run, and the JSON files recordings are written as."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypedDict

# A reserved TLD (RFC 2606): even a misconfigured transport could not reach a real server.
RECORDING_DSN = "https://public@sentry.example.invalid/1"
# Scratch environments for the real SDKs live in a fixed cache directory so every recording
# (and the recorder test in CI) reuses one install instead of paying for it each time.
CACHE_DIR = Path(os.environ.get("AUTOFIXER_CACHE_DIR") or Path.home() / ".cache" / "autofixer")
DEFAULT_VENV = Path(os.environ.get("AUTOFIXER_RECORDER_VENV") or CACHE_DIR / "recorder-venv")
DEFAULT_NODE_DIR = Path(os.environ.get("AUTOFIXER_RECORDER_NODE_DIR") or CACHE_DIR / "recorder-node")
# Pinned so a re-recording differs from the committed event only where the scenario changed.
PYTHON_SDK_REQUIREMENT = os.environ.get("AUTOFIXER_RECORDER_SENTRY_SDK") or "sentry-sdk==2.75.0"
NODE_SDK_PACKAGE = os.environ.get("AUTOFIXER_RECORDER_SENTRY_NODE") or "@sentry/node@11.12.0"


class RecorderSetupError(RuntimeError):
    """The scratch environment for an SDK could not be installed (e.g. no registry access)."""


class Deployment(TypedDict, total=False):
    """Where the recorded process pretends to run: the capture functions' optional keywords."""

    environment: str  # default "production"
    server_name: str  # default "web-1"
    deploy_root: str  # default "/srv/app": the project copy's path becomes this in the event
    # The Python process's sys.argv (default `[f"{deploy_root}/app.py"]`); the Node SDK does not report it.
    argv: Iterable[str] | None
    sdk_options: Mapping[str, Any] | None  # more options for the SDK's init


def deploy_root(deployment: Deployment) -> str:
    """Where the app is deployed: the project copy's path is rewritten to this. Raises TypeError
    for a keyword `Deployment` does not have, as a misspelt keyword argument always did."""
    unknown = sorted(set(deployment) - Deployment.__optional_keys__)
    if unknown:
        raise TypeError(f"unexpected keyword argument {unknown[0]!r}")
    return deployment.get("deploy_root", "/srv/app")


def sdk_init_options(release: str, deployment: Deployment, *, server_name_key: str) -> dict[str, Any]:
    """The SDK's init options: the recording DSN, the release, the deployment's environment and
    server name (`server_name_key`: the SDK's spelling of that option), then its `sdk_options`."""
    return {
        "dsn": RECORDING_DSN,
        "release": release,
        "environment": deployment.get("environment", "production"),
        server_name_key: deployment.get("server_name", "web-1"),
        **(deployment.get("sdk_options") or {}),
    }


def write_json(path: Path, data: Any) -> None:
    """`data` as indented UTF-8 JSON with a final newline (the committed recordings' format)."""
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
