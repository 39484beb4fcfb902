"""Sentry as an `ErrorSource`: integration-platform webhooks in, the REST API for events and issues.

Works with sentry.io (regional hosts too) and self-hosted Sentry: `base-url` picks the host.
Job ids stay `sentry:<org>:<issue>` and branches `…sentry-<issue>`, as in every earlier
release, so jobs and pull requests made before a connector is renamed are still found.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar

from common.config import ConnectorContext, HttpUrlMixin
from common.http import SharedClient
from domain import ErrorEvent, Issue
from sources.base import Delivery, DeliveryRejected, FixRequest, SourceConfig, SourceError
from sources.sentry.client import RetryPolicy, SentryClient, SentryError, SentryNotFound
from sources.sentry.parser import parse_event, parse_issue
from sources.sentry.webhook import MalformedDelivery, fix_request, signature_valid
from sources.shared_secret import secrets_from

T = TypeVar("T")


class SentryConfig(SourceConfig, HttpUrlMixin):
    type: Literal["sentry"] = "sentry"
    base_url: str = "https://sentry.io"  # regional (https://de.sentry.io) or self-hosted
    org: str = ""
    token_env: str = "AUTOFIXER_SENTRY_TOKEN"  # an internal integration's token (Issue & Event: read)
    webhook_secret_env: str = "AUTOFIXER_WEBHOOK_SECRET"  # its client secret; comma-separate to rotate


class SentrySource:
    kind = "sentry"
    label = "Sentry"
    Config = SentryConfig

    def __init__(self, config: SentryConfig, context: ConnectorContext) -> None:
        self.config = config
        self.name = config.key
        self._context = context
        self._api = SharedClient(self.client)  # one connection pool for every call
        self._webhook_secrets = secrets_from(context.env(config.webhook_secret_env))

    def __repr__(self) -> str:
        return f"SentrySource(name={self.name!r}, base_url={self.config.base_url!r}, org={self.config.org!r})"

    # ── webhooks ──────────────────────────────────────────────────────────────────────────

    @property
    def accepts_webhooks(self) -> bool:
        return bool(self._webhook_secrets)

    def verify(self, delivery: Delivery) -> None:
        signature = delivery.headers.get("Sentry-Hook-Signature")
        if not signature_valid(delivery.body, signature, self._webhook_secrets):
            raise DeliveryRejected(401, "missing or invalid Sentry-Hook-Signature", outcome="bad_signature")

    def fix_request(self, delivery: Delivery) -> FixRequest | None:
        if delivery.content_type != "application/json":
            raise DeliveryRejected(415, "Content-Type must be application/json")
        resource = delivery.headers.get("Sentry-Hook-Resource", "").strip()
        if not resource:
            raise DeliveryRejected(400, "missing Sentry-Hook-Resource header")
        try:
            wanted = fix_request(resource, json.loads(delivery.body))
        except (ValueError, RecursionError, MalformedDelivery) as exc:  # JSON/Unicode errors are ValueErrors
            raise DeliveryRejected(400, f"malformed {resource} delivery: {exc}") from None
        if wanted is None:
            return None
        return FixRequest(issue_id=wanted.issue_id, project=wanted.project, title=wanted.title, trigger=wanted.trigger,
                          count=wanted.count, user_count=wanted.user_count, environment=wanted.environment,
                          level=wanted.level)

    # ── the API ───────────────────────────────────────────────────────────────────────────

    def client(self) -> SentryClient:
        token = self._context.env(self.config.token_env) or ""
        if not token:
            raise SourceError(f"{self.config.token_env} is not set: the Sentry API cannot be called")
        if not self.config.org:
            raise SourceError(f"{self.name}: org is not set in the configuration: the Sentry API cannot be called")
        retry = RetryPolicy(max_attempts=self._context.max_attempts, initial_wait=self._context.backoff_seconds)
        return SentryClient(token, self.config.org, self.config.base_url, retry=retry)

    async def fetch_event(self, issue_id: str) -> dict[str, Any]:
        return await self._call(lambda client: client.latest_event(issue_id))

    def parse_event(self, raw: dict[str, Any], issue_id: str) -> ErrorEvent:
        return parse_event(raw, issue_id=issue_id, issue_url=self.issue_url(issue_id))

    async def fetch_issue(self, issue_id: str) -> dict[str, Any]:
        return await self._call(lambda client: client.issue(issue_id))

    def parse_issue(self, raw: dict[str, Any]) -> Issue:
        return parse_issue(raw)

    async def list_issues(self, project: str | None = None, query: str | None = None, limit: int = 25) -> list[Issue]:
        """Newest first; unresolved ones unless the query names a status (Sentry search syntax)."""
        raws = await self._call(lambda client: client.list_issues(project, unresolved_query(query), limit))
        return [self.parse_issue(raw) for raw in raws]

    async def _call(self, call: Callable[[SentryClient], Awaitable[T]]) -> T:
        try:
            return await call(self._api.get())
        except SentryError as exc:
            raise SourceError(exc.reason, status=exc.status, not_found=isinstance(exc, SentryNotFound)) from None

    # ── names derived from an issue ───────────────────────────────────────────────────────

    def job_id(self, issue_id: str) -> str:
        return f"{self.name}:{self.config.org or '-'}:{issue_id}"

    def branch_suffix(self, issue_id: str) -> str:
        return f"{self.name}-{issue_id}"

    def commit_trailer(self, issue_id: str, issue_url: str | None) -> str:
        return f"Sentry-Issue: {issue_url or issue_id}"

    def issue_url(self, issue_id: str) -> str:
        return f"{self.config.base_url}/organizations/{self.config.org}/issues/{issue_id}/"

    async def aclose(self) -> None:
        """Close the API client's pooled connections (at shutdown)."""
        await self._api.aclose()



def unresolved_query(query: str | None) -> str:
    """The list is of unresolved issues unless the query sets its own status (`is:...`)."""
    query = (query or "").strip()
    if any(term.startswith("is:") for term in query.split()):
        return query
    return f"is:unresolved {query}".strip()
