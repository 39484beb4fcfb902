"""Run `autofixer serve` as a real subprocess on loopback, for tests that need the whole service."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from sources.sentry.webhook import sign
from tests.fakes.serve import free_port

WEBHOOK_SECRET = "test-webhook-secret-not-real"
SENTRY_TOKEN = "test-sentry-token-not-real"
# A developer's real keys must never reach a test service.
_NEVER_INHERITED = {"AUTOFIXER_LLM_KEY", "ANTHROPIC_API_KEY", "AUTOFIXER_GITHUB_TOKEN", "AUTOFIXER_CONFIG",
                    "AUTOFIXER_API_TOKEN"}


class Service:
    def __init__(self, workdir: Path, sentry_url: str, *, config: dict[str, Any] | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "service.log"
        base = {
            "source": {"type": "sentry", "base-url": sentry_url, "org": "test-org"},
            "projects": [{"source-project": "front-end", "scm-repo": "acme/front-end"}],
            "worker": {"concurrency": 2, "poll-interval-seconds": 0.1, "sentry-backoff-seconds": 0.05},
            "state-dir": str(workdir / "state"),
        }
        for key, value in (config or {}).items():
            base[key] = value
        self.config_path = workdir / "autofixer.yml"
        self.config_path.write_text(yaml.safe_dump(base))
        inherited = {k: v for k, v in os.environ.items() if k not in _NEVER_INHERITED}
        self.env = {
            **inherited,
            "AUTOFIXER_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "AUTOFIXER_SENTRY_TOKEN": SENTRY_TOKEN,
            **(env or {}),
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Service:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "--config", str(self.config_path), "serve", "--port", str(self.port)],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"service exited early:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.kill()  # never leave a half-started service running behind a failed test
        raise RuntimeError(f"service did not become healthy:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, exactly like a crashed container."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def post_webhook(self, body: bytes | dict[str, Any], resource: str, *, secret: str = WEBHOOK_SECRET,
                     headers: dict[str, str] | None = None, source: str = "sentry") -> httpx.Response:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        sent = {
            "Content-Type": "application/json",
            "Sentry-Hook-Resource": resource,
            "Sentry-Hook-Timestamp": str(int(time.time())),
            "Sentry-Hook-Signature": sign(raw, secret),
            "Request-ID": "test",
            **(headers or {}),
        }
        return httpx.post(f"{self.url}/api/webhook/{source}", content=raw, headers=sent, timeout=10)

    def job(self, job_id: str) -> dict[str, Any] | None:
        token = self.env.get("AUTOFIXER_API_TOKEN")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = httpx.get(f"{self.url}/api/jobs/{job_id}", timeout=5, headers=headers)
        return response.json() if response.status_code == 200 else None

    def wait_job(self, job_id: str, timeout: float = 20) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.job(job_id)
            if job and job["status"] in ("done", "skipped", "failed", "ignored"):
                return job
            time.sleep(0.1)
        raise AssertionError(f"job {job_id} did not finish: {self.job(job_id)}\n{self.log()[-4000:]}")
