"""The HTTP side every chat/webhook notifier shares: a client on the shared HTTP layer (pooled,
retried with backoff, 429 `Retry-After` honoured, secrets scrubbed) whose failures end as one
NotifyError sentence, which the pipeline records as a warning on the job."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from common.config import ConnectorContext
from common.http import HttpClient, HttpError, RetryPolicy
from notify.base import NotifyError

log = logging.getLogger("autofixer.notify")


def retry_policy(context: ConnectorContext) -> RetryPolicy:
    # The notify step holds a worker slot: bounded attempts and at most two minutes of waiting,
    # after which the message is a recorded warning rather than a job stuck on a chat service.
    return RetryPolicy(max_attempts=context.max_attempts, initial_wait=context.backoff_seconds,
                       max_wait=60.0, max_total_wait=120.0)


class NotifyClient(HttpClient):
    """A client for one notification endpoint. `url` is usually itself a secret (Slack, Discord
    and Teams webhook URLs carry their token), so it is scrubbed like one."""

    name = "notify"

    def __init__(self, url: str, context: ConnectorContext, *, vendor: str, secrets: Iterable[str] = (),
                 auth: httpx.Auth | None = None, headers: Mapping[str, str] | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.vendor = vendor  # type: ignore[misc]  # per instance: "Slack webhook", "Discord"…
        super().__init__(url, auth=auth, secrets=[url, *secrets], headers=headers, retry=retry_policy(context),
                         transport=transport, logger=log)

    async def post(self, path: str, *, what: str, payload: Any = None, content: bytes | None = None,
                   params: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None) -> httpx.Response:
        """POST, retried while transient; any failure left is a NotifyError naming what to check."""
        try:
            return await self.request("POST", path, what=what, json=payload, content=content, params=params,
                                      headers=headers)
        except HttpError as exc:
            raise NotifyError(exc.message) from None


def require(context: ConnectorContext, env_name: str | None, what: str) -> str:
    """The secret in `env_name`, or a NotifyError saying which variable to set."""
    value = context.env(env_name) if env_name else None
    if not value:
        raise NotifyError(f"{env_name or 'the ' + what + ' variable'} is not set: {what} is needed to deliver")
    return value
