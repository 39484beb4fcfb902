"""Sentry integration-platform webhooks: signature check and what a delivery asks of us.

Pure functions, no I/O: `SentrySource.verify` and `SentrySource.fix_request` call these.
Sentry signs the raw body only (hex HMAC-SHA256 with the client secret) and does
not sign its timestamp, so a replayed delivery is caught by the job's idempotency key rather
than by a freshness check.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Any

from sources.values import integer

_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
# https://sentry.io/api/0/projects/{org}/{project}/events/{event_id}/ in event_alert/error bodies
_PROJECT_FROM_URL = re.compile(r"/projects/[^/]+/([^/]+)/events/")


def signature_valid(body: bytes, signature: str | None, secrets: list[bytes]) -> bool:
    """True when `signature` is the hex HMAC-SHA256 of `body` under any configured secret."""
    if not signature or not secrets or not _HEX_SHA256.fullmatch(signature.strip()):
        return False
    given = signature.strip().lower().encode()
    matched = False
    for secret in secrets:  # no early exit: every secret costs the same, whichever matches
        expected = hmac.new(secret, body, hashlib.sha256).hexdigest().encode()
        matched |= hmac.compare_digest(expected, given)
    return matched


def sign(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class MalformedDelivery(ValueError):
    """The body is JSON but lacks what its resource/action promises (e.g. no issue id)."""


@dataclass(frozen=True)
class FixRequest:
    """A delivery that should start a fix for one Sentry issue."""

    issue_id: str
    project: str | None
    title: str
    trigger: str  # "issue.created", "event_alert.triggered", "error.created"
    # What the delivery says about the issue, for the trigger rules (None: not said).
    count: int | None = None
    user_count: int | None = None
    environment: str | None = None
    level: str | None = None


# resource → the action that starts a fix; everything else is acknowledged and ignored.
_STARTING_ACTIONS = {"issue": "created", "event_alert": "triggered", "error": "created"}


def fix_request(resource: str, body: Any) -> FixRequest | None:
    """What the delivery asks for: a FixRequest, or None for deliveries we ignore."""
    if not isinstance(body, dict):
        raise MalformedDelivery("body must be a JSON object")
    action = body.get("action")
    if _STARTING_ACTIONS.get(resource) != action:
        return None
    data = body.get("data")
    if not isinstance(data, dict):
        raise MalformedDelivery("missing data object")
    trigger = f"{resource}.{action}"
    if resource == "issue":
        return _from_issue(data.get("issue"), trigger)
    return _from_event(data.get("event" if resource == "event_alert" else "error"), trigger)


def _from_issue(issue: Any, trigger: str) -> FixRequest:
    if not isinstance(issue, dict):
        raise MalformedDelivery("missing data.issue")
    project = issue.get("project")
    slug = project.get("slug") if isinstance(project, dict) else None
    return FixRequest(_issue_id(issue.get("id")), _text(slug), _text(issue.get("title")) or "", trigger,
                      count=integer(issue.get("count")), user_count=integer(issue.get("userCount")),
                      level=_text(issue.get("level")))


def _from_event(event: Any, trigger: str) -> FixRequest:
    if not isinstance(event, dict):
        raise MalformedDelivery("missing the event in data")
    issue_id = event.get("issue_id") or event.get("group_id")
    if issue_id is None and isinstance(event.get("issue_url"), str):
        issue_id = event["issue_url"].rstrip("/").rsplit("/", 1)[-1]
    match = _PROJECT_FROM_URL.search(str(event.get("url") or ""))
    return FixRequest(
        _issue_id(issue_id), match.group(1) if match else None, _text(event.get("title")) or "", trigger,
        environment=_text(event.get("environment")), level=_text(event.get("level")),
    )


def _issue_id(value: Any) -> str:
    text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    # isdigit() alone would accept any Unicode digit (Arabic-Indic, superscripts), which no Sentry id has.
    if not (text.isascii() and text.isdigit()) or len(text) > 20:
        raise MalformedDelivery("the issue id is missing or not numeric")
    return text


def _text(value: Any) -> str | None:
    return value[:500] if isinstance(value, str) else None
