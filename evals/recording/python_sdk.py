"""Recording a Python scenario under the real Sentry Python SDK.

Recorded, not written by hand: a scenario runs a project's code under the real `sentry-sdk`
(installed in a separate scratch venv, never a dependency of autofixer), and the event the SDK
would have sent is taken from its transport. The SDK is initialised with a DSN on a reserved,
unresolvable host (`sentry.example.invalid`) and a custom `Transport` whose `capture_envelope`
writes each envelope's event item to a file, so nothing ever reaches the network. Everything in
the captured event (exception chain, frames with source context and local variables, in-app
flags, breadcrumbs, request, contexts, SDK info, timestamps, event id) is produced by the SDK
itself. What runs inside the recording process is evals/recording/python_child.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import venv
from collections.abc import Callable
from pathlib import Path
from typing import Any, Unpack

from evals.recording import python_child
from evals.recording.api_format import capture_to_api
from evals.recording.capture import run_scenario_process, scratch_copy
from evals.recording.common import (
    DEFAULT_VENV,
    PYTHON_SDK_REQUIREMENT,
    Deployment,
    RecorderSetupError,
    deploy_root,
    sdk_init_options,
)

Scenario = str | Callable[..., Any]


def record_python_scenario(
    project_dir: Path | str,
    scenario: Scenario,
    *,
    issue_id: str,
    project_slug: str,
    release: str,
    project_id: str = "1",
    python: Path | str | None = None,
    **deployment: Unpack[Deployment],
) -> dict[str, Any]:
    """Run `scenario` against a copy of `project_dir` under the real Sentry SDK and return
    the last error event it captured, in the API format.

    `scenario` is Python source (run in a child process with `python`, by default a scratch
    venv with sentry-sdk, with `sentry_sdk` initialised, the project importable and
    `wsgi_request` defined), or a callable taking `wsgi_request` (run in this process, which
    then needs `sentry_sdk` importable). `deployment`: where the process pretends to run (see
    `Deployment`). Use `capture_ingest_event` + `ingest_to_api` to keep the raw SDK event as well.
    """
    captured = capture_ingest_event(project_dir, scenario, release=release, python=python, **deployment)
    return capture_to_api(captured, issue_id=issue_id, project_id=project_id, project_slug=project_slug)


def capture_ingest_event(
    project_dir: Path | str,
    scenario: Scenario,
    *,
    release: str,
    python: Path | str | None = None,
    **deployment: Unpack[Deployment],
) -> dict[str, Any]:
    """`{"event": <ingest event>, "received": <epoch seconds the transport got it>}`."""
    root, argv = deploy_root(deployment), deployment.get("argv")
    with scratch_copy(project_dir, prefix="recorder-", ignore=("__pycache__", ".pytest_cache", ".git")) as scratch:
        copy = scratch.app
        spec: dict[str, Any] = {
            "project_dir": str(copy),
            "out": str(scratch.events),
            "argv": list(argv) if argv is not None else [f"{root}/app.py"],
            "options": sdk_init_options(release, deployment, server_name_key="server_name"),
        }
        if callable(scenario):
            venv_prefix = sys.prefix
            python_child.run_in_process(spec, scenario)
        else:
            interpreter = Path(python) if python else recorder_python_for(Path(project_dir))
            venv_prefix = _prefix_of(interpreter)
            spec["scenario"] = scenario
            spec_file = scratch.write("spec.json", json.dumps(spec))
            env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0"}
            env.pop("PYTHONPATH", None)  # the child sees the project copy and its venv, nothing of ours
            child = str(Path(python_child.__file__).resolve())
            run_scenario_process([str(interpreter), child, str(spec_file)], cwd=copy, env=env)
        return scratch.last_error(("error", "default"), {str(copy): root, venv_prefix: "/opt/venv"})


def ensure_recorder_venv(path: Path = DEFAULT_VENV, requirements: Path | None = None) -> Path:
    """A scratch venv with `sentry-sdk` (and a project's `requirements` file, for a project with
    dependencies of its own), created on first use; returns its python."""
    python = path / "bin" / "python"
    if not python.exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(path)
    marker = path / ".requirements"
    wanted = requirements.read_text(encoding="utf-8") if requirements else ""
    check = subprocess.run([str(python), "-c", "import sentry_sdk"], capture_output=True)
    if check.returncode != 0 or (marker.read_text(encoding="utf-8") if marker.exists() else "") != wanted:
        extra = ["-r", str(requirements)] if requirements else []
        proc = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", PYTHON_SDK_REQUIREMENT, *extra],
            capture_output=True, text=True,
        )
        if proc.returncode != 0:
            raise RecorderSetupError(f"pip install {PYTHON_SDK_REQUIREMENT} {' '.join(extra)} failed:\n"
                                     f"{proc.stderr[-3000:]}")
        marker.write_text(wanted, encoding="utf-8")
    return python


def recorder_python_for(project_dir: Path) -> Path:
    """The recorder's interpreter for a project: the shared scratch venv, or, for a project
    pinning its own dependencies in requirements.txt, one venv per content of that file."""
    requirements = project_dir / "requirements.txt"
    if not requirements.is_file():
        return ensure_recorder_venv()
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()[:12]
    return ensure_recorder_venv(DEFAULT_VENV.with_name(f"{DEFAULT_VENV.name}-{digest}"), requirements)


def _prefix_of(python: Path) -> str:
    """The interpreter's `sys.prefix` (its venv), which the path map rewrites to `/opt/venv`."""
    proc = subprocess.run([str(python), "-c", "import sys; print(sys.prefix)"], capture_output=True, text=True)
    return proc.stdout.strip() or str(python.parent.parent)
