"""Rollbar as an `ErrorSource`: project webhooks in, the read API for items and occurrences.

Rollbar neither signs webhooks nor lets you add headers to them, so the webhook URL carries the
shared secret: `https://fixer.example.com/api/webhook/rollbar?token=<secret>` (a proxy in front
may instead send it as `X-Autofixer-Token`). Anything without it is a 401. Items are Rollbar's
issues; the issue id is the item's id (not its per-project counter), as the API uses it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar

from common.config import ConnectorContext, HttpUrlMixin
from common.http import RetryPolicy, SharedClient
from domain import ErrorEvent, Issue
from sources import values as v
from sources.base import Delivery, DeliveryRejected, FixRequest, SourceConfig, SourceError, json_object
from sources.rollbar.client import RollbarClient, RollbarError
from sources.rollbar.parser import level, parse_event, parse_issue
from sources.shared_secret import require_token, secrets_from

T = TypeVar("T")

# Deliveries that ask for a fix; resolved_item, deploy, item_velocity… are acknowledged.
STARTING_EVENTS = {"new_item", "reactivated_item", "reopened_item", "exp_repeat_item", "occurrence"}


class RollbarConfig(SourceConfig, HttpUrlMixin):
    type: Literal["rollbar"] = "rollbar"
    base_url: str = "https://api.rollbar.com"
    web_url: str = "https://rollbar.com"
    account: str = ""  # the account and project slugs of rollbar.com/<account>/<project>/: issue links
    project: str = ""
    token_env: str = "AUTOFIXER_ROLLBAR_TOKEN"  # a project access token with the read scope
    webhook_secret_env: str = "AUTOFIXER_ROLLBAR_WEBHOOK_SECRET"
    environment: str | None = None  # list only this environment's items (e.g. production)


class RollbarSource:
    kind = "rollbar"
    label = "Rollbar"
    Config = RollbarConfig

    def __init__(self, config: RollbarConfig, context: ConnectorContext) -> None:
        self.config = config
        self.name = config.key
        self._context = context
        self._api = SharedClient(self.client)  # one connection pool for every call
        self._webhook_secrets = secrets_from(context.env(config.webhook_secret_env))

    def __repr__(self) -> str:
        return f"RollbarSource(name={self.name!r}, project={self.config.project!r})"

    # ── webhooks ──────────────────────────────────────────────────────────────────────────

    def verify(self, delivery: Delivery) -> None:
        require_token(delivery, self._webhook_secrets, label="Rollbar")

    def fix_request(self, delivery: Delivery) -> FixRequest | None:
        body = json_object(delivery, json_hint="set the webhook's format to JSON")
        if not isinstance(body.get("event_name"), str):
            raise DeliveryRejected(400, "a Rollbar webhook is a JSON object with an event_name")
        event = body["event_name"]
        if event not in STARTING_EVENTS:
            return None
        item = v.dig(body, "data", "item")
        if not isinstance(item, dict):
            raise DeliveryRejected(400, f"{event[:40]} delivery without data.item")
        item_id = item.get("id")
        if isinstance(item_id, bool) or not isinstance(item_id, int) or item_id <= 0:
            raise DeliveryRejected(400, "data.item.id is missing or not a positive integer")
        title = item.get("title")
        return FixRequest(issue_id=str(item_id), project=self.config.project or None,
                          title=title[:500] if isinstance(title, str) else "", trigger=f"rollbar.{event}",
                          count=v.integer(item.get("total_occurrences")), level=level(item.get("level")),
                          environment=v.text(item.get("environment"), 200))

    # ── the API ───────────────────────────────────────────────────────────────────────────

    def client(self) -> RollbarClient:
        token = self._context.env(self.config.token_env) or ""
        if not token:
            raise SourceError(f"{self.config.token_env} is not set: the Rollbar API cannot be called")
        retry = RetryPolicy(max_attempts=self._context.max_attempts, initial_wait=self._context.backoff_seconds)
        return RollbarClient(token, self.config.base_url, retry=retry)

    async def fetch_event(self, issue_id: str) -> dict[str, Any]:
        async def fetch(client: RollbarClient) -> dict[str, Any]:
            item = await client.item(issue_id)
            occurrence = await client.latest_occurrence(issue_id)
            return {"item": item, "occurrence": occurrence or v.obj(item.get("last_occurrence"))}

        return await self._call(fetch)

    def parse_event(self, raw: dict[str, Any], issue_id: str) -> ErrorEvent:
        return parse_event(raw, issue_id=issue_id, issue_url=self.issue_url(issue_id),
                           project=self.config.project or None)

    async def fetch_issue(self, issue_id: str) -> dict[str, Any]:
        return await self._call(lambda client: client.item(issue_id))

    def parse_issue(self, raw: dict[str, Any]) -> Issue:
        item_id = v.text(raw.get("id")) or ""
        return parse_issue(raw, project=self.config.project or None, url=self.issue_url(item_id) if item_id else None)

    async def list_issues(self, project: str | None = None, query: str | None = None, limit: int = 25) -> list[Issue]:
        """Active items (or the status `query` names: active, resolved, muted), newest first.
        A project token sees one project, so another project's name lists nothing."""
        if project and self.config.project and project != self.config.project:
            return []
        status = (query or "").strip() or "active"
        raws = await self._call(lambda c: c.items(status, self.config.environment, limit))
        return [self.parse_issue(raw) for raw in raws]

    async def _call(self, call: Callable[[RollbarClient], Awaitable[T]]) -> T:
        try:
            return await call(self._api.get())
        except RollbarError as exc:
            raise SourceError(exc.reason, status=exc.status, not_found=exc.status == 404) from None

    # ── names derived from an issue ───────────────────────────────────────────────────────

    def job_id(self, issue_id: str) -> str:
        return f"{self.name}:{self.config.project or '-'}:{issue_id}"

    def branch_suffix(self, issue_id: str) -> str:
        return f"{self.name}-{issue_id}"

    def commit_trailer(self, issue_id: str, issue_url: str | None) -> str:
        return f"Rollbar-Item: {issue_url or issue_id}"

    def issue_url(self, issue_id: str) -> str:
        # rollbar.com/item/<id> is not a page; the project's item search by id is.
        if self.config.account and self.config.project:
            return f"{self.config.web_url}/{self.config.account}/{self.config.project}/items/?query=id%3A{issue_id}"
        return f"{self.config.web_url}/api/1/item/{issue_id}"

    async def aclose(self) -> None:
        """Close the API client's pooled connections (at shutdown)."""
        await self._api.aclose()
