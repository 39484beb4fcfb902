"""Timestamps from the outside world (the web app's API, the facility feed)."""

from __future__ import annotations

from datetime import datetime, timezone


class BadTimestamp(ValueError):
    pass


def parse_timestamp(value: str) -> datetime:
    """An ISO 8601 timestamp as an aware datetime in UTC.

    Accepts a trailing `Z`. Timestamps without an offset are UTC (the facility feed's
    documented convention); everything is stored and compared in UTC.
    """
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise BadTimestamp(f"not an ISO 8601 timestamp: {value!r}") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(timezone.utc)
    return parsed


def format_timestamp(when: datetime) -> str:
    return when.isoformat()
