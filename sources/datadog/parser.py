"""Datadog Error Tracking issues and their sample events (spans or logs) as Issue and ErrorEvent.

An issue (`GET /api/v2/error-tracking/issues/{id}`, JSON:API) names the error type, message,
service and the crash's file and function; a sample event carries the rest, with the stack as
text in `error.stack` (span tags, log attributes), which sources.stacktext turns into frames.
What `fetch_event` records is `{"issue": <issue document>, "events": [<event>, …]}`.
"""

from __future__ import annotations

from typing import Any

from domain.event import ErrorEvent, ExceptionInfo, RequestContext, StackFrame
from domain.issue import Issue
from sources import values as v
from sources.stacktext import parse_stack


def issue_attributes(raw: Any) -> tuple[str, dict[str, Any]]:
    data = v.obj(v.dig(raw, "data")) or v.obj(raw)
    return v.text(data.get("id")) or "", v.obj(data.get("attributes"))


def parse_issue(raw: Any, *, url: str | None = None, counts: dict[str, Any] | None = None) -> Issue:
    issue_id, attrs = issue_attributes(raw)
    counts = counts or {}
    return Issue(
        id=issue_id,
        title=_title(attrs),
        culprit=v.text(attrs.get("function_name")) or v.text(attrs.get("file_path")),
        project=v.text(attrs.get("service")),
        status=(v.text(attrs.get("state")) or "").lower() or None,
        count=v.integer(counts.get("total_count")),
        user_count=v.integer(counts.get("impacted_users")),
        first_seen=v.iso_time(attrs.get("first_seen")),
        last_seen=v.iso_time(attrs.get("last_seen")),
        url=url,
    )


def parse_event(raw: Any, *, issue_id: str, issue_url: str) -> ErrorEvent:
    _, issue = issue_attributes(v.dig(raw, "issue"))
    events = v.items(v.dig(raw, "events"))
    event = v.obj(events[0]) if events else {}
    attrs = v.obj(event.get("attributes"))
    # Spans keep tags under `custom` (error.stack → custom.error.stack); logs under `attributes`.
    fields = v.obj(attrs.get("custom")) or v.obj(attrs.get("attributes"))
    error = v.obj(fields.get("error"))
    error_type = v.text(error.get("type") or error.get("kind")) or v.text(issue.get("error_type")) or ""
    message = v.text(error.get("message")) or v.text(issue.get("error_message")) or ""
    exceptions = parse_stack(v.text(error.get("stack"), 256_000) or "", error_type=_short_type(error_type),
                             message=message)
    if not any(e.frames for e in exceptions):
        exceptions = _from_issue_location(issue, error_type, message) or exceptions
    http = v.obj(fields.get("http"))
    tags = _tags(attrs.get("tags"))
    return ErrorEvent(
        id=v.text(event.get("id")) or issue_id,
        issue_id=issue_id,
        issue_url=issue_url,
        project=v.text(attrs.get("service")) or v.text(issue.get("service")),
        title=_title(issue) or (f"{error_type}: {message}" if error_type else message),
        culprit=v.text(attrs.get("resource_name")) or v.text(issue.get("function_name")),
        level="error",
        platform=(v.text(fields.get("language")) or _first(issue.get("languages")) or "").lower() or None,
        timestamp=v.iso_time(attrs.get("start_timestamp") or attrs.get("timestamp")),
        environment=v.text(attrs.get("env")) or tags.get("env"),
        release=v.text(v.dig(fields, "git", "commit", "sha")) or v.text(fields.get("version"))
        or tags.get("git.commit.sha") or tags.get("version"),
        exceptions=exceptions,
        tags=tags,
        request=RequestContext(url=v.text(http.get("url")), method=v.text(http.get("method"))) if http else None,
        message=None if exceptions else message or None,
        sdk=v.text(attrs.get("ingestion_reason")) and "datadog",
    )


def _title(attrs: dict[str, Any]) -> str:
    kind, message = v.text(attrs.get("error_type")) or "", v.text(attrs.get("error_message"), 500) or ""
    return f"{kind}: {message}" if kind and message else kind or message


def _short_type(error_type: str) -> str:
    return error_type.removeprefix("builtins.")  # dd-trace-py names Python builtins by module


def _from_issue_location(issue: dict[str, Any], error_type: str, message: str) -> list[ExceptionInfo]:
    """No stack in the sample: the issue still names the crash's file and function."""
    path, function = v.text(issue.get("file_path")), v.text(issue.get("function_name"))
    if not (path or function):
        return []
    frame = StackFrame(filename=path or "", function=function or "", in_app=True)
    return [ExceptionInfo(type=_short_type(error_type), value=message, frames=[frame])]


def _tags(raw: Any) -> dict[str, str]:
    """Datadog tags are `key:value` strings; a bare tag becomes `tag: ""`."""
    tags: dict[str, str] = {}
    for tag in v.items(raw)[:200]:
        if isinstance(tag, str):
            key, _, value = tag.partition(":")
            tags[key[:200]] = value[:500]
    return tags


def _first(raw: Any) -> str | None:
    listed = v.items(raw)
    return v.text(listed[0]) if listed else None
