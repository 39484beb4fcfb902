"""Async client for the Rollbar API calls autofixer needs: an item, its occurrences, the item list.

Auth is a project access token with `read` scope in `X-Rollbar-Access-Token` (never in the URL,
where proxies log it). Answers are wrapped `{"err": 0, "result": …}`; errors are
`{"err": 1, "message": …}`. On 429 Rollbar says when its window resets in `X-Rate-Limit-Reset`
(epoch seconds).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import httpx

from common.http import DEFAULT_RETRY, HttpClient, HttpError, RetryPolicy, TokenAuth, reset_wait

log = logging.getLogger(__name__)

TOKEN_HINT = "check the Rollbar project access token (it needs the read scope)"
PAGE_SIZE = 100  # items per page of /api/1/items


class RollbarError(HttpError):
    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False) -> None:
        super().__init__(message, status=status, retryable=retryable)
        self.reason = message


class RollbarClient(HttpClient):
    name = "rollbar"
    vendor = "Rollbar"
    base_url_hint = "is base-url the Rollbar API root (https://api.rollbar.com)?"

    def __init__(self, token: str, base_url: str = "https://api.rollbar.com", *, retry: RetryPolicy = DEFAULT_RETRY,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        super().__init__(base_url, auth=TokenAuth(token, header="X-Rollbar-Access-Token", scheme=""), retry=retry,
                         transport=transport, logger=log)

    async def item(self, item_id: str) -> dict[str, Any]:
        result = await self._result("GET", f"/api/1/item/{quote(item_id, safe='')}", None, f"item {item_id}")
        if not isinstance(result, dict):
            raise RollbarError(f"Rollbar API returned {type(result).__name__} for item {item_id}, expected an object")
        return result

    async def latest_occurrence(self, item_id: str) -> dict[str, Any] | None:
        """The newest occurrence ("instance") of the item; None when it has none left."""
        result = await self._result("GET", f"/api/1/item/{quote(item_id, safe='')}/instances", {"page": "1"},
                                    f"the occurrences of item {item_id}")
        instances = result.get("instances") if isinstance(result, dict) else result
        first = instances[0] if isinstance(instances, list) and instances else None
        return first if isinstance(first, dict) else None

    async def items(self, status: str | None, environment: str | None, limit: int) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        page = 1
        while len(found) < limit:
            params = {"page": str(page), **({"status": status} if status else {}),
                      **({"environment": environment} if environment else {})}
            result = await self._result("GET", "/api/1/items", params, "the item list")
            batch = result.get("items") if isinstance(result, dict) else None
            if not isinstance(batch, list) or not batch:
                break
            found.extend(i for i in batch if isinstance(i, dict))
            if len(batch) < PAGE_SIZE:
                break
            page += 1
        return found[:limit]

    async def _result(self, method: str, path: str, params: dict[str, str] | None, what: str) -> Any:
        response = await self.request(method, path, params=params, what=what)
        body = self.json_body(response, what=what)
        if not isinstance(body, dict) or body.get("err") not in (0, None):
            said = body.get("message") if isinstance(body, dict) else None
            raise RollbarError(f"Rollbar API refused {what}: {str(said or 'no result')[:300]}")
        return body.get("result")

    def wait_hint(self, response: httpx.Response) -> float | None:
        hint = super().wait_hint(response)
        if hint is None and response.status_code == 429:
            hint = reset_wait(response, "x-rate-limit-reset", self._clock(), epoch=True)
        return hint

    def status_hint(self, status: int) -> str:
        return TOKEN_HINT if status in (401, 403) else ""

    def make_error(self, message: str, *, status: int | None, retryable: bool) -> HttpError:
        return RollbarError(message, status=status, retryable=retryable)
