"""What the GitLab and Bitbucket fakes share: a request log, scripted failures, JSON answers and
git smart HTTP (`git http-backend`) over bare repositories behind the forge's own auth check.

A subclass adds its REST routes (`routes(app)`), says how it checks a request's credentials
(`refuse_api()`, `git_allowed()`), what its error bodies look like (`error_body`) and where it
serves git (`git_prefix`: "" for `/{repo}.git`, "/scm" for Bitbucket Data Center).
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from quart import Quart, Response, request

from tests.fakes.github_api import LoggedRequest, Scripted, _parse_json, http_backend

_GIT_PATH = re.compile(r"^(?P<repo>.+?)\.git/(?P<service>info/refs|git-upload-pack|git-receive-pack)$")


def basic_credentials(auth: str | None) -> tuple[str, str] | None:
    scheme, _, encoded = (auth or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(encoded).decode().partition(":")
    except ValueError:
        return None
    return user, password


def bearer_token(auth: str | None) -> str | None:
    scheme, _, value = (auth or "").partition(" ")
    return value if scheme.lower() == "bearer" else None


@dataclass
class FakeForge:
    token: str
    repo_paths: dict[str, Path] = field(default_factory=dict)  # repository → bare repository
    clock: Callable[[], float] = time.time
    requests: list[LoggedRequest] = field(default_factory=list)
    git_auth_seen: list[str | None] = field(default_factory=list)
    _scripted: list[Scripted] = field(default_factory=list)

    git_prefix = ""

    def __post_init__(self) -> None:
        self.app = Quart(type(self).__name__)
        self.routes(self.app)

        @self.app.route(f"{self.git_prefix}/<path:rest>", methods=["GET", "POST"])
        async def git(rest: str) -> Response:
            match = _GIT_PATH.match(rest)
            if match is None:
                return Response("Not Found", 404, content_type="text/plain")
            return await self._git(self.git_repo(match["repo"]), match["service"])

    # ── what each forge declares ─────────────────────────────────────────────────────────

    def routes(self, app: Quart) -> None:
        raise NotImplementedError

    def refuse_api(self) -> Response | None:
        """The forge's answer to a request with wrong or missing credentials, else None."""
        raise NotImplementedError

    def git_allowed(self, auth: str | None) -> bool:
        creds = basic_credentials(auth)
        return creds is not None and creds[1] == self.token

    def error_body(self, status: int, message: str) -> Any:
        return {"message": message}

    def rate_headers(self) -> dict[str, str]:
        return {}

    def git_repo(self, path: str) -> str:
        """The repository a git URL path (without `.git`) names."""
        return path

    # ── scripting and inspection ─────────────────────────────────────────────────────────

    def fail_next(self, method: str, path_suffix: str, status: int, headers: dict[str, str] | None = None,
                  body: Any = None) -> None:
        """Answer the next `method` request whose path ends with `path_suffix` with `status` (queued)."""
        self._scripted.append(Scripted(method.upper(), path_suffix, status, dict(headers or {}), body))

    def find(self, method: str, path_suffix: str) -> list[LoggedRequest]:
        return [r for r in self.requests if r.method == method and r.path.endswith(path_suffix)]

    # ── plumbing ─────────────────────────────────────────────────────────────────────────

    async def api(self, handler: Callable[..., Any], *args: Any) -> Response:
        body = await request.get_data()
        logged = LoggedRequest(method=request.method, path=request.path,
                               query={k: request.args.getlist(k) for k in request.args}, json=_parse_json(body),
                               headers={k.lower(): v for k, v in request.headers.items()}, started=time.monotonic())
        self.requests.append(logged)
        response = self.refuse_api()
        if response is None:
            scripted = next((s for s in self._scripted if s.method == request.method
                             and request.path.endswith(s.path_suffix)), None)
            if scripted is not None:
                self._scripted.remove(scripted)
                response = self.json(scripted.body if scripted.body is not None
                                     else self.error_body(scripted.status, f"{scripted.status} error"),
                                     scripted.status, scripted.headers)
            elif body and logged.json is None:
                response = self.json(self.error_body(400, "The request body is not valid JSON"), 400)
            else:
                response = await handler(*args, logged.json) if request.method != "GET" else await handler(*args)
        logged.finished, logged.status = time.monotonic(), response.status_code
        return response

    def json(self, body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        merged = {**self.rate_headers(), **{k.lower(): v for k, v in (headers or {}).items()}}
        return Response(json.dumps(body), status, merged, content_type="application/json; charset=utf-8")

    def now_iso(self) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(self.clock()))

    async def branch_sha(self, repo: str, branch: str) -> str | None:
        path = self.repo_paths.get(repo)
        if path is None:
            return None
        proc = await asyncio.create_subprocess_exec(
            "git", "--git-dir", str(path), "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        )
        out, _ = await proc.communicate()
        return out.decode().strip() if proc.returncode == 0 else None

    async def _git(self, repo: str, service: str) -> Response:
        path = self.repo_paths.get(repo)
        if path is None:
            return Response("Repository not found", 404, content_type="text/plain")
        auth = request.headers.get("Authorization")
        self.git_auth_seen.append(auth)
        if not self.git_allowed(auth):
            return Response("Authentication failed", 401, {"www-authenticate": 'Basic realm="git"'},
                            content_type="text/plain")
        return await http_backend(path, service, "autofixer")


__all__ = ["FakeForge", "basic_credentials", "bearer_token"]
