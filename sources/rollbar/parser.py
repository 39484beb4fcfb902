"""Rollbar items and occurrences as Issue and ErrorEvent.

An occurrence's `body` holds one of `trace` (frames + exception), `trace_chain` (chained
exceptions, the outermost first), `message` or `crash_report` (a raw text trace). Frames come
most recent call last, as ErrorEvent wants them. The release is `code_version` (top level, or
`server.code_version`, or the browser client's), which deploy tooling usually sets to the commit.
Webhooks embed the occurrence bare; the API wraps it as an "instance" `{id, item_id, data}`.
"""

from __future__ import annotations

from typing import Any

from domain.event import ErrorEvent, ExceptionInfo, RequestContext, StackFrame
from domain.issue import Issue
from sources import values as v
from sources.stacktext import is_library_path, parse_stack

LEVELS = {10: "debug", 20: "info", 30: "warning", 40: "error", 50: "critical"}  # items carry numbers
_ITEM_STATUS = {1: "active", 2: "resolved", 3: "muted", 4: "archived"}
MAX_FRAMES = 400


def parse_issue(raw: Any, *, project: str | None, url: str | None) -> Issue:
    item = v.obj(raw)
    counter = v.integer(item.get("counter"))
    return Issue(
        id=v.text(item.get("id")) or "",
        short_id=f"#{counter}" if counter is not None else None,
        title=v.text(item.get("title"), 500) or "",
        project=project or v.text(item.get("project_id")),
        status=_status(item.get("status")),
        level=level(item.get("level")),
        count=v.integer(item.get("total_occurrences")),
        user_count=v.integer(item.get("unique_occurrences")),
        first_seen=v.iso_time(item.get("first_occurrence_timestamp")),
        last_seen=v.iso_time(item.get("last_occurrence_timestamp")),
        url=url,
    )


def occurrence_data(raw: Any) -> dict[str, Any]:
    """The occurrence itself, whether it came bare (webhooks) or as an API instance."""
    raw = v.obj(raw)
    data = v.obj(raw.get("data"))
    return data if "body" in data else raw


def parse_event(raw: Any, *, issue_id: str, issue_url: str, project: str | None) -> ErrorEvent:
    item = v.obj(v.dig(raw, "item"))
    instance = v.obj(v.dig(raw, "occurrence"))
    data = occurrence_data(instance)
    body = v.obj(data.get("body"))
    exceptions = _exceptions(body)
    message = v.text(v.dig(body, "message", "body"), 5000)
    server = v.obj(data.get("server"))
    tags = {k: t for k, raw_value in (("host", server.get("host")), ("branch", server.get("branch")),
                                      ("framework", data.get("framework")), ("language", data.get("language")))
            if (t := v.text(raw_value, 200))}
    contexts: dict[str, dict[str, Any]] = {}
    person = v.obj(data.get("person"))
    if person:  # who hit it; the e-mail address stays in Rollbar
        contexts["person"] = {k: t for k in ("id", "username") if (t := v.text(person.get(k), 200))}
    if custom := v.obj(data.get("custom")):
        contexts["custom"] = custom
    outer = exceptions[-1] if exceptions else None
    title = v.text(data.get("title"), 500) or v.text(item.get("title"), 500) or (
        f"{outer.type}: {outer.value}" if outer and outer.type else (message or ""))
    return ErrorEvent(
        id=v.text(data.get("uuid")) or v.text(instance.get("id")) or issue_id,
        issue_id=issue_id,
        issue_url=issue_url,
        project=project,
        title=title[:500],
        level=level(data.get("level")) or level(item.get("level")),
        platform=(v.text(data.get("language")) or v.text(data.get("platform")) or "").split(" ")[0] or None,
        timestamp=v.iso_time(data.get("timestamp")),
        environment=v.text(data.get("environment"), 200) or v.text(item.get("environment"), 200),
        release=v.text(data.get("code_version"), 200) or v.text(server.get("code_version"), 200)
        or v.text(v.dig(data, "client", "javascript", "code_version"), 200),
        exceptions=exceptions,
        tags=tags,
        contexts=contexts,
        request=_request(data.get("request")),
        message=message if not exceptions else None,
        sdk=_sdk(data.get("notifier")),
    )


def level(raw: Any) -> str | None:
    number = v.integer(raw)
    if number is not None:
        return LEVELS.get(number)
    return v.text(raw, 20)


def _status(raw: Any) -> str | None:
    number = v.integer(raw)
    return _ITEM_STATUS.get(number) if number is not None else v.text(raw, 20)


def _exceptions(body: dict[str, Any]) -> list[ExceptionInfo]:
    if "trace_chain" in body:  # the outermost exception first; ours is innermost first
        return [_trace(t) for t in reversed(v.items(body.get("trace_chain"))[:20]) if isinstance(t, dict)]
    if isinstance(body.get("trace"), dict):
        return [_trace(body["trace"])]
    raw = v.text(v.dig(body, "crash_report", "raw"), 256_000)
    return parse_stack(raw) if raw else []


def _trace(trace: dict[str, Any]) -> ExceptionInfo:
    exc = v.obj(trace.get("exception"))
    return ExceptionInfo(
        type=v.text(exc.get("class"), 300) or "",
        value=v.text(exc.get("message"), 5000) or v.text(exc.get("description"), 5000) or "",
        frames=[_frame(f) for f in v.items(trace.get("frames"))[-MAX_FRAMES:] if isinstance(f, dict)],
    )


def _frame(raw: dict[str, Any]) -> StackFrame:
    filename = v.text(raw.get("filename"), 1000) or ""
    context = v.obj(raw.get("context"))
    return StackFrame(
        filename=filename,
        abs_path=filename if filename.startswith("/") else None,
        function=v.text(raw.get("method"), 500) or "",
        line_no=v.integer(raw.get("lineno")),
        col_no=v.integer(raw.get("colno")),
        context_line=v.text(raw.get("code"), 1000),
        pre_context=[t for line in v.items(context.get("pre"))[-10:] if (t := v.text(line, 1000)) is not None],
        post_context=[t for line in v.items(context.get("post"))[:10] if (t := v.text(line, 1000)) is not None],
        in_app=not is_library_path(filename) if filename else None,
    )


def _request(raw: Any) -> RequestContext | None:
    request = v.obj(raw)
    if not request:
        return None
    query = v.text(request.get("query_string"), 4000)
    return RequestContext(url=v.text(request.get("url"), 2000), method=v.text(request.get("method"), 20),
                          query_string=query, headers=v.string_map(request.get("headers")),
                          data=request.get("body") if isinstance(request.get("body"), str) else None)


def _sdk(raw: Any) -> str | None:
    notifier = v.obj(raw)
    name, version = v.text(notifier.get("name"), 100), v.text(notifier.get("version"), 50)
    return f"{name}/{version}" if name and version else name
