"""Async client for the few Sentry REST API calls autofixer needs.

Works against sentry.io, its regional hosts (de.sentry.io, us.sentry.io) and self-hosted
installs, including ones served under a path prefix. Transient failures (timeouts, connection
errors, 5xx, 429) are retried with exponential backoff and jitter, honouring the server's
hints; auth and not-found errors fail at once with a message that says what to check.

The API token is only ever put in the Authorization header of outgoing requests: it is never
part of an exception message, a repr or a log line.

Retrying, waiting, error text and redaction are the shared HTTP layer's (common.http); this
module declares how Sentry differs: `X-Sentry-Rate-Limit-Reset` on 429s, its error classes,
what to check on 401/403, and the organization path with its legacy fallback.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx

from common.http import (
    DEFAULT_RETRY,
    USER_AGENT,
    Clock,
    HttpClient,
    HttpError,
    RetryPolicy,
    Sleep,
    TokenAuth,
    reset_wait,
)

log = logging.getLogger(__name__)

# The org issue index caps `limit` at 100 per page.
MAX_PAGE_SIZE = 100
TOKEN_HINT = "check AUTOFIXER_SENTRY_TOKEN and the integration's Issue & Event read permission"


# ── errors ───────────────────────────────────────────────────────────────────────────────


class SentryError(HttpError):
    """A Sentry API call failed; `reason` is a sentence a person can act on."""

    def __init__(self, reason: str, *, status: int | None = None, retryable: bool = False) -> None:
        super().__init__(reason, status=status, retryable=retryable)
        self.reason = reason

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, reason={self.reason!r})"


class SentryAuthError(SentryError):
    """401/403: the token is wrong, expired or lacks a scope. Retrying cannot help."""


class SentryNotFound(SentryError):
    """404 on every path we know for the resource."""


class SentryUnavailable(SentryError):
    """Timeouts, connection errors, 5xx or 429 until the retry budget ran out."""


class SentryClient(HttpClient):
    """`async with SentryClient(token, org, base_url) as sentry: await sentry.latest_event(id)`."""

    name = "sentry"
    vendor = "Sentry"
    base_url_hint = "is the base URL the Sentry install's root?"

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
        clock: Clock = time.time,
    ) -> None:
        if not token:
            raise ValueError("Sentry token is empty: set AUTOFIXER_SENTRY_TOKEN")
        if not org:
            raise ValueError("Sentry organization slug is empty")
        super().__init__(
            _install_root(base_url), auth=TokenAuth(token), timeout=timeout, retry=retry, http=http,
            transport=transport, sleep=sleep, clock=clock, logger=log,
        )
        self.org = org

    def __repr__(self) -> str:  # explicit, so no attribute added later can drag the token along
        return self.redact(f"SentryClient(base_url={self.base_url!r}, org={self.org!r})")

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
            page = self.json_body(response, what="the issue list")
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
        body = self.json_body(response, what=subject)
        if not isinstance(body, dict):
            raise SentryError(f"Sentry API returned {type(body).__name__} for {subject}, expected an object")
        return body

    async def _get(self, path: str, params: dict[str, str] | None, *, subject: str) -> httpx.Response:
        """One logical GET: retried while transient, then mapped to our error classes."""
        return await self.request("GET", path, params=params, what=subject)

    # ── what Sentry does differently ─────────────────────────────────────────────────────

    def wait_hint(self, response: httpx.Response) -> float | None:
        hint = super().wait_hint(response)  # Retry-After, seconds or HTTP-date
        # sentry.io sends no Retry-After on its API 429s, only the epoch second the window
        # resets. The header rides on every response, so it only means "wait" on a 429.
        if hint is None and response.status_code == 429:
            hint = reset_wait(response, "x-sentry-rate-limit-reset", self._clock(), epoch=True)
        return hint

    def status_hint(self, status: int) -> str:
        if status == 401:
            return TOKEN_HINT
        if status == 403:
            return f"the token may not access organization {self.org!r}; {TOKEN_HINT}"
        return ""  # a 404 is explained by _get_object, which knows both paths it tried

    def make_error(self, message: str, *, status: int | None, retryable: bool) -> HttpError:
        if retryable:
            return SentryUnavailable(message, status=status, retryable=True)
        kind = {401: SentryAuthError, 403: SentryAuthError, 404: SentryNotFound}.get(status or 0, SentryError)
        return kind(message, status=status)


def _install_root(base_url: str) -> str:
    """'https://sentry.example.com/sentry/' and '.../api/0' both become the install's root."""
    url = base_url.strip().rstrip("/")
    return url.removesuffix("/api/0")


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


__all__ = [
    "DEFAULT_RETRY", "MAX_PAGE_SIZE", "USER_AGENT", "RetryPolicy", "SentryAuthError", "SentryClient", "SentryError",
    "SentryNotFound", "SentryUnavailable", "next_cursor",
]
