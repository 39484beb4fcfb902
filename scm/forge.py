"""What the GitLab and Bitbucket providers share: the git side, TLS and the idempotent open.

A forge provider here is an `HttpClient` (retries, Retry-After, error text, token redaction)
that also:
- pushes with plain `git push` (scm.git_push), its token handed over per command with the
  HTTPS user the forge documents (`token_user`), never stored;
- trusts an internal CA for both git (`http.sslCAInfo`) and httpx when `ca-bundle` is set, and
  only turns verification off through the `tls-verify: false` escape hatch, warned about loudly;
- opens a pull/merge request idempotently: an open one for the head branch is found first and
  returned, and the forge's own "it already exists" answer is handled by the subclass.

Subclasses declare their config, auth, clone URL and the three REST calls (find, create, label).
"""

from __future__ import annotations

import asyncio
import logging
import time
from abc import abstractmethod
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, field_validator

from common.config import ConnectorConfig, ConnectorContext, HttpUrlMixin
from common.git import tls_config
from common.http import Clock, HttpClient, HttpError, RetryPolicy, Sleep, tls_verify
from scm import git_push
from scm.base import PullRequest, PullRequestSpec, ScmError

log = logging.getLogger(__name__)


class TlsConfig(BaseModel):
    """`ca-bundle` / `tls-verify`, for every forge entry (GitHub Enterprise included)."""

    ca_bundle: str | None = None  # a PEM file: the internal CA of a self-managed forge
    tls_verify: bool = True  # false: verify nothing (warned at start-up; prefer ca-bundle)

    @field_validator("ca_bundle")
    @classmethod
    def _readable(cls, value: str | None) -> str | None:
        if value is not None and not Path(value).is_file():
            raise ValueError(f"{value!r} is not a file (the PEM bundle of the forge's CA)")
        if value is not None:
            tls_verify(value)  # a file that is no PEM bundle: the same one-line config error
        return value


class ForgeConfig(ConnectorConfig, HttpUrlMixin, TlsConfig):
    """Keys every forge entry has besides `type`, `name` and its token variable."""

    base_url: str | None = None


def tls_settings(config: Any) -> dict[str, Any]:
    """`verify=` for httpx and `git_config=` for git, from an entry's TLS keys."""
    if not config.tls_verify:
        log.warning("%s: TLS certificate verification is OFF (tls-verify: false): anyone between autofixer "
                    "and the forge can read its token; set ca-bundle to the internal CA instead", config.key)
    return {"verify": tls_verify(config.ca_bundle, verify=config.tls_verify),
            "git_config": tls_config(config.ca_bundle, verify=config.tls_verify)}


LABELS_PREFIX = "Labels: "


def labels_footer(body: str, labels: list[str]) -> str:
    """`body` with a last line naming `labels`, for forges without pull request labels
    (Bitbucket): the people and filters that look for them still find the words."""
    if not labels:
        return body
    return f"{body}\n\n{LABELS_PREFIX}{' '.join(f'`{label}`' for label in labels)}"


def split_repo(repo: str, form: str, vendor: str) -> tuple[str, str]:
    """`owner/name` (Bitbucket's workspace/slug, Data Center's KEY/slug) → its two parts, quoted
    for a URL path; anything else (more parts, `..`) is a clear error naming `form`."""
    first, sep, second = repo.strip().strip("/").removesuffix(".git").partition("/")
    if not sep or not first or not second or "/" in second or ".." in (first, second):
        raise ScmError(f"{vendor} repository must be '{form}', got {repo!r}")
    return quote(first, safe=""), quote(second, safe="")


def clip_body(body: str, limit: int, vendor: str) -> str:
    if len(body) <= limit:
        return body
    note = f"\n\n…(truncated: {vendor} limits a pull request description to {limit} characters)"
    return body[: limit - len(note)] + note


class Forge(HttpClient):
    """A forge reached over REST and git smart HTTP (see the module docstring)."""

    kind: ClassVar[str]
    label: ClassVar[str]
    max_body_chars: ClassVar[int] = 32768

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        auth: httpx.Auth | None,
        token_user: str,
        headers: dict[str, str] | None = None,
        git_config: tuple[str, ...] = (),
        verify: Any = True,
        max_attempts: int = 5,
        initial_backoff: float = 1.0,
        max_wait: float = 300.0,
        timeout: float = 30.0,
        push_timeout: float = git_push.PUSH_TIMEOUT_S,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.time,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        retry = RetryPolicy(max_attempts=max_attempts, initial_wait=initial_backoff, max_wait=max_wait,
                            fail_fast=frozenset({401, 403, 404}))
        super().__init__(base_url, auth=auth, secrets=[token], headers=headers, timeout=timeout, retry=retry,
                         transport=transport, verify=verify, sleep=sleep, clock=clock, logger=log)
        self._token = token
        self.token_user = token_user
        self.git_config = git_config
        self.push_timeout = push_timeout
        self.name = self.kind

    def __repr__(self) -> str:
        return self.redact(f"{type(self).__name__}(base_url={self.base_url!r})")

    @classmethod
    def from_config(cls, config: Any, context: ConnectorContext) -> Any:
        """The provider an entry describes: its token from `token-env`, its own keys
        (`options`), its TLS settings and the deployment's retry settings."""
        provider = cls(context.env(config.token_env) or "", **cls.options(config), **tls_settings(config),
                       max_attempts=context.max_attempts, initial_backoff=context.backoff_seconds)
        provider.name = config.key
        return provider

    @classmethod
    def options(cls, config: Any) -> dict[str, Any]:
        """Constructor keywords from the forge's own config keys."""
        return {}

    # ── the ScmProvider contract ─────────────────────────────────────────────────────────

    def git_token(self) -> str | None:
        return self._token or None

    async def push_branch(self, worktree: Path, branch: str, clone_url: str) -> None:
        await git_push.push_branch(worktree, branch, clone_url, self._token or None, token_user=self.token_user,
                                   timeout=self.push_timeout, git_config=self.git_config)

    async def open_pull_request(self, spec: PullRequestSpec) -> PullRequest:
        existing = await self.find_open_pull_request(spec.repo, spec.head)
        if existing is not None:
            log.info("%s: %s already has open request #%d for %s; not opening another",
                     self.name, spec.repo, existing.number, spec.head)
            return existing
        pr = await self.create_pull_request(spec)
        log.info("%s: %s #%d %s", self.name, "opened" if pr.created else "found", pr.number, pr.url)
        return pr

    @abstractmethod
    def clone_url(self, repo: str) -> str: ...

    @abstractmethod
    async def find_open_pull_request(self, repo: str, head: str) -> PullRequest | None: ...

    @abstractmethod
    async def create_pull_request(self, spec: PullRequestSpec) -> PullRequest:
        """POST the request; the forge's "already exists" answer becomes the existing one."""

    # ── shared helpers ───────────────────────────────────────────────────────────────────

    async def get_json(self, path: str, *, what: str, params: dict[str, str] | None = None) -> Any:
        response = await self.request("GET", path, params=params, what=what)
        return self.json_body(response, what=what)

    def body_of(self, spec: PullRequestSpec) -> str:
        return clip_body(spec.body, self.max_body_chars, self.label)

    def make_error(self, message: str, *, status: int | None, retryable: bool) -> HttpError:
        return ScmError(message, status=status, retryable=retryable)


__all__ = ["LABELS_PREFIX", "Forge", "ForgeConfig", "TlsConfig", "clip_body", "labels_footer", "split_repo",
           "tls_settings"]
