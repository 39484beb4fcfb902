"""Async client for the few Sentry REST API calls autofixer needs.

Works against sentry.io, its regional hosts (de.sentry.io, us.sentry.io) and self-hosted
installs, including ones served under a path prefix. Transient failures (timeouts, connection
errors, 5xx, 429) are retried with exponential backoff and jitter, honouring the server's
hints; auth and not-found errors fail at once with a message that says what to check.

The API token is only ever put in the Authorization header of outgoing requests: it is never
part of an exception message, a repr or a log line.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from importlib import metadata
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_exponential_jitter

log = logging.getLogger(__name__)

# The org issue index caps `limit` at 100 per page.
MAX_PAGE_SIZE = 100
TOKEN_HINT = "check AUTOFIXER_SENTRY_TOKEN and the integration's Issue & Event read permission"


def _version() -> str:
    try:
        return metadata.version("autofixer")
    except metadata.PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0+unknown"


USER_AGENT = f"autofixer/{_version()}"


# ── errors ───────────────────────────────────────────────────────────────────────────────


class SentryError(Exception):
    """A Sentry API call failed; `reason` is a sentence a person can act on."""

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, reason={self.reason!r})"


class SentryAuthError(SentryError):
    """401/403: the token is wrong, expired or lacks a scope. Retrying cannot help."""


class SentryNotFound(SentryError):
    """404 on every path we know for the resource."""


class SentryUnavailable(SentryError):
    """Timeouts, connection errors, 5xx or 429 until the retry budget ran out."""


class _Transient(Exception):
    """Internal: one attempt failed in a way worth retrying; `delay` is the server's hint."""

    def __init__(self, what: str, *, status: int | None = None, delay: float | None = None) -> None:
        super().__init__(what)
        self.what = what
        self.status = status
        self.delay = delay


# ── configuration ────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. Tests shrink the waits; production keeps the defaults."""

    max_attempts: int = 5
    initial_wait: float = 1.0  # first backoff step, seconds; doubles each retry (+ jitter)
    max_wait: float = 60.0  # cap for any single wait, server hints included


DEFAULT_RETRY = RetryPolicy()
Sleep = Callable[[float], Awaitable[None]]


class SentryClient:
    """`async with SentryClient(token, org, base_url) as sentry: await sentry.latest_event(id)`."""

    def __init__(
        self,
        token: str,
        org: str,
        base_url: str = "https://sentry.io",
        *,
        timeout: float = 30.0,
        retry: RetryPolicy = DEFAULT_RETRY,
        http: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not token:
            raise ValueError("Sentry token is empty: set AUTOFIXER_SENTRY_TOKEN")
        if not org:
            raise ValueError("Sentry organization slug is empty")
        self._token = token
        self.org = org
        self.base_url = _normalise_base_url(base_url)
        self.timeout = timeout
        self.retry = retry
        self._sleep = sleep
        self._clock = clock
        self._backoff = wait_exponential_jitter(
            multiplier=retry.initial_wait, max=retry.max_wait, jitter=retry.initial_wait
        )
        # A caller-supplied client is shared (connection pool reuse), so we never close it,
        # and credentials go on each request rather than onto that client.
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(transport=transport)

    def __repr__(self) -> str:  # explicit, so no attribute added later can drag the token along
        return f"SentryClient(base_url={self.base_url!r}, org={self.org!r})"

    async def __aenter__(self) -> SentryClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    # ── public API ───────────────────────────────────────────────────────────────────────

    async def latest_event(self, issue_id: str | int) -> dict[str, Any]:
        """The newest event of an issue, in API format (camelCase, `entries[]`)."""
        issue = quote(str(issue_id), safe="")
        return await self._get_object(
            f"/api/0/organizations/{self._org_path}/issues/{issue}/events/latest/",
            f"/api/0/issues/{issue}/events/latest/",
            subject=f"issue {issue_id}",
        )

    async def issue(self, issue_id: str | int) -> dict[str, Any]:
        """Issue (group) details: title, culprit, project, status, permalink, ..."""
        issue = quote(str(issue_id), safe="")
        return await self._get_object(
            f"/api/0/organizations/{self._org_path}/issues/{issue}/",
            f"/api/0/issues/{issue}/",
            subject=f"issue {issue_id}",
        )

    async def list_issues(
        self,
        project: str | int | None = None,
        query: str | None = "is:unresolved",
        limit: int = 25,
    ) -> list[dict[str, Any]]:
        """Newest-first issues of the organization, following `Link` pagination up to `limit`.

        `project` is a numeric project id or a project slug. `query=None` lists every issue:
        Sentry applies `is:unresolved` when the parameter is missing, so we send it empty.
        """
        if limit <= 0:
            return []
        params: dict[str, str] = {
            "query": query or "",
            "limit": str(min(limit, MAX_PAGE_SIZE)),
            "sort": "date",
        }
        slug: str | None = None
        if project is not None and str(project).lstrip("-").isdigit():
            # `project` only takes numeric ids: a slug there is a 400 ("Values must be numbers").
            params["project"] = str(project)
        elif project:
            # Slugs go in `projectSlug`, which OrganizationEndpoint.get_projects reads.
            slug = str(project)
            params["projectSlug"] = slug

        path = f"/api/0/organizations/{self._org_path}/issues/"
        issues: list[dict[str, Any]] = []
        cursor: str | None = None
        while len(issues) < limit:
            page_params = {**params, "cursor": cursor} if cursor else params
            response = await self._get(path, page_params, subject="the issue list")
            page = _json(response, subject="the issue list")
            if not isinstance(page, list):
                raise SentryError(f"Sentry API returned {type(page).__name__} for the issue list, expected a list")
            if slug:
                # Releases that predate `projectSlug` ignore it; never hand back other projects.
                page = [i for i in page if (i.get("project") or {}).get("slug", slug) == slug]
            issues.extend(page)
            cursor = next_cursor(response.headers.get("link"))
            if cursor is None:
                break
        return issues[:limit]

    # ── plumbing ─────────────────────────────────────────────────────────────────────────

    @property
    def _org_path(self) -> str:
        return quote(self.org, safe="")

    async def _get_object(self, org_path: str, legacy_path: str, *, subject: str) -> dict[str, Any]:
        """GET the org-scoped path; on 404 try once the legacy path older self-hosted installs serve."""
        try:
            response = await self._get(org_path, None, subject=subject)
        except SentryNotFound:
            log.info("sentry: %s 404'd on the organization path, trying %s", subject, legacy_path)
            try:
                response = await self._get(legacy_path, None, subject=subject)
            except SentryNotFound as exc:
                raise SentryNotFound(
                    f"Sentry API answered 404 Not Found for {subject} (tried {org_path} and "
                    f"{legacy_path}): it does not exist, was deleted, or is not in organization "
                    f"{self.org!r} on {self.base_url}",
                    status=404,
                ) from exc
        body = _json(response, subject=subject)
        if not isinstance(body, dict):
            raise SentryError(f"Sentry API returned {type(body).__name__} for {subject}, expected an object")
        return body

    async def _get(self, path: str, params: dict[str, str] | None, *, subject: str) -> httpx.Response:
        """One logical GET: retried while transient, then mapped to our error classes."""
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.retry.max_attempts),
            wait=self._wait,
            retry=retry_if_exception_type(_Transient),
            sleep=self._sleep,
            before_sleep=lambda state: _log_retry(state, subject),
            reraise=True,
        )
        try:
            response: httpx.Response = await retrying(self._attempt, self.base_url + path, params)
        except _Transient as exc:
            raise SentryUnavailable(
                f"Sentry API at {self.base_url} unavailable for {subject} after "
                f"{self.retry.max_attempts} attempts; last error: {exc.what}",
                status=exc.status,
            ) from exc
        return self._check(response, subject=subject)

    async def _attempt(self, url: str, params: dict[str, str] | None) -> httpx.Response:
        headers = {
            "Authorization": f"Bearer {self._token}",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        try:
            response = await self._http.get(url, params=params, headers=headers, timeout=self.timeout)
        except httpx.TimeoutException as exc:
            raise _Transient(f"no answer within {self.timeout}s ({type(exc).__name__})") from exc
        except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise _Transient(f"connection failed ({type(exc).__name__})") from exc
        status = response.status_code
        if status == 429 or status >= 500:
            raise _Transient(
                f"HTTP {status} {_phrase(response)}{self._detail(response)}",
                status=status,
                delay=self._server_delay(response),
            )
        return response

    def _check(self, response: httpx.Response, *, subject: str) -> httpx.Response:
        status = response.status_code
        if status < 400:
            return response
        said = self._detail(response)
        head = f"Sentry API answered {status} {_phrase(response)} for {subject}"
        if status == 401:
            raise SentryAuthError(f"{head}: {TOKEN_HINT}{said}", status=status)
        if status == 403:
            raise SentryAuthError(
                f"{head}: the token may not access organization {self.org!r}; {TOKEN_HINT}{said}",
                status=status,
            )
        if status == 404:
            raise SentryNotFound(f"{head}{said}", status=status)
        raise SentryError(f"{head}{said}", status=status)

    def _detail(self, response: httpx.Response) -> str:
        """Sentry's own `{"detail": ...}` explanation, short and scrubbed, or ''."""
        try:
            detail = response.json().get("detail")
        except Exception:  # HTML error pages from proxies, empty bodies, lists...
            return ""
        if not isinstance(detail, str) or not detail:
            return ""
        return f" (Sentry said: {self._redact(detail[:200])})"

    def _redact(self, text: str) -> str:
        # Belt and braces: nothing we echo from a server may carry the token back out.
        return text.replace(self._token, "[redacted]")

    def _server_delay(self, response: httpx.Response) -> float | None:
        """Seconds the server asked us to wait, from Retry-After or Sentry's rate-limit reset."""
        retry_after = response.headers.get("retry-after")
        if retry_after:
            if retry_after.strip().replace(".", "", 1).isdigit():
                return float(retry_after)
            try:  # the HTTP-date form
                return email.utils.parsedate_to_datetime(retry_after).timestamp() - self._clock()
            except (TypeError, ValueError):
                pass
        # sentry.io sends no Retry-After on its API 429s, only the epoch second the window
        # resets. The header rides on every response, so it only means "wait" on a 429.
        reset = response.headers.get("x-sentry-rate-limit-reset")
        if response.status_code == 429 and reset:
            try:
                return float(reset) - self._clock()
            except ValueError:
                pass
        return None

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        hint = exc.delay if isinstance(exc, _Transient) else None
        if hint is not None and hint > 0:
            return min(hint, self.retry.max_wait)
        # No usable hint (or a reset already in the past, as with concurrency limits): back off.
        return self._backoff(state)


def _log_retry(state: RetryCallState, subject: str) -> None:
    exc = state.outcome.exception() if state.outcome else None
    wait = state.next_action.sleep if state.next_action else 0.0
    log.warning("sentry: attempt %d for %s failed (%s); retrying in %.2fs", state.attempt_number, subject, exc, wait)


def _normalise_base_url(base_url: str) -> str:
    """'https://sentry.example.com/sentry/' and '.../api/0' both become the install's root."""
    url = base_url.strip().rstrip("/")
    if url.endswith("/api/0"):
        url = url[: -len("/api/0")]
    if not urlsplit(url).scheme.startswith("http"):
        raise ValueError(f"Sentry base URL must start with http:// or https://, got {base_url!r}")
    return url


def _phrase(response: httpx.Response) -> str:
    """'Unauthorized' for 401, even from servers (hypercorn, HTTP/2) that send no reason phrase."""
    try:
        return response.reason_phrase or HTTPStatus(response.status_code).phrase
    except ValueError:
        return ""


def _json(response: httpx.Response, *, subject: str) -> Any:
    try:
        return response.json()
    except ValueError:
        kind = response.headers.get("content-type", "no content type")
        raise SentryError(
            f"Sentry API answered {response.status_code} for {subject} with a non-JSON body ({kind}): "
            "is the base URL the Sentry install's root?",
            status=response.status_code,
        ) from None


# `<url>; rel="next"; results="true"; cursor="0:100:0"` — one link of Sentry's Link header.
_LINK = re.compile(r'<(?P<url>[^>]*)>(?P<params>(?:\s*;\s*[\w-]+\s*=\s*(?:"[^"]*"|[^;,]*))*)')
_LINK_PARAM = re.compile(r'([\w-]+)\s*=\s*(?:"([^"]*)"|([^;,]*))')


def next_cursor(link_header: str | None) -> str | None:
    """The cursor of the `rel="next"` link when Sentry says it has results, else None.

    We re-request our own base URL with this cursor rather than following the link's URL:
    Sentry builds it from its configured system URL, which behind a proxy may be another
    host, and the bearer token must only go where it was configured to go.
    """
    for match in _LINK.finditer(link_header or ""):
        attrs = {k.lower(): a if a else b.strip() for k, a, b in _LINK_PARAM.findall(match["params"])}
        if attrs.get("rel") != "next":
            continue
        if attrs.get("results", "true").lower() != "true":
            return None
        cursor = attrs.get("cursor") or parse_qs(urlsplit(match["url"]).query).get("cursor", [""])[0]
        return cursor or None
    return None
