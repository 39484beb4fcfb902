"""The contract every error source (Sentry, Datadog, Rollbar) fulfils.

A source does four things for the pipeline: it checks that a webhook delivery really comes from
the tracker (`verify`), says what the delivery asks for (`fix_request`: an issue to fix, or
nothing), fetches that issue's latest event and turns it into the one `ErrorEvent` every later
stage reads, and names what the rest of the system derives from an issue: the job id (the
idempotency key), the branch suffix, the commit trailer and the link a person clicks.

Fetching is split into `fetch_*` (network, the tracker's own JSON, which a durable step records
as it came) and `parse_*` (pure), so a recovered job re-parses the recorded payload and never
asks the tracker twice.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, overload, runtime_checkable

from pydantic import BaseModel, field_validator

from common.config import ConnectorConfig
from common.durations import parse_duration
from domain import ErrorEvent, Issue


class Headers(Protocol):
    """A request's headers as sources read them: look-up by name (Quart's are case-insensitive
    and iterate as (name, value) pairs, so they are not a Mapping)."""

    @overload
    def get(self, key: str) -> str | None: ...

    @overload
    def get(self, key: str, default: str) -> str: ...


@dataclass(frozen=True)
class Delivery:
    """One webhook request, as received: the raw body is what signatures are computed over."""

    headers: Headers  # case-insensitive in practice (Quart/werkzeug headers)
    body: bytes
    content_type: str  # the mimetype without parameters, e.g. "application/json"
    # The URL's query parameters: where a tracker that cannot send headers (Rollbar) puts its token.
    query: Mapping[str, str] = field(default_factory=dict)


class FixRequest(BaseModel):
    """What a delivery, a poll or a person asks for: fix one issue of one source."""

    issue_id: str
    project: str | None = None  # the tracker's project, when the delivery names it
    title: str = ""
    trigger: str = ""  # e.g. "issue.created", for logs and the job outcome
    # What the delivery or poll knows about the issue, for the trigger rules (None: not said).
    count: int | None = None
    user_count: int | None = None
    environment: str | None = None
    level: str | None = None


class SourceConfig(ConnectorConfig):
    """What every `sources:` entry has besides its connector's own keys."""

    # Poll the tracker this often (e.g. 5m) for issues no webhook reported: for trackers behind a
    # firewall no webhook leaves. Jobs get the webhook's ids, so both never duplicate a fix.
    poll_interval: str | None = None

    @field_validator("poll_interval")
    @classmethod
    def _interval(cls, value: str | None) -> str | None:
        if value is not None and parse_duration(value) < 30:
            raise ValueError("poll-interval must be at least 30s (trackers rate-limit their APIs)")
        return value


class DeliveryRejected(Exception):
    """The delivery is not one we act on: 401 (not from the tracker), 400/415 (malformed).

    `outcome` is the metrics label (bad_signature, malformed); the message is safe to answer with.
    """

    def __init__(self, status: int, message: str, *, outcome: str = "malformed") -> None:
        super().__init__(message)
        self.status = status
        self.outcome = outcome


class SourceError(Exception):
    """The tracker refused or stayed unavailable after retries; the reason is safe to show."""

    def __init__(self, reason: str, *, status: int | None = None, not_found: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.not_found = not_found


@runtime_checkable
class ErrorSource(Protocol):
    name: str  # the configured name: webhook route /api/webhook/<name> and job-id prefix
    kind: str  # the connector type, e.g. "sentry"
    label: str  # how people call the tracker in text, e.g. "Sentry"

    def verify(self, delivery: Delivery) -> None:
        """Raise DeliveryRejected(401) unless the delivery is authentic."""
        ...

    def fix_request(self, delivery: Delivery) -> FixRequest | None:
        """What an authentic delivery asks for; None when it is acknowledged and ignored."""
        ...

    async def fetch_event(self, issue_id: str) -> dict[str, Any]:
        """The issue's latest event, in the tracker's own format (raises SourceError)."""
        ...

    def parse_event(self, raw: dict[str, Any], issue_id: str) -> ErrorEvent: ...

    async def fetch_issue(self, issue_id: str) -> dict[str, Any]:
        """The issue's details, in the tracker's own format (raises SourceError)."""
        ...

    def parse_issue(self, raw: dict[str, Any]) -> Issue: ...

    async def list_issues(self, project: str | None = None, query: str | None = None, limit: int = 25) -> list[Issue]:
        ...

    def job_id(self, issue_id: str) -> str:
        """The idempotency key: duplicate deliveries and replicas collapse to one job."""
        ...

    def branch_suffix(self, issue_id: str) -> str: ...

    def commit_trailer(self, issue_id: str, issue_url: str | None) -> str: ...

    def issue_url(self, issue_id: str) -> str: ...

    async def aclose(self) -> None: ...


async def latest_event(source: ErrorSource, issue_id: str) -> ErrorEvent:
    """Fetch and parse in one call, for callers that need no checkpoint in between."""
    return source.parse_event(await source.fetch_event(issue_id), issue_id)


def json_object(delivery: Delivery, *, json_hint: str, not_json_hint: str = "") -> dict[str, Any]:
    """The delivery's JSON object, or DeliveryRejected: 415 for another Content-Type, 400 for a
    body that is not a JSON object (deep nesting included: json's RecursionError is a 400 too)."""
    if delivery.content_type != "application/json":
        raise DeliveryRejected(415, f"Content-Type must be application/json ({json_hint})")
    try:
        body = json.loads(delivery.body)
    except (ValueError, RecursionError):
        raise DeliveryRejected(400, "the body is not JSON" + (f": {not_json_hint}" if not_json_hint else "")) from None
    if not isinstance(body, dict):
        raise DeliveryRejected(400, "the payload must be a JSON object")
    return body

