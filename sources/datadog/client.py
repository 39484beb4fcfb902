"""Async client for the Datadog API calls autofixer needs: Error Tracking issues and the span or
log events that carry an issue's stack.

Auth is two headers, `DD-API-KEY` and `DD-APPLICATION-KEY`; both are secrets and redacted from
every message. Datadog rate-limits per endpoint and says when the window resets in
`X-RateLimit-Reset` (seconds from now); retrying, waiting and errors are common.http's.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import httpx

from common.http import DEFAULT_RETRY, HttpClient, HttpError, RetryPolicy, reset_wait

log = logging.getLogger(__name__)

KEYS_HINT = "check the Datadog API and application keys (the application key needs error_tracking_read)"
# Which event search serves an issue's samples, by the issue's Error Tracking track.
SEARCH_PATHS = {"trace": "/api/v2/spans/events/search", "logs": "/api/v2/logs/events/search"}


class DatadogError(HttpError):
    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False) -> None:
        super().__init__(message, status=status, retryable=retryable)
        self.reason = message


class DatadogClient(HttpClient):
    name = "datadog"
    vendor = "Datadog"
    base_url_hint = "is the site right (api.datadoghq.com, api.datadoghq.eu, …)?"

    def __init__(self, api_key: str, app_key: str, base_url: str, *, retry: RetryPolicy = DEFAULT_RETRY,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        super().__init__(base_url, secrets=[api_key, app_key], retry=retry, transport=transport, logger=log,
                         headers={"DD-API-KEY": api_key, "DD-APPLICATION-KEY": app_key})

    async def issue(self, issue_id: str) -> dict[str, Any]:
        response = await self.request("GET", f"/api/v2/error-tracking/issues/{quote(issue_id, safe='')}",
                                      what=f"Error Tracking issue {issue_id}")
        return self._object(response, f"issue {issue_id}")

    async def search_issues(self, query: str, from_ms: int, to_ms: int, track: str) -> dict[str, Any]:
        body = {"data": {"type": "search_request",
                         "attributes": {"query": query, "from": from_ms, "to": to_ms, "track": track}}}
        response = await self.request("POST", "/api/v2/error-tracking/issues/search", params={"include": "issue"},
                                      json=body, what="the Error Tracking issue search")
        return self._object(response, "the issue search")

    async def search_events(self, track: str, query: str, since: str, limit: int = 1) -> list[dict[str, Any]]:
        """The newest events matching `query` (spans for APM issues, logs for log issues)."""
        path = SEARCH_PATHS.get(track, SEARCH_PATHS["trace"])
        search: dict[str, Any] = {"filter": {"query": query, "from": since, "to": "now"}, "sort": "-timestamp",
                                  "page": {"limit": limit}}
        # The spans search wraps it in a JSON:API envelope; the logs search takes it bare.
        body = search if track == "logs" else {"data": {"type": "search_request", "attributes": search}}
        response = await self.request("POST", path, json=body, what=f"the {track} event search")
        data = self._object(response, "the event search").get("data")
        return [e for e in data if isinstance(e, dict)] if isinstance(data, list) else []

    def _object(self, response: httpx.Response, what: str) -> dict[str, Any]:
        body = self.json_body(response, what=what)
        if not isinstance(body, dict):
            raise DatadogError(f"Datadog API returned {type(body).__name__} for {what}, expected an object")
        return body

    def wait_hint(self, response: httpx.Response) -> float | None:
        hint = super().wait_hint(response)
        if hint is None and response.status_code == 429:
            hint = reset_wait(response, "x-ratelimit-reset", self._clock(), epoch=False)
        return hint

    def status_hint(self, status: int) -> str:
        return KEYS_HINT if status in (401, 403) else ""

    def make_error(self, message: str, *, status: int | None, retryable: bool) -> HttpError:
        return DatadogError(message, status=status, retryable=retryable)
