"""Datadog Error Tracking as an `ErrorSource`: monitor webhooks in, the Error Tracking and event
search APIs for issues and their stacks.

Datadog does not sign webhooks: the webhook is configured with a custom header carrying a shared
secret (README, "Datadog"), checked in constant time. Its payload is whatever the user templated,
so `fix_request` reads the issue id from an `issue_id` field, or from an Error Tracking link in
`link`/`body`/`text`; a notification naming no issue (a host monitor, a test notification, a
recovery) is acknowledged and ignored.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar

from pydantic import Field

from common.config import ConnectorContext, HttpUrlMixin
from common.http import RetryPolicy, SharedClient
from domain import ErrorEvent, Issue
from sources import values as v
from sources.base import Delivery, DeliveryRejected, FixRequest, SourceConfig, SourceError, json_object
from sources.datadog.client import DatadogClient, DatadogError
from sources.datadog.parser import issue_attributes, parse_event, parse_issue
from sources.shared_secret import require_token, secrets_from

T = TypeVar("T")

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
ISSUE_ID = re.compile(rf"^{_UUID}$")
# Where a link or message names an Error Tracking issue: ?issueId=…, /error-tracking/issue/…, @issue.id:…
_ISSUE_IN_TEXT = re.compile(rf"(?:issueId=|/error-tracking/issues?/|issue\.id:)({_UUID})", re.IGNORECASE)
_NOT_STARTING = {"recovered", "no data", "warn"}  # $ALERT_TRANSITION values that ask for no fix
_CLOSED_STATES = {"RESOLVED", "IGNORED", "EXCLUDED"}


class DatadogConfig(SourceConfig, HttpUrlMixin):
    type: Literal["datadog"] = "datadog"
    site: str = Field("datadoghq.com", pattern=r"^[a-z0-9.-]+\.(?:com|eu)$")  # datadoghq.eu, us3.datadoghq.com…
    base_url: str | None = None  # the API root; default https://api.<site> (set it for a proxy)
    api_key_env: str = "AUTOFIXER_DATADOG_API_KEY"  # DD-API-KEY
    app_key_env: str = "AUTOFIXER_DATADOG_APP_KEY"  # DD-APPLICATION-KEY, with error_tracking_read
    webhook_secret_env: str = "AUTOFIXER_DATADOG_WEBHOOK_SECRET"
    track: Literal["trace", "logs"] = "trace"  # where the issues' samples live: APM spans or logs
    lookback_days: int = Field(7, ge=1, le=90)  # how far back issue lists and sample searches look

    @property
    def api_url(self) -> str:
        return self.base_url or f"https://api.{self.site}"

    @property
    def app_url(self) -> str:
        # The web UI: app.datadoghq.com / app.datadoghq.eu, but us3.datadoghq.com as it is.
        return f"https://app.{self.site}" if self.site.count(".") == 1 else f"https://{self.site}"


class DatadogSource:
    kind = "datadog"
    label = "Datadog"
    Config = DatadogConfig

    def __init__(self, config: DatadogConfig, context: ConnectorContext) -> None:
        self.config = config
        self.name = config.key
        self._context = context
        self._api = SharedClient(self.client)  # one connection pool for every call
        self._webhook_secrets = secrets_from(context.env(config.webhook_secret_env))

    def __repr__(self) -> str:
        return f"DatadogSource(name={self.name!r}, site={self.config.site!r})"

    # ── webhooks ──────────────────────────────────────────────────────────────────────────

    def verify(self, delivery: Delivery) -> None:
        require_token(delivery, self._webhook_secrets, label="Datadog")

    def fix_request(self, delivery: Delivery) -> FixRequest | None:
        body = json_object(delivery, json_hint="the webhook's 'Encode as form' is off",
                           not_json_hint="check the webhook's payload template")
        for key in ("issue_id", "link", "body", "text", "title", "transition", "service"):
            if body.get(key) is not None and not isinstance(body[key], str):
                raise DeliveryRejected(400, f"payload field {key!r} must be a string")
        if (body.get("transition") or "").strip().lower() in _NOT_STARTING:
            return None
        issue_id = (body.get("issue_id") or "").strip().lower()
        if issue_id and not ISSUE_ID.match(issue_id):
            raise DeliveryRejected(400, "issue_id is not an Error Tracking issue id (a UUID)")
        if not issue_id:
            found = next((m for key in ("link", "body", "text") if (m := _ISSUE_IN_TEXT.search(body.get(key) or ""))),
                         None)
            if found is None:
                return None  # a monitor that is not about an Error Tracking issue
            issue_id = found.group(1).lower()
        transition = (body.get("transition") or "triggered").strip().lower()[:40]
        return FixRequest(issue_id=issue_id, project=v.text(body.get("service"), 200),
                          title=(body.get("title") or "")[:500], trigger=f"webhook.{transition}")

    # ── the API ───────────────────────────────────────────────────────────────────────────

    def client(self) -> DatadogClient:
        api_key = self._context.env(self.config.api_key_env) or ""
        app_key = self._context.env(self.config.app_key_env) or ""
        for var, value in ((self.config.api_key_env, api_key), (self.config.app_key_env, app_key)):
            if not value:
                raise SourceError(f"{var} is not set: the Datadog API cannot be called")
        retry = RetryPolicy(max_attempts=self._context.max_attempts, initial_wait=self._context.backoff_seconds)
        return DatadogClient(api_key, app_key, self.config.api_url, retry=retry)

    async def fetch_event(self, issue_id: str) -> dict[str, Any]:
        async def fetch(client: DatadogClient) -> dict[str, Any]:
            issue = await client.issue(issue_id)
            since = f"now-{self.config.lookback_days}d"
            events = await client.search_events(self.config.track, f"@issue.id:{issue_id}", since)
            _, attrs = issue_attributes(issue)
            service, error_type = v.text(attrs.get("service")), v.text(attrs.get("error_type"))
            if not events and service and error_type:  # older samples lack issue.id: match by what the issue names
                query = f'service:"{_quoted(service)}" @error.type:"{_quoted(error_type)}" status:error'
                events = await client.search_events(self.config.track, query, since)
            return {"issue": issue, "events": events[:1]}

        return await self._call(fetch)

    def parse_event(self, raw: dict[str, Any], issue_id: str) -> ErrorEvent:
        return parse_event(raw, issue_id=issue_id, issue_url=self.issue_url(issue_id))

    async def fetch_issue(self, issue_id: str) -> dict[str, Any]:
        return await self._call(lambda client: client.issue(issue_id))

    def parse_issue(self, raw: dict[str, Any]) -> Issue:
        issue_id, _ = issue_attributes(raw)
        return parse_issue(raw, url=self.issue_url(issue_id) if issue_id else None,
                           counts=v.obj(raw.get("counts")))

    async def list_issues(self, project: str | None = None, query: str | None = None, limit: int = 25) -> list[Issue]:
        """Open issues, most events first (the search's order), from the last `lookback-days`."""
        terms = " ".join(t for t in (f'service:"{_quoted(project)}"' if project else "", query or "") if t) or "*"
        now_ms = int(time.time() * 1000)
        since_ms = now_ms - self.config.lookback_days * 86_400_000
        found = await self._call(lambda c: c.search_issues(terms, since_ms, now_ms, self.config.track))
        included = {str(i.get("id")): i for i in v.items(found.get("included")) if isinstance(i, dict)}
        issues: list[Issue] = []
        for result in v.items(found.get("data")):
            issue_id = v.text(v.dig(result, "relationships", "issue", "data", "id")) or v.text(v.dig(result, "id"))
            doc = included.get(issue_id or "")
            if not issue_id or doc is None or v.dig(doc, "attributes", "state") in _CLOSED_STATES:
                continue
            issue = self.parse_issue({"data": doc, "counts": v.obj(v.dig(result, "attributes"))})
            if project is None or issue.project == project:
                issues.append(issue)
        return issues[:limit]

    async def _call(self, call: Callable[[DatadogClient], Awaitable[T]]) -> T:
        try:
            return await call(self._api.get())
        except DatadogError as exc:
            raise SourceError(exc.reason, status=exc.status, not_found=exc.status == 404) from None

    # ── names derived from an issue ───────────────────────────────────────────────────────

    def job_id(self, issue_id: str) -> str:
        return f"{self.name}:{self.config.site}:{issue_id}"

    def branch_suffix(self, issue_id: str) -> str:
        return f"{self.name}-{issue_id}"

    def commit_trailer(self, issue_id: str, issue_url: str | None) -> str:
        return f"Datadog-Issue: {issue_url or issue_id}"

    def issue_url(self, issue_id: str) -> str:
        return f"{self.config.app_url}/error-tracking?issueId={issue_id}"

    async def aclose(self) -> None:
        """Close the API client's pooled connections (at shutdown)."""
        await self._api.aclose()


def _quoted(value: str) -> str:
    """A value inside a Datadog query's double quotes."""
    return value.replace("\\", "\\\\").replace('"', '\\"')
