"""Reading untrusted JSON values: a wrong type gives None or an empty value, never an exception.

Tracker payloads (and what an SDK wrote into them) are not trusted to have any shape; the
Datadog and Rollbar parsers read every field through these.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

MAX_TEXT = 10_000


def text(raw: Any, limit: int = MAX_TEXT) -> str | None:
    """A non-empty string (numbers stringified), cut to `limit`; None otherwise."""
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, (int, float)):
        raw = str(raw)
    return raw[:limit] if isinstance(raw, str) and raw else None


def integer(raw: Any) -> int | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    digits = raw.strip().removeprefix("-") if isinstance(raw, str) else ""
    if digits.isascii() and digits.isdigit():  # ASCII only: int() would take Arabic-Indic digits too
        return int(raw)
    return None


def obj(raw: Any) -> dict[str, Any]:
    return dict(raw) if isinstance(raw, Mapping) else {}


def items(raw: Any) -> list[Any]:
    return list(raw) if isinstance(raw, list) else []


def dig(raw: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(raw, Mapping):
            return None
        raw = raw.get(key)
    return raw


def iso_time(raw: Any) -> str | None:
    """Epoch seconds or milliseconds become ISO 8601 UTC; strings pass as they are."""
    if isinstance(raw, str):
        return raw or None
    number = integer(raw) if not isinstance(raw, float) else raw
    if number is None:
        return None
    seconds = number / 1000 if number > 10_000_000_000 else number
    try:
        return datetime.fromtimestamp(seconds, tz=UTC).isoformat()
    except (OverflowError, OSError, ValueError):
        return None


def string_map(raw: Any) -> dict[str, str]:
    """A flat {str: str} of the scalar values of an object."""
    return {str(k): t for k, v in obj(raw).items() if (t := text(v, 2000)) is not None}
