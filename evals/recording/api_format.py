"""Ingest format → API format: what Sentry's server-side processing does to the shape of an event.

A captured event is in the ingest format (what SDKs send, what webhooks embed). autofixer
fetches events from the API (`GET /api/0/organizations/{org}/issues/{id}/events/latest/`),
which serves a different, camelCase shape, so `ingest_to_api` performs the part of Sentry's
server-side processing that changes the shape:

* copied (renamed/reshaped, values untouched): event id, platform, frames (filename, abs_path,
  module, function, lineno, colno, in_app, vars; pre_context/context_line/post_context become
  `context: [[lineno, line], ...]`), exception type/value/module/mechanism, breadcrumbs
  (epoch timestamps become ISO 8601), request (query string and headers become pairs, the URL
  loses its query), contexts (plus their `type`, as Relay adds), user, sdk name/version,
  extra (`context`), modules (`packages`), dist, SDK tags. (The `entries`: api_entries.py.)
* derived the way Sentry derives them: title, culprit, location, metadata (crash frame:
  last in-app frame of the reported exception), the tags Sentry adds (level, environment,
  release, handled, mechanism, runtime, server_name, transaction, url, user), hasSystemFrames,
  size (bytes of the ingest payload), dateCreated/dateReceived.
* filled in, because only a Sentry server knows them: groupID and projectID (given by the
  caller), the release object (api_release.py), `fingerprints` (an md5 over the grouping
  inputs: exception type and in-app frames' module/function/context line; it plays the role of
  Sentry's hash but is not byte-identical to it), `groupingConfig` (the `newstyle:2023-01-11`
  config real events carry), and the API's always-empty fields (errors, sdkUpdates,
  resolvedWith, ...).
  Not reproduced: Relay's user-agent parsing (browser/os contexts from the User-Agent header)
  and the `_meta` remarks about scrubbed values.

Sentry's JavaScript culprit rule (`function(module)`) applies to Node.js events without a
transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from evals.recording.api_entries import entries
from evals.recording.api_release import release_object
from evals.recording.ingest_fields import (
    as_mapping,
    as_text,
    exception_values,
    frames_of,
    iso,
    message_text,
    pair_items,
    to_datetime,
)

# Real API events of this era carry this config; the enhancements string is Sentry's opaque
# encoding of the default enhancement rules, copied from real responses.
GROUPING_CONFIG = {"enhancements": "KLUv_SAYwQAAkwKRs25ld3N0eWxlOjIwMjMtMDEtMTGQ", "id": "newstyle:2023-01-11"}
TITLE_VALUE_MAX = 100  # Sentry truncates the exception value in titles to this many characters


def ingest_to_api(
    event: Mapping[str, Any],
    *,
    issue_id: str,
    project_id: str | int,
    project_slug: str | None = None,
    received: float | None = None,
) -> dict[str, Any]:
    """The API serializer's view (`.../issues/{id}/events/latest/`) of an ingest-format event.

    See the module docstring for what is copied, derived and filled in.
    """
    values = exception_values(event)
    primary = values[-1] if values else {}
    crash = _crash_frame(primary)
    event_id = str(event.get("event_id") or hashlib.md5(_canonical(event)).hexdigest())
    timestamp = to_datetime(event.get("timestamp")) or datetime.now(UTC)
    received_at = to_datetime(received if received is not None else event.get("received")) or timestamp
    release = as_text(event.get("release"))
    mechanism = as_mapping(primary.get("mechanism"))
    metadata = dict(event.get("metadata") or {}) or _metadata(primary, crash, values)
    title = as_text(event.get("title")) or _title(primary, event)
    culprit = (
        as_text(event.get("culprit"))
        or as_text(event.get("transaction"))
        or (_culprit_string(crash, str(event.get("platform") or "")) if crash else "")
    )
    api_entries = entries(event, values)
    api: dict[str, Any] = {
        "id": event_id,
        "groupID": str(issue_id),
        "eventID": event_id,
        "projectID": str(project_id),
        "size": len(_canonical(event)),
        "entries": api_entries,
        "dist": event.get("dist"),
        "message": "",  # with an exception, the API's top-level message is empty (search text only)
        "title": title,
        "location": metadata.get("filename"),
        "user": _user(event.get("user")),
        "contexts": _contexts(event.get("contexts")),
        "sdk": _sdk(event.get("sdk")),
        "context": dict(event.get("extra") or {}),
        "packages": dict(event.get("modules") or {}),
        "type": "error" if values else str(event.get("type") or "default"),
        "metadata": metadata,
        "tags": _tags(event, primary, mechanism, release),
        "platform": event.get("platform") or "other",
        "dateReceived": iso(received_at, micro=True),
        "errors": [],
        "occurrence": None,
        "_meta": {
            "entries": {}, "message": None, "user": None, "contexts": None,
            "sdk": None, "context": None, "packages": None, "tags": {},
        },
        "crashFile": None,
        "culprit": culprit,
        "dateCreated": iso(timestamp, micro=False),
        "fingerprints": [_grouping_hash(primary, values, event)],
        "groupingConfig": dict(GROUPING_CONFIG),
        "release": release_object(release, event, project_id, project_slug, timestamp, received_at),
        "userReport": None,
        "sdkUpdates": [],
        "resolvedWith": [],
        "nextEventID": None,
        "previousEventID": None,
    }
    if not values:
        api["message"] = as_text(message_text(event)) or ""
    return api


def capture_to_api(
    captured: Mapping[str, Any], *, issue_id: str, project_id: str | int, project_slug: str | None
) -> dict[str, Any]:
    """`ingest_to_api` of a recorder's capture (`{"event": ..., "received": ...}`)."""
    return ingest_to_api(
        captured["event"],
        issue_id=issue_id,
        project_id=project_id,
        project_slug=project_slug,
        received=captured["received"],
    )


def _canonical(event: Mapping[str, Any]) -> bytes:
    return json.dumps(event, sort_keys=True, separators=(",", ":"), default=repr).encode()


def _crash_frame(value: Mapping[str, Any]) -> dict[str, Any] | None:
    """Sentry's crash frame: the newest in-app frame, else the newest frame."""
    frames = frames_of(value)
    candidates = [f for f in frames if f.get("in_app") is True] or frames
    return candidates[-1] if candidates else None


def _culprit_string(frame: Mapping[str, Any], platform: str) -> str:
    """Sentry's Frame.get_culprit_string: `module in function`, but `function(module)` for
    JavaScript and Node, whose frames name a file rather than a dotted module."""
    platform = str(frame.get("platform") or platform)
    location = frame.get("module") or frame.get("filename")
    if not location:
        return ""
    if platform in ("javascript", "node"):
        return f"{frame.get('function') or '?'}({location})"
    return f"{location} in {frame.get('function') or '?'}"


def _frame_mix(values: list[dict[str, Any]]) -> str:
    flags = {f.get("in_app") is True for v in values for f in frames_of(v)}
    if flags == {True}:
        return "in-app-only"
    if flags == {False}:
        return "system-only"
    return "mixed"


def _metadata(
    primary: Mapping[str, Any], crash: Mapping[str, Any] | None, values: list[dict[str, Any]]
) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    if crash:
        meta["filename"] = crash.get("filename") or crash.get("abs_path")
        meta["function"] = crash.get("function")
    meta["in_app_frame_mix"] = _frame_mix(values)
    meta["type"] = primary.get("type")
    meta["value"] = primary.get("value")
    return meta


def _title(primary: Mapping[str, Any], event: Mapping[str, Any]) -> str:
    ty, value = as_text(primary.get("type")), as_text(primary.get("value"))
    if ty or value:
        first_line = (value or "").splitlines()[0] if value else ""
        if len(first_line) > TITLE_VALUE_MAX:
            first_line = first_line[: TITLE_VALUE_MAX - 3] + "..."
        return f"{ty}: {first_line}" if ty and first_line else (ty or first_line)
    return as_text(message_text(event)) or "<unlabeled event>"


def _tags(
    event: Mapping[str, Any], primary: Mapping[str, Any], mechanism: Mapping[str, Any], release: str | None
) -> list[dict[str, str]]:
    tags: dict[str, str] = {}
    raw = event.get("tags")
    items = raw.items() if isinstance(raw, Mapping) else pair_items(raw)
    for key, value in items:
        if value is not None:
            tags[str(key)] = str(value)
    contexts = as_mapping(event.get("contexts"))
    runtime, os_ctx = as_mapping(contexts.get("runtime")), as_mapping(contexts.get("os"))
    request, user = as_mapping(event.get("request")), as_mapping(event.get("user"))
    url = urlsplit(str(request.get("url") or ""))
    derived: dict[str, Any] = {
        "level": event.get("level") or "error",
        "environment": event.get("environment"),
        "release": release,
        "dist": event.get("dist"),
        "server_name": event.get("server_name"),
        "transaction": event.get("transaction"),
        "runtime": " ".join(str(p) for p in (runtime.get("name"), runtime.get("version")) if p) or None,
        "runtime.name": runtime.get("name"),
        "os.name": os_ctx.get("name"),
        "url": urlunsplit((url.scheme, url.netloc, url.path, "", "")) if request.get("url") else None,
        "user": _user_tag(user),
    }
    if primary:
        if isinstance(mechanism.get("handled"), bool):
            derived["handled"] = "yes" if mechanism["handled"] else "no"
        derived["mechanism"] = mechanism.get("type")
    for key, value in derived.items():
        if value not in (None, "") and key not in tags:
            tags[key] = str(value)
    return [{"key": k, "value": tags[k]} for k in sorted(tags)]


def _user_tag(user: Mapping[str, Any]) -> str | None:
    for key in ("id", "username", "email", "ip_address"):
        if user.get(key):
            return f"{'ip' if key == 'ip_address' else key}:{user[key]}"
    return None


def _user(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, Mapping) or not raw:
        return None
    known = ("id", "email", "username", "ip_address", "name")
    user: dict[str, Any] = {k: raw.get(k) for k in known}
    if isinstance(raw.get("geo"), Mapping):
        user["geo"] = dict(raw["geo"])
    extra = {k: v for k, v in raw.items() if k not in (*known, "geo", "data")}
    user["data"] = {**(raw.get("data") or {}), **extra} or None
    return user


def _contexts(raw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, ctx in (raw or {}).items():
        if isinstance(ctx, Mapping):
            # Relay stamps each context with its type (the key, for the well-known ones).
            out[name] = {**ctx, "type": ctx.get("type") or (name if name in _KNOWN_CONTEXTS else "default")}
    return out


_KNOWN_CONTEXTS = {"runtime", "os", "trace", "browser", "device", "app", "gpu", "culture", "response", "otel"}


def _sdk(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, Mapping):
        return None
    return {"name": raw.get("name"), "version": raw.get("version")}


def _grouping_hash(primary: Mapping[str, Any], values: list[dict[str, Any]], event: Mapping[str, Any]) -> str:
    parts: list[str] = []
    for value in values:
        parts.append(str(value.get("type") or ""))
        frames = frames_of(value)
        app = [f for f in frames if f.get("in_app") is True] or frames
        for f in app:
            where = f.get("module") or f.get("filename")
            parts.append(f"{where}:{f.get('function')}:{(f.get('context_line') or '').strip()}")
    if not parts:
        parts.append(str(message_text(event) or ""))
    return hashlib.md5("\n".join(parts).encode()).hexdigest()
