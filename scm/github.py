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

The token only ever goes into the Authorization header of requests to `base_url`: it is never
in an exception message, a log line or the provider's repr.

GitHub Enterprise Server: `base_url="https://HOST/api/v3"` (see `enterprise_api_url`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from http import HTTPStatus
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from common.git import TOKEN_USER
from scm import git_push
from scm.base import PullRequest, PullRequestSpec, ScmError

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_API_VERSION = "2022-11-28"
MEDIA_TYPE = "application/vnd.github+json"
MAX_BODY_CHARS = 65536  # GitHub refuses longer PR bodies with a 422 ("body is too long")
ALREADY_EXISTS = "a pull request already exists"
RESET_MARGIN_S = 1.0  # x-ratelimit-reset has one-second granularity; never retry a hair early

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]


def _version() -> str:
    try:
        return metadata.version("autofixer")
    except metadata.PackageNotFoundError:  # a source tree that was never installed
        return "0.0.0+unknown"


USER_AGENT = f"autofixer/{_version()}"


def enterprise_api_url(server: str) -> str:
    """`https://ghe.example.com` (or `ghe.example.com`) → `https://ghe.example.com/api/v3`."""
    server = server.strip().rstrip("/")
    if "://" not in server:
        server = f"https://{server}"
    return server if server.endswith("/api/v3") else f"{server}/api/v3"


# ── retry bookkeeping ────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class _Retry:
    """Why one attempt is worth repeating, and how long the server told us to wait (if it did)."""

    reason: str
    status: int | None = None
    mandated: float | None = None  # seconds GitHub asked for (retry-after / reset)
    secondary: bool = False  # a secondary rate limit without any hint: a minute, then doubling


class GitHubProvider:
    """Push branches and open pull requests on GitHub or GitHub Enterprise Server."""

    name = "github"

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
        write_interval: float = 1.0,
        timeout: float = 30.0,
        token_user: str = TOKEN_USER,
        push_timeout: float = git_push.PUSH_TIMEOUT_S,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.time,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._token = token  # may be empty: a dry run that only pushes to a local path needs none
        self.base_url = _normalise_base_url(base_url)
        self.api_version = api_version
        self.max_attempts = max_attempts
        self.min_secondary_wait = min_secondary_wait
        self.initial_backoff = initial_backoff
        # An hour covers a whole primary rate-limit window, so a reset is always waited out.
        self.max_wait = max_wait
        self.write_interval = write_interval
        self.timeout = timeout
        self.token_user = token_user
        self.push_timeout = push_timeout
        self._sleep = sleep
        self._clock = clock
        self._transport = transport
        self._write_lock = asyncio.Lock()
        self._last_write: float | None = None

    def __repr__(self) -> str:  # explicit, so no attribute added later can drag the token along
        return f"GitHubProvider(base_url={self.base_url!r}, api_version={self.api_version!r})"

    # ── ScmProvider ──────────────────────────────────────────────────────────────────────

    async def push_branch(self, worktree: Path, branch: str, clone_url: str) -> None:
        await git_push.push_branch(worktree, branch, clone_url, self._token or None,
                                   token_user=self.token_user, timeout=self.push_timeout)

    async def find_open_pull_request(self, repo: str, head: str) -> PullRequest | None:
        async with self._client() as http:
            return await self._find_open(http, repo, head)

    async def open_pull_request(self, spec: PullRequestSpec) -> PullRequest:
        async with self._client() as http:
            existing = await self._find_open(http, spec.repo, spec.head)
            if existing is not None:
                log.info("github: %s already has open PR #%d for %s; not opening another",
                         spec.repo, existing.number, spec.head)
                return existing
            pr = await self._create(http, spec)
            if pr.created and spec.labels:
                await self._add_labels(http, spec.repo, pr.number, spec.labels)
            return pr

    # ── pull requests ────────────────────────────────────────────────────────────────────

    async def _find_open(self, http: httpx.AsyncClient, repo: str, head: str) -> PullRequest | None:
        owner, _ = _split_repo(repo)
        branch, qualified = _head_filter(owner, head)
        response = await self._request(
            http, "GET", f"{_repo_path(repo)}/pulls",
            params={"head": qualified, "state": "open", "per_page": "100"},
            what=f"listing open pull requests of {repo} for {head}",
        )
        self._raise_for_status(response, what=f"listing open pull requests of {repo}")
        pulls = _json(response, what=f"the pull request list of {repo}")
        if not isinstance(pulls, list):
            raise ScmError(f"GitHub returned {type(pulls).__name__} for the pull request list of {repo}, expected a list")
        # Filter again here: GitHub ignores a `head` filter it cannot parse and then lists every
        # open PR, and returning someone else's PR as "ours" would silently skip a fix.
        for pull in pulls:
            if _head_matches(pull, branch, qualified):
                return _to_pull_request(pull, created=False)
        return None

    async def _create(self, http: httpx.AsyncClient, spec: PullRequestSpec) -> PullRequest:
        payload = {
            "title": spec.title,
            "head": spec.head,
            "base": spec.base,
            "body": _clip_body(spec.body),
            "draft": spec.draft,
        }
        what = f"opening a pull request {spec.head} → {spec.base} on {spec.repo}"
        response = await self._request(http, "POST", f"{_repo_path(spec.repo)}/pulls", json=payload, what=what)
        if response.status_code == 422 and _already_exists(response):
            # Another worker (or an earlier attempt whose answer was lost) opened it first.
            existing = await self._find_open(http, spec.repo, spec.head)
            if existing is None:
                raise ScmError(f"GitHub says a pull request for {spec.head} already exists on {spec.repo}, "
                               "but no open one was found", status=422)
            log.info("github: PR #%d for %s was opened concurrently; using it", existing.number, spec.head)
            return existing
        self._raise_for_status(response, what=what)
        pr = _to_pull_request(_json(response, what="the new pull request"), created=True)
        log.info("github: opened PR #%d %s", pr.number, pr.url)
        return pr

    async def _add_labels(self, http: httpx.AsyncClient, repo: str, number: int, labels: list[str]) -> None:
        """Label the new PR (PRs are issues to the labels API). A refusal is logged, not raised:
        the PR exists and is the deliverable, and failing here would make a retry skip labels
        anyway (the retry finds the open PR and returns it)."""
        what = f"labelling PR #{number} of {repo}"
        try:
            response = await self._request(
                http, "POST", f"{_repo_path(repo)}/issues/{number}/labels", json={"labels": labels}, what=what
            )
            self._raise_for_status(response, what=what)
        except ScmError as exc:
            log.warning("github: %s", exc)

    # ── HTTP ─────────────────────────────────────────────────────────────────────────────

    @contextlib.asynccontextmanager
    async def _client(self) -> AsyncIterator[httpx.AsyncClient]:
        # One short-lived client per operation: the provider holds no open connections between
        # jobs and is never tied to the event loop it happened to be created on.
        async with httpx.AsyncClient(transport=self._transport, timeout=self.timeout,
                                     follow_redirects=True) as http:
            yield http

    def _headers(self) -> dict[str, str]:
        headers = {
            "Accept": MEDIA_TYPE,
            "X-GitHub-Api-Version": self.api_version,
            "User-Agent": USER_AGENT,
        }
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        return headers

    async def _request(self, http: httpx.AsyncClient, method: str, path: str, *, what: str,
                       params: dict[str, str] | None = None, json: Any = None) -> httpx.Response:
        if method == "GET":
            return await self._with_retries(http, method, path, params=params, json=json, what=what)
        # GitHub asks integrators not to make concurrent write requests.
        async with self._write_lock:
            await self._pace_writes()
            try:
                return await self._with_retries(http, method, path, params=params, json=json, what=what)
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

    async def _with_retries(self, http: httpx.AsyncClient, method: str, path: str, *, what: str,
                            params: dict[str, str] | None, json: Any) -> httpx.Response:
        failures = 0  # unhinted transient failures so far: the exponent of the backoff
        secondary_hits = 0  # unhinted secondary rate limits so far: the exponent of their wait
        last: _Retry | None = None
        for attempt in range(1, self.max_attempts + 1):
            retry: _Retry | None
            try:
                response = await http.request(method, self.base_url + path, params=params, json=json,
                                              headers=self._headers())
            except httpx.TimeoutException as exc:
                retry, response = _Retry(f"no answer within {self.timeout:g}s ({type(exc).__name__})"), None
            except httpx.TransportError as exc:
                retry, response = _Retry(f"connection failed ({type(exc).__name__})"), None
            else:
                retry = self._retry_for(response)
            if retry is None and response is not None:
                return response
            assert retry is not None
            last = retry
            if attempt == self.max_attempts:
                break
            wait = self._wait_for(retry, failures, secondary_hits, what=what)
            if retry.secondary:
                secondary_hits += 1
            elif retry.mandated is None:
                failures += 1
            log.warning("github: %s: attempt %d/%d failed (%s); retrying in %.1fs",
                        what, attempt, self.max_attempts, self._redact(retry.reason), wait)
            await self._sleep(wait)
        assert last is not None
        raise ScmError(
            self._redact(f"GitHub API at {self.base_url} unavailable for {what} after "
                         f"{self.max_attempts} attempts; last error: {last.reason}"),
            status=last.status,
        )

    def _retry_for(self, response: httpx.Response) -> _Retry | None:
        """A _Retry when `response` is worth repeating, None when it is final (success or not)."""
        status = response.status_code
        if status >= 500:
            return _Retry(f"HTTP {status} {_phrase(response)}", status=status, mandated=_retry_after(response))
        if status not in (403, 429) or not _is_rate_limited(response):
            return None
        reason = f"HTTP {status}: {_message(response) or 'rate limited'}"
        if (after := _retry_after(response)) is not None:
            return _Retry(reason, status=status, mandated=after)
        if response.headers.get("x-ratelimit-remaining") == "0" and (reset := _float(response, "x-ratelimit-reset")):
            return _Retry(reason, status=status, mandated=max(reset - self._clock(), 0.0) + RESET_MARGIN_S)
        return _Retry(reason, status=status, secondary=True)

    def _wait_for(self, retry: _Retry, failures: int, secondary_hits: int, *, what: str) -> float:
        if retry.mandated is not None:
            if retry.mandated > self.max_wait:
                resume = datetime.fromtimestamp(self._clock() + retry.mandated, tz=timezone.utc)
                raise ScmError(
                    self._redact(f"GitHub rate limit hit while {what}: it asks to wait {retry.mandated:.0f}s "
                                 f"(until {resume:%Y-%m-%d %H:%M:%S} UTC), longer than the {self.max_wait:g}s "
                                 f"this provider waits; last answer: {retry.reason}"),
                    status=retry.status,
                )
            return retry.mandated
        if retry.secondary:
            return min(self.min_secondary_wait * 2**secondary_hits, self.max_wait)
        return min(self.initial_backoff * 2**failures, self.max_wait)

    def _raise_for_status(self, response: httpx.Response, *, what: str) -> None:
        status = response.status_code
        if status < 400:
            return
        said = _message(response)
        head = f"GitHub API answered {status} {_phrase(response)} for {what}"
        if status == 401:
            hint = "check the GitHub token (it may be wrong, expired or revoked)"
        elif status == 404:
            hint = ("the repository does not exist or the token cannot see it "
                    "(GitHub answers 404 rather than 403 for private repositories)")
        elif status == 403:
            hint = "the token lacks a permission (Pull requests: write, Contents: write, Issues: write for labels)"
        else:
            hint = ""
        details = "; ".join(p for p in (hint, f"GitHub said: {said}" if said else "", _errors(response)) if p)
        raise ScmError(self._redact(f"{head}: {details}" if details else head), status=status)

    def _redact(self, text: str) -> str:
        # Belt and braces: nothing echoed back from a server may carry the token out.
        return text.replace(self._token, "[redacted]") if self._token else text


# ── helpers ──────────────────────────────────────────────────────────────────────────────


def _normalise_base_url(base_url: str) -> str:
    url = base_url.strip().rstrip("/")
    if urlsplit(url).scheme not in ("http", "https"):
        raise ValueError(f"GitHub API base URL must start with http:// or https://, got {base_url!r}")
    return url


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
    body = _safe_json(response)
    errors = body.get("errors") if isinstance(body, dict) else None
    return any(isinstance(e, dict) and ALREADY_EXISTS in str(e.get("message", "")).lower() for e in errors or [])


def _is_rate_limited(response: httpx.Response) -> bool:
    """403 also means "forbidden"; only these signs make it a rate limit (GitHub's docs)."""
    if response.status_code == 429 or "retry-after" in response.headers:
        return True
    if response.headers.get("x-ratelimit-remaining") == "0":
        return True
    return "rate limit" in _message(response).lower()


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "").strip()
    try:
        return max(float(value), 0.0) if value else None
    except ValueError:  # GitHub sends seconds; an HTTP-date is left to the generic backoff
        return None


def _float(response: httpx.Response, header: str) -> float | None:
    try:
        return float(response.headers[header])
    except (KeyError, ValueError):
        return None


def _safe_json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _json(response: httpx.Response, *, what: str) -> Any:
    body = _safe_json(response)
    if body is None:
        kind = response.headers.get("content-type", "no content type")
        raise ScmError(f"GitHub answered {response.status_code} with a non-JSON body ({kind}) for {what}: "
                       "is the base URL the API root (https://api.github.com or https://HOST/api/v3)?",
                       status=response.status_code)
    return body


def _message(response: httpx.Response) -> str:
    body = _safe_json(response)
    message = body.get("message") if isinstance(body, dict) else None
    return message[:300] if isinstance(message, str) else ""


def _errors(response: httpx.Response) -> str:
    """GitHub's validation `errors` list (422) in one line: what to fix, field by field."""
    body = _safe_json(response)
    errors = body.get("errors") if isinstance(body, dict) else None
    parts: list[str] = []
    for err in errors if isinstance(errors, list) else []:
        if isinstance(err, dict):
            text = err.get("message") or " ".join(
                str(err[k]) for k in ("resource", "field", "code") if err.get(k)
            )
            parts.append(str(text))
        else:
            parts.append(str(err))
    return f"errors: {'; '.join(parts)[:500]}" if parts else ""


def _phrase(response: httpx.Response) -> str:
    try:
        return response.reason_phrase or HTTPStatus(response.status_code).phrase
    except ValueError:
        return ""


__all__ = ["DEFAULT_API_URL", "DEFAULT_API_VERSION", "USER_AGENT", "GitHubProvider", "enterprise_api_url"]
