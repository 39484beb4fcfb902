"""Reading fields of an ingest-format event (what SDKs send), which may hold anything anywhere,
and writing its times the way the API does. Shared by api_format.py and api_entries.py."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any


def as_mapping(raw: Any) -> Mapping[str, Any]:
    """`raw` if it is a mapping, else an empty one: SDK payloads may hold anything anywhere."""
    return raw if isinstance(raw, Mapping) else {}


def as_text(raw: Any) -> str | None:
    """`raw` if it is a non-empty string, else None."""
    return raw if isinstance(raw, str) and raw else None


def pair_items(raw: Any) -> list[tuple[Any, Any]]:
    """The two-item entries of a list of pairs (`[[key, value], ...]`); anything else is skipped."""
    return [(p[0], p[1]) for p in raw or [] if isinstance(p, (list, tuple)) and len(p) == 2]


def exception_values(event: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The event's exception chain, oldest first (the reported exception last)."""
    raw = event.get("exception", event.get("sentry.interfaces.Exception"))
    if isinstance(raw, Mapping):
        raw = raw.get("values") if "values" in raw else [raw]
    return [dict(v) for v in raw or [] if isinstance(v, Mapping)]


def frames_of(value: Mapping[str, Any]) -> list[dict[str, Any]]:
    """An exception value's stack frames, oldest first."""
    stack = value.get("stacktrace")
    frames = stack.get("frames") if isinstance(stack, Mapping) else None
    return [dict(f) for f in frames or [] if isinstance(f, Mapping)]


def message_text(event: Mapping[str, Any]) -> Any:
    """The event's log message (formatted if the SDK formatted it), whatever type the SDK sent."""
    logentry = event.get("logentry") or event.get("sentry.interfaces.Message")
    if isinstance(logentry, Mapping):
        return logentry.get("formatted") or logentry.get("message")
    return event.get("message")


def to_datetime(raw: Any) -> datetime | None:
    """An SDK timestamp (epoch seconds as a number or string, or ISO 8601) as an aware datetime."""
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, (int, float)):
        return datetime.fromtimestamp(raw, tz=UTC)
    if isinstance(raw, str):
        try:
            return datetime.fromtimestamp(float(raw), tz=UTC)
        except ValueError:
            pass
        try:
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def iso(when: datetime, *, micro: bool) -> str:
    """`when` in UTC as the API writes it: `...T12:34:56.789012Z`, or `...T12:34:56Z`."""
    when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if micro else "%Y-%m-%dT%H:%M:%SZ")
