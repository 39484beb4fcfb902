"""A user's mistake gets one line and an exit status, never a traceback (issue 10, item 8)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.fixtures_path import shared_dir

# Real subprocesses (the service, the CLI): run in CI; `pytest -m "not slow"` skips them locally.
pytestmark = pytest.mark.slow

EVENT = shared_dir() / "fixtures" / "sentry" / "real" / "sentry-mcp-event-javascript.json"
_SECRETS = ("AUTOFIXER_SENTRY_TOKEN", "AUTOFIXER_LLM_KEY", "ANTHROPIC_API_KEY", "AUTOFIXER_CONFIG")


def _cli(*args: str, cwd: Path, env: dict[str, str] | None = None,
         timeout: float = 60) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in _SECRETS}
    return subprocess.run([sys.executable, "-m", "server.cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, env={**base, **(env or {})})


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.strip() and "warning:" not in ln]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_config_pointing_at_a_directory(tmp_path: Path) -> None:
    (tmp_path / "autofixer.yml").mkdir()  # what Docker makes when the file was not copied
    result = _cli("--config", str(tmp_path / "autofixer.yml"), "serve", cwd=tmp_path)
    assert result.returncode == 2 and "is a directory, not a config file" in _one_line(result)


def test_event_show_of_a_json_file_that_is_no_event(tmp_path: Path) -> None:
    (tmp_path / "issue.json").write_text('{"id": "1", "title": "an issue, not an event"}')
    result = _cli("event", "show", str(tmp_path / "issue.json"), cwd=tmp_path)
    assert result.returncode == 1 and "not a Sentry event" in _one_line(result)


def test_event_show_without_a_token_or_with_sentry_unreachable(tmp_path: Path) -> None:
    result = _cli("event", "show", "1234", cwd=tmp_path)
    assert result.returncode == 1 and "AUTOFIXER_SENTRY_TOKEN is not set" in _one_line(result)
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    config = tmp_path / "autofixer.yml"
    config.write_text(yaml.safe_dump({"source": {"base-url": f"http://127.0.0.1:{port}", "org": "acme"},
                                      "worker": {"sentry-max-attempts": 1}}))
    result = _cli("--config", str(config), "event", "show", "1234", cwd=tmp_path,
                  env={"AUTOFIXER_SENTRY_TOKEN": "test-token-not-real"})
    line = _one_line(result)
    assert result.returncode == 1 and "127.0.0.1" in line and "test-token-not-real" not in result.stderr


def test_serve_on_a_port_in_use_says_so_before_claiming_to_serve(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        config = tmp_path / "autofixer.yml"
        config.write_text(yaml.safe_dump({"state-dir": str(tmp_path / "state")}))
        result = _cli("--config", str(config), "serve", "--port", str(port), cwd=tmp_path)
    assert result.returncode == 2 and "the port is in use" in _one_line(result)
    assert "serving on" not in result.stderr


def test_output_piped_into_head(tmp_path: Path) -> None:
    # Far more output than a pipe holds, so the writer is still writing when `head` leaves.
    event = json.loads(EVENT.read_text())
    entry = next(e for e in event["entries"] if e["type"] == "breadcrumbs")
    entry["data"]["values"] = entry["data"]["values"] * 4000
    big = tmp_path / "big-event.json"
    big.write_text(json.dumps(event))
    shell = f"{sys.executable} -m server.cli event show --json {big} | head -1"
    result = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.stdout.strip() == "{" and result.stderr == "", result.stderr
