"""GitHub (github.com and GitHub Enterprise Server) as an SCM provider.

The branch goes up with `git push` (scm.git_push); the pull request is one REST call, made
idempotent by looking for an open PR with the same head first and by treating GitHub's 422
"A pull request already exists for owner:branch." as "return that one".

Talking to GitHub politely, as its REST guide asks of integrators:
- every request pins `X-GitHub-Api-Version` and the `application/vnd.github+json` media type;
- write requests are never concurrent (one lock per provider) and are spaced `write_interval`
  seconds apart, the main defence against secondary rate limits;
- rate limits are honoured, not hammered: `retry-after` first; else, when
  `x-ratelimit-remaining` is 0, wait until `x-ratelimit-reset` (epoch seconds); else, for a
  secondary limit, at least a minute and exponentially longer after that. A server-mandated wait
  longer than `max_wait` fails at once instead of retrying early (GitHub may ban integrations
  that keep calling while limited);
- 5xx, timeouts and connection errors are retried with exponential backoff;
- 401, 404 and other 4xx fail at once with GitHub's own `message`.

The retrying, waiting, error text and redaction are the shared HTTP layer's (common.http); this
module only declares how GitHub differs: its headers, the write lock, which 403s are rate
limits, the `x-ratelimit-reset` hint, and a policy that never retries early.

The token only ever goes into the Authorization header of requests to `base_url`: it is never
in an exception message, a log line or the provider's repr.

GitHub Enterprise Server: `base_url="https://HOST/api/v3"` (see `enterprise_api_url`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal
from urllib.parse import quote

import httpx
from pydantic import model_validator

from common.config import ConnectorConfig, ConnectorContext, HttpUrlMixin
from common.git import TOKEN_USER
from common.http import (
    USER_AGENT,
    Clock,
    HttpClient,
    HttpError,
    RetryPolicy,
    Sleep,
    TokenAuth,
    reset_wait,
    retry_after,
    safe_json,
)
from scm import git_push
from scm.base import PullRequest, PullRequestSpec, ScmError
from scm.forge import TlsConfig, tls_settings
from scm.github_app import InstallationAuth, InstallationTokens

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_API_VERSION = "2022-11-28"
MEDIA_TYPE = "application/vnd.github+json"
MAX_BODY_CHARS = 65536  # GitHub refuses longer PR bodies with a 422 ("body is too long")
ALREADY_EXISTS = "a pull request already exists"
RESET_MARGIN_S = 1.0  # x-ratelimit-reset has one-second granularity; never retry a hair early
# Past a full primary-limit window (max_wait), a call may still spend this long on backoffs.
EXTRA_TOTAL_WAIT_S = 900.0


def enterprise_api_url(server: str) -> str:
    """`https://ghe.example.com` (or `ghe.example.com`) → `https://ghe.example.com/api/v3`."""
    server = server.strip().rstrip("/")
    if "://" not in server:
        server = f"https://{server}"
    return server if server.endswith("/api/v3") else f"{server}/api/v3"


class GitHubConfig(ConnectorConfig, HttpUrlMixin, TlsConfig):
    type: Literal["github"] = "github"
    base_url: str | None = None  # the REST API; GitHub Enterprise: https://HOST/api/v3
    token_env: str = "AUTOFIXER_GITHUB_TOKEN"  # fine-grained token: Contents, Pull requests, Issues: write
    # auth: app — a GitHub App installation instead of a token (see scm.github_app).
    auth: Literal["token", "app"] = "token"
    app_id: str | None = None  # the app's client id (recommended) or numeric app id
    installation_id: int | None = None
    private_key_env: str = "AUTOFIXER_GITHUB_APP_PRIVATE_KEY"  # the PEM itself …
    private_key_path_env: str = "AUTOFIXER_GITHUB_APP_PRIVATE_KEY_FILE"  # … or the path of a file holding it

    @model_validator(mode="after")
    def _app_ids(self) -> GitHubConfig:
        if self.auth == "app" and (not self.app_id or self.installation_id is None):
            raise ValueError("auth: app needs app-id and installation-id (both on the app's settings page)")
        return self


class GitHubProvider(HttpClient):
    """Push branches and open pull requests on GitHub or GitHub Enterprise Server."""

    name = "github"
    vendor = "GitHub"
    base_url_hint = "is the base URL the API root (https://api.github.com or https://HOST/api/v3)?"
    status_hints: ClassVar[Mapping[int, str]] = {
        401: "check the GitHub token (it may be wrong, expired or revoked)",
        404: ("the repository does not exist or the token cannot see it "
              "(GitHub answers 404 rather than 403 for private repositories)"),
        403: "the token lacks a permission (Pull requests: write, Contents: write, Issues: write for labels)",
    }

    def __init__(
        self,
        token: str,
        *,
        base_url: str = DEFAULT_API_URL,
        api_version: str = DEFAULT_API_VERSION,
        max_attempts: int = 5,
        min_secondary_wait: float = 60.0,
        initial_backoff: float = 1.0,
        max_wait: float = 3600.0,
        max_total_wait: float | None = None,
        write_interval: float = 1.0,
        timeout: float = 30.0,
        token_user: str = TOKEN_USER,
        push_timeout: float = git_push.PUSH_TIMEOUT_S,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.time,
        transport: httpx.AsyncBaseTransport | None = None,
        app: InstallationTokens | None = None,
        verify: Any = True,
        git_config: tuple[str, ...] = (),
    ) -> None:
        retry = RetryPolicy(
            max_attempts=max_attempts,
            initial_wait=initial_backoff,
            # An hour covers a whole primary rate-limit window, so a reset is always waited out.
            max_wait=max_wait,
            max_total_wait=max_wait + EXTRA_TOTAL_WAIT_S if max_total_wait is None else max_total_wait,
            # Writes are serialised and spaced below, so there is no herd for jitter to spread;
            # exact waits also keep the rate-limit arithmetic checkable.
            jitter=0.0,
            # A secondary limit without any hint: at least a minute, then exponentially longer.
            rate_limit_wait=min_secondary_wait,
            # GitHub may ban integrations that keep calling while limited: a mandated wait
            # longer than max_wait fails at once instead of retrying early.
            shorten_long_hints=False,
            # 403 is also how GitHub says "rate limited" (is_rate_limited tells the two apart).
            fail_fast=frozenset({401, 404}),
        )
        super().__init__(
            base_url,
            # The token may be empty: a dry run that only pushes to a local path needs none.
            auth=InstallationAuth(app) if app is not None else TokenAuth(token) if token else None,
            headers={"Accept": MEDIA_TYPE, "X-GitHub-Api-Version": api_version},
            timeout=timeout, retry=retry, follow_redirects=True, transport=transport,
            verify=verify, sleep=sleep, clock=clock, logger=log,
        )
        self._token = token
        self.app = app
        self.git_config = git_config
        self.api_version = api_version
        self.write_interval = write_interval
        self.token_user = token_user
        self.push_timeout = push_timeout
        self._write_lock = asyncio.Lock()
        self._last_write: float | None = None

    def __repr__(self) -> str:  # explicit, so no attribute added later can drag the token along
        return self.redact(f"GitHubProvider(base_url={self.base_url!r}, api_version={self.api_version!r})")

    # ── credentials (the ScmProvider contract) ───────────────────────────────────────────

    kind = "github"
    label = "GitHub"
    Config = GitHubConfig

    @classmethod
    def from_config(cls, config: GitHubConfig, context: ConnectorContext) -> GitHubProvider:
        base_url = config.base_url or DEFAULT_API_URL
        tls = tls_settings(config)
        app = None
        if config.auth == "app":
            assert config.app_id and config.installation_id is not None  # the config validator says so
            key, trouble = _private_key(config, context)
            if trouble:
                log.warning("%s: %s", config.key, trouble)
            app = InstallationTokens(
                config.app_id, config.installation_id, key, api_url=base_url,
                api_version=DEFAULT_API_VERSION, verify=tls["verify"], max_attempts=context.max_attempts,
                initial_backoff=context.backoff_seconds, missing_key_hint=trouble,
            )
        provider = cls("" if app else context.env(config.token_env) or "", base_url=base_url, app=app,
                       max_attempts=context.max_attempts, initial_backoff=context.backoff_seconds, **tls)
        provider.name = config.key
        return provider

    def clone_url(self, repo: str) -> str:
        # GitHub Enterprise: https://HOST/api/v3 → https://HOST; github.com: api.github.com → github.com
        host = "https://github.com" if self.base_url == DEFAULT_API_URL else self.base_url.split("/api/", 1)[0]
        return f"{host}/{repo}.git"

    def git_token(self) -> str | None:
        """The token, or (GitHub App) the cached installation token: callers about to run git
        await `refresh_git_token()` first (scm.base.git_access does), so it is fresh."""
        if self.app is not None:
            return self.app.cached
        return self._token or None

    async def refresh_git_token(self) -> str | None:
        return await self.app.token() if self.app is not None else self.git_token()

    # ── ScmProvider ──────────────────────────────────────────────────────────────────────

    async def push_branch(self, worktree: Path, branch: str, clone_url: str) -> None:
        await git_push.push_branch(worktree, branch, clone_url, await self.refresh_git_token(),
                                   token_user=self.token_user, timeout=self.push_timeout, git_config=self.git_config)

    async def find_open_pull_request(self, repo: str, head: str) -> PullRequest | None:
        owner, _ = _split_repo(repo)
        branch, qualified = _head_filter(owner, head)
        response = await self.request(
            "GET", f"{_repo_path(repo)}/pulls",
            params={"head": qualified, "state": "open", "per_page": "100"},
            what=f"listing open pull requests of {repo} for {head}",
        )
        pulls = self.json_body(response, what=f"the pull request list of {repo}")
        if not isinstance(pulls, list):
            raise ScmError(
                f"GitHub returned {type(pulls).__name__} for the pull request list of {repo}, expected a list"
            )
        # Filter again here: GitHub ignores a `head` filter it cannot parse and then lists every
        # open PR, and returning someone else's PR as "ours" would silently skip a fix.
        for pull in pulls:
            if _head_matches(pull, branch, qualified):
                return _to_pull_request(pull, created=False)
        return None

    async def open_pull_request(self, spec: PullRequestSpec) -> PullRequest:
        existing = await self.find_open_pull_request(spec.repo, spec.head)
        if existing is not None:
            log.info("github: %s already has open PR #%d for %s; not opening another",
                     spec.repo, existing.number, spec.head)
            return existing
        pr = await self._create(spec)
        if pr.created and spec.labels:
            await self._add_labels(spec.repo, pr.number, spec.labels)
        return pr

    # ── pull requests ────────────────────────────────────────────────────────────────────

    async def _create(self, spec: PullRequestSpec) -> PullRequest:
        payload = {
            "title": spec.title,
            "head": spec.head,
            "base": spec.base,
            "body": _clip_body(spec.body),
            "draft": spec.draft,
        }
        what = f"opening a pull request {spec.head} → {spec.base} on {spec.repo}"
        response = await self.request("POST", f"{_repo_path(spec.repo)}/pulls", json=payload, what=what, check=False)
        if response.status_code == 422 and _already_exists(response):
            # Another worker (or an earlier attempt whose answer was lost) opened it first.
            existing = await self.find_open_pull_request(spec.repo, spec.head)
            if existing is None:
                raise ScmError(f"GitHub says a pull request for {spec.head} already exists on {spec.repo}, "
                               "but no open one was found", status=422)
            log.info("github: PR #%d for %s was opened concurrently; using it", existing.number, spec.head)
            return existing
        self.raise_for_status(response, what=what)
        pr = _to_pull_request(self.json_body(response, what="the new pull request"), created=True)
        log.info("github: opened PR #%d %s", pr.number, pr.url)
        return pr

    async def _add_labels(self, repo: str, number: int, labels: list[str]) -> None:
        """Label the new PR (PRs are issues to the labels API). A refusal is logged, not raised:
        the PR exists and is the deliverable, and failing here would make a retry skip labels
        anyway (the retry finds the open PR and returns it)."""
        what = f"labelling PR #{number} of {repo}"
        try:
            await self.request("POST", f"{_repo_path(repo)}/issues/{number}/labels", json={"labels": labels},
                               what=what)
        except ScmError as exc:
            log.warning("github: %s", exc)

    # ── HTTP: what GitHub does differently ───────────────────────────────────────────────

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        if method in ("GET", "HEAD"):
            return await super().request(method, path, **kwargs)
        # GitHub asks integrators not to make concurrent write requests.
        async with self._write_lock:
            await self._pace_writes()
            try:
                return await super().request(method, path, **kwargs)
            finally:
                self._last_write = self._clock()

    async def _pace_writes(self) -> None:
        """Keep `write_interval` seconds between write requests (GitHub's "pause between
        mutative requests" advice against secondary rate limits)."""
        if self._last_write is None or self.write_interval <= 0:
            return
        wait = self._last_write + self.write_interval - self._clock()
        if wait > 0:
            await self._sleep(wait)

    def is_rate_limited(self, response: httpx.Response) -> bool:
        """403 also means "forbidden"; only these signs make it a rate limit (GitHub's docs)."""
        if response.status_code not in (403, 429):
            return False
        if response.status_code == 429 or "retry-after" in response.headers:
            return True
        if response.headers.get("x-ratelimit-remaining") == "0":
            return True
        return "rate limit" in self.server_message(response).lower()

    def wait_hint(self, response: httpx.Response) -> float | None:
        """`retry-after` first; else, for a used-up primary limit, until `x-ratelimit-reset`
        (epoch seconds, every response carries it, so it only counts when remaining is 0)."""
        now = self._clock()
        if (after := retry_after(response, now)) is not None:
            return after
        if response.status_code in (403, 429) and response.headers.get("x-ratelimit-remaining") == "0":
            reset = reset_wait(response, "x-ratelimit-reset", now, epoch=True)
            if reset is not None:
                return max(reset, 0.0) + RESET_MARGIN_S
        return None

    def make_error(self, message: str, *, status: int | None, retryable: bool) -> HttpError:
        return ScmError(message, status=status, retryable=retryable)


# ── helpers ──────────────────────────────────────────────────────────────────────────────


def _private_key(config: GitHubConfig, context: ConnectorContext) -> tuple[str | None, str]:
    """The app's PEM (the variable holding it, else the file the other variable points at), or
    None and what to do about it: the job that needs a token then fails saying so."""
    if key := context.env(config.private_key_env):
        return key.replace("\\n", "\n"), ""  # one-line env files often hold the PEM with literal \n
    path = context.env(config.private_key_path_env)
    if not path:
        return None, (f"set {config.private_key_env} to the app's private key, "
                      f"or {config.private_key_path_env} to its path")
    try:
        return Path(path).read_text(), ""
    except OSError as exc:
        return None, (f"cannot read the GitHub App private key file named by {config.private_key_path_env}: "
                      f"{exc.strerror or exc}")


def _split_repo(repo: str) -> tuple[str, str]:
    owner, sep, name = repo.strip().partition("/")
    if not sep or not owner or not name or "/" in name:
        raise ScmError(f"repository must be 'owner/name', got {repo!r}")
    return owner, name.removesuffix(".git")


def _repo_path(repo: str) -> str:
    owner, name = _split_repo(repo)
    return f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}"


def _head_filter(owner: str, head: str) -> tuple[str, str]:
    """(branch, "owner:branch"): the list API only filters by head in the `owner:ref` form."""
    if ":" in head:
        user, _, branch = head.partition(":")
        return branch, f"{user}:{branch}"
    return head, f"{owner}:{head}"


def _head_matches(pull: Any, branch: str, qualified: str) -> bool:
    head = pull.get("head") if isinstance(pull, dict) else None
    if not isinstance(head, dict) or head.get("ref") != branch:
        return False
    label = head.get("label")
    return not label or str(label).lower() == qualified.lower()


def _to_pull_request(pull: Any, *, created: bool) -> PullRequest:
    try:
        return PullRequest(
            number=int(pull["number"]), url=str(pull["html_url"]),
            head=str(pull["head"]["ref"]), base=str(pull["base"]["ref"]), created=created,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ScmError(f"GitHub returned a pull request without {exc}") from None


def _clip_body(body: str) -> str:
    if len(body) <= MAX_BODY_CHARS:
        return body
    note = "\n\n…(truncated: GitHub limits a pull request body to 65536 characters)"
    return body[: MAX_BODY_CHARS - len(note)] + note


def _already_exists(response: httpx.Response) -> bool:
    body = safe_json(response)
    errors = body.get("errors") if isinstance(body, dict) else None
    return any(isinstance(e, dict) and ALREADY_EXISTS in str(e.get("message", "")).lower() for e in errors or [])


__all__ = ["DEFAULT_API_URL", "DEFAULT_API_VERSION", "USER_AGENT", "GitHubProvider", "enterprise_api_url"]
