"""Turn a Sentry event, in either of the two shapes Sentry hands out, into an ErrorEvent.

* API format: what `GET .../issues/{id}/events/latest/` returns. camelCase, interfaces live
  in `entries: [{type, data}]`, frames carry `context: [[lineno, line], ...]`, tags are
  `[{key, value}]` and `release` is an object.
* Stored/ingest format: what SDKs send and what webhooks embed (`data.event` of
  `event_alert`, `data.error` of `error`). snake_case top-level interfaces, frames carry
  `pre_context`/`context_line`/`post_context`, tags are `[[k, v]]`, `release` is a string.
  Old samples still use the legacy `sentry.interfaces.*` keys.

Event payloads are written by whoever can reach the DSN, so nothing here trusts a shape: any
piece may be missing, null or of the wrong type, and the worst outcome is an emptier event,
never an exception. Sentry's orders (frames oldest call first, chained exceptions innermost
cause first) are kept exactly as received because the agent and the frame mapper rely on them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from domain.event import Breadcrumb, ErrorEvent, ExceptionInfo, RequestContext, StackFrame
from domain.issue import Issue
from sources.values import integer

__all__ = ["is_api_format", "parse_event", "parse_webhook_event"]

# Keys only the API serializer produces; an SDK payload or stored event never has them.
_API_ONLY_KEYS = ("entries", "eventID", "groupID", "dateCreated", "dateReceived", "projectSlug")

# `web_url` in webhooks points at one event inside the issue; the issue page is its prefix.
_EVENT_IN_ISSUE_URL = re.compile(r"^(?P<issue>.*/issues/[^/]+/)events/[^/]+/?$")
_ISSUE_ID_IN_URL = re.compile(r"/issues/(?P<id>\d+)(?:/|$)")
# The stored event's `url` is `/api/0/projects/{org}/{project}/events/{id}/`: the only place a
# webhook names the project by slug (its `project` field is the numeric id).
_PROJECT_IN_EVENT_URL = re.compile(r"/api/0/projects/[^/]+/(?P<slug>[^/]+)/events/")

# One per format: the frame shapes differ, everything around them is shared.
FrameParser = Callable[[Mapping[str, Any]], StackFrame]


# ---------------------------------------------------------------------------- public API


def is_api_format(data: Mapping[str, Any]) -> bool:
    """True for the API serializer's shape, False for the stored/ingest shape."""
    return any(key in data for key in _API_ONLY_KEYS)


def parse_event(
    data: dict[str, Any],
    *,
    issue_id: str | None = None,
    issue_url: str | None = None,
    project: str | None = None,
) -> ErrorEvent:
    """Normalise one Sentry event (either format) into an ErrorEvent.

    The keyword arguments win over anything found in the payload: the caller usually knows
    the issue and project from the webhook or the API route better than the event does.
    """
    if not isinstance(data, Mapping):
        data = {}
    event = _parse_api_event(data) if is_api_format(data) else _parse_stored_event(data)
    event.issue_id = issue_id or event.issue_id
    event.issue_url = issue_url or event.issue_url
    event.project = project or event.project
    if event.issue_id is None and event.issue_url:
        event.issue_id = _issue_id_from_url(event.issue_url)
    return event


def parse_issue(raw: Mapping[str, Any]) -> Issue:
    """An issue (GroupSerializer JSON: the issue details and the issue list's entries)."""
    return Issue(
        id=_scalar_text(raw["id"]) if raw.get("id") is not None else "",
        short_id=_text(raw.get("shortId")),
        title=_text(raw.get("title")) or "",
        culprit=_text(raw.get("culprit")),
        project=_project_slug(raw.get("project")),
        status=_text(raw.get("status")),
        level=_text(raw.get("level")),
        count=_int(raw.get("count")),
        user_count=_int(raw.get("userCount")),
        first_seen=_text(raw.get("firstSeen")),
        last_seen=_text(raw.get("lastSeen")),
        url=_text(raw.get("permalink")),
    )


def parse_webhook_event(body: dict[str, Any]) -> ErrorEvent | None:
    """The event embedded in an `event_alert` (data.event) or `error` (data.error) webhook.

    Returns None for webhook resources that carry no event (issue, installation, ...), so the
    caller can route on the result instead of on the resource header alone.
    """
    data = _as_dict(body.get("data")) if isinstance(body, Mapping) else {}
    embedded = data.get("event")
    if not isinstance(embedded, Mapping):
        embedded = data.get("error")
    if not isinstance(embedded, Mapping):
        return None
    return parse_event(dict(embedded))


# ---------------------------------------------------------------------------- API format


def _parse_api_event(data: Mapping[str, Any]) -> ErrorEvent:
    entries = _entries_by_type(data.get("entries"))
    tags = _tags(data.get("tags"))
    exceptions = _exceptions(_as_dict(entries.get("exception")).get("values"), _api_frame)
    thread_frames = _thread_frames(entries.get("threads"), _api_frame)
    if not thread_frames:
        thread_frames = _frames(_as_dict(entries.get("stacktrace")).get("frames"), _api_frame)
    message = _message(entries.get("message"))
    if message is None and "exception" not in entries:
        # With an exception, the top-level `message` is Sentry's search text (type, value,
        # filename and url run together), not something anyone logged.
        message = _message(data.get("message"))
    return ErrorEvent(
        id=_text(data.get("eventID")) or _text(data.get("id")) or "",
        issue_id=_text(data.get("groupID")),
        issue_url=_issue_url(data),
        project=_project_slug(data.get("projectSlug")) or _project_slug(data.get("project")),
        title=_text(data.get("title")) or _derived_title(exceptions, message),
        culprit=_text(data.get("culprit")),
        level=_text(data.get("level")) or tags.get("level"),
        platform=_text(data.get("platform")),
        timestamp=_iso_timestamp(data.get("dateCreated")),
        environment=_text(data.get("environment")) or tags.get("environment"),
        release=_release(data.get("release")) or _release_from_tags(tags),
        exceptions=exceptions,
        thread_frames=thread_frames,
        breadcrumbs=_breadcrumbs(entries.get("breadcrumbs")),
        tags=tags,
        contexts=_contexts(data.get("contexts")),
        request=_request(entries.get("request")),
        message=message,
        sdk=_sdk(data.get("sdk")),
    )


def _entries_by_type(raw: Any) -> dict[str, Any]:
    """`entries` as {type: data}. Unknown types are kept but never read, so they are ignored."""
    entries: dict[str, Any] = {}
    for entry in _as_list(raw):
        if isinstance(entry, Mapping) and isinstance(entry.get("type"), str):
            entries.setdefault(entry["type"], entry.get("data"))
    return entries


def _api_frame(raw: Mapping[str, Any]) -> StackFrame:
    line_no = _int(raw.get("lineNo"))
    pre, line, post = _split_api_context(raw.get("context"), line_no)
    return StackFrame(
        filename=_text(raw.get("filename")) or "",
        abs_path=_text(raw.get("absPath")),
        module=_text(raw.get("module")),
        package=_text(raw.get("package")),
        function=_text(raw.get("function")) or "",
        line_no=line_no,
        col_no=_int(raw.get("colNo")),
        pre_context=pre,
        context_line=line,
        post_context=post,
        in_app=_bool(raw.get("inApp")),
        vars=_as_dict(raw.get("vars")),
    )


def _split_api_context(raw: Any, line_no: int | None) -> tuple[list[str], str | None, list[str]]:
    """`[[lineno, text], ...]` → (lines before, the frame's line, lines after)."""
    if line_no is None:
        # Without the frame's line number nobody can say which line crashed; guessing would
        # point the agent at the wrong line, so the context is dropped.
        return [], None, []
    pre: list[str] = []
    post: list[str] = []
    line: str | None = None
    for pair in _as_list(raw):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            continue
        number, text = _int(pair[0]), _source_line(pair[1])
        if number is None:
            continue
        if number < line_no:
            pre.append(text)
        elif number == line_no:
            line = text
        else:
            post.append(text)
    return pre, line, post


# ---------------------------------------------------------------------------- stored format


def _parse_stored_event(data: Mapping[str, Any]) -> ErrorEvent:
    tags = _tags(data.get("tags"))
    exceptions = _exceptions(_exception_values(data), _stored_frame)
    top_frames = _frames(
        _as_dict(_interface(data, "stacktrace", "sentry.interfaces.Stacktrace")).get("frames"),
        _stored_frame,
    )
    thread_frames = _thread_frames(_interface(data, "threads", "sentry.interfaces.Threads"), _stored_frame)
    if top_frames:
        # Old SDKs sent one exception plus a top-level stacktrace; Sentry merges them on
        # ingest, and so do we. Without an exception it is a message event's stack.
        if len(exceptions) == 1 and not exceptions[0].frames:
            exceptions[0].frames = top_frames
        elif not thread_frames:
            thread_frames = top_frames
    message = _message(data.get("logentry")) or _message(
        _interface(data, "message", "sentry.interfaces.Message")
    )
    return ErrorEvent(
        id=_text(data.get("event_id")) or _text(data.get("id")) or "",
        issue_id=_text(data.get("issue_id")) or _text(data.get("group_id")) or _issue_id_from_links(data),
        issue_url=_issue_url(data),
        project=_project_slug(data.get("project")) or _project_from_event_url(data.get("url")),
        title=_text(data.get("title")) or _derived_title(exceptions, message),
        culprit=_text(data.get("culprit")) or _text(data.get("transaction")),
        level=_text(data.get("level")) or tags.get("level"),
        platform=_text(data.get("platform")),
        timestamp=_iso_timestamp(data.get("timestamp")) or _iso_timestamp(data.get("datetime")),
        environment=_text(data.get("environment")) or tags.get("environment"),
        release=_release(data.get("release")) or _release_from_tags(tags),
        exceptions=exceptions,
        thread_frames=thread_frames,
        breadcrumbs=_breadcrumbs(_interface(data, "breadcrumbs", "sentry.interfaces.Breadcrumbs")),
        tags=tags,
        contexts=_contexts(data.get("contexts")),
        request=_request(_interface(data, "request", "sentry.interfaces.Http")),
        message=message,
        sdk=_sdk(data.get("sdk")),
    )


def _interface(data: Mapping[str, Any], key: str, legacy_key: str) -> Any:
    value = data.get(key)
    return value if value is not None else data.get(legacy_key)


def _exception_values(data: Mapping[str, Any]) -> list[Any]:
    """`exception` as {values: [...]}, a bare list, or a single legacy exception object."""
    raw = _interface(data, "exception", "sentry.interfaces.Exception")
    if isinstance(raw, list):
        return raw
    if isinstance(raw, Mapping):
        if "values" in raw:
            return _as_list(raw.get("values"))
        if "type" in raw or "value" in raw:
            return [raw]
    return []


def _stored_frame(raw: Mapping[str, Any]) -> StackFrame:
    context_line = raw.get("context_line")
    return StackFrame(
        filename=_text(raw.get("filename")) or "",
        abs_path=_text(raw.get("abs_path")),
        module=_text(raw.get("module")),
        package=_text(raw.get("package")),
        function=_text(raw.get("function")) or "",
        line_no=_int(raw.get("lineno")),
        col_no=_int(raw.get("colno")),
        pre_context=_source_lines(raw.get("pre_context")),
        context_line=_source_line(context_line) if context_line is not None else None,
        post_context=_source_lines(raw.get("post_context")),
        in_app=_bool(raw.get("in_app")),
        vars=_as_dict(raw.get("vars")),
    )


# ---------------------------------------------------------------------------- shared pieces


def _exceptions(values: Any, frame_parser: FrameParser) -> list[ExceptionInfo]:
    return [_exception(raw, frame_parser) for raw in _as_list(values) if isinstance(raw, Mapping)]


def _exception(raw: Mapping[str, Any], frame_parser: FrameParser) -> ExceptionInfo:
    mechanism = raw.get("mechanism")
    mechanism_type: str | None = None
    handled: bool | None = None
    if isinstance(mechanism, Mapping):
        mechanism_type = _text(mechanism.get("type"))
        handled = _bool(mechanism.get("handled"))
    elif isinstance(mechanism, str):
        mechanism_type = mechanism or None
    # `raw_stacktrace` (minified, pre-sourcemap frames) is deliberately not a fallback: it
    # names bundle files the repository does not contain.
    return ExceptionInfo(
        type=_text(raw.get("type")) or "",
        value=_text(raw.get("value")) or "",
        module=_text(raw.get("module")),
        mechanism=mechanism_type,
        handled=handled,
        frames=_frames(_as_dict(raw.get("stacktrace")).get("frames"), frame_parser),
    )


def _frames(raw: Any, frame_parser: FrameParser) -> list[StackFrame]:
    return [frame_parser(frame) for frame in _as_list(raw) if isinstance(frame, Mapping)]


def _thread_frames(raw: Any, frame_parser: FrameParser) -> list[StackFrame]:
    """Frames of the thread that crashed, else the current one, else the first with a stack."""
    values = raw.get("values") if isinstance(raw, Mapping) else raw
    stacks: list[tuple[Mapping[str, Any], list[StackFrame]]] = []
    for thread in _as_list(values):
        if isinstance(thread, Mapping):
            frames = _frames(_as_dict(thread.get("stacktrace")).get("frames"), frame_parser)
            if frames:
                stacks.append((thread, frames))
    for flag in ("crashed", "current"):
        for thread, frames in stacks:
            if thread.get(flag) is True:
                return frames
    return stacks[0][1] if stacks else []


def _breadcrumbs(raw: Any) -> list[Breadcrumb]:
    values = raw.get("values") if isinstance(raw, Mapping) else raw
    return [_breadcrumb(crumb) for crumb in _as_list(values) if isinstance(crumb, Mapping)]


def _breadcrumb(raw: Mapping[str, Any]) -> Breadcrumb:
    return Breadcrumb(
        timestamp=_iso_timestamp(raw.get("timestamp")),
        type=_text(raw.get("type")),
        category=_text(raw.get("category")),
        level=_text(raw.get("level")),
        message=_text(raw.get("message")),
        data=_as_dict(raw.get("data")),
    )


def _request(raw: Any) -> RequestContext | None:
    if not isinstance(raw, Mapping) or not raw:
        return None
    # The API serializer calls it `query` (pairs); the stored event calls it `query_string`
    # (a string, or pairs once Sentry has normalised it).
    query = raw.get("query_string") if raw.get("query_string") is not None else raw.get("query")
    return RequestContext(
        url=_text(raw.get("url")),
        method=_text(raw.get("method")),
        query_string=_query_string(query),
        headers=_string_map(raw.get("headers")),
        data=raw.get("data"),
        env=_string_map(raw.get("env")),
    )


def _query_string(raw: Any) -> str | None:
    if isinstance(raw, str):
        return raw or None
    pairs = _pairs(raw)
    return urlencode(pairs) if pairs else None


def _tags(raw: Any) -> dict[str, str]:
    """Tags from `[[k, v]]`, `[{key, value}]` or a plain dict; a null value means no tag."""
    return _string_map(raw)


def _string_map(raw: Any) -> dict[str, str]:
    return {key: value for key, value in _pairs(raw)}


def _pairs(raw: Any) -> list[tuple[str, str]]:
    """Key/value pairs from a dict, `[[k, v], ...]` or `[{key, value}, ...]`, stringified."""
    items: list[tuple[Any, Any]] = []
    if isinstance(raw, Mapping):
        items = list(raw.items())
    else:
        for item in _as_list(raw):
            if isinstance(item, (list, tuple)) and len(item) == 2:
                items.append((item[0], item[1]))
            elif isinstance(item, Mapping) and "key" in item:
                items.append((item.get("key"), item.get("value")))
    return [(str(key), _scalar_text(value)) for key, value in items if key is not None and value is not None]


def _contexts(raw: Any) -> dict[str, dict[str, Any]]:
    return {str(name): dict(ctx) for name, ctx in _as_dict(raw).items() if isinstance(ctx, Mapping)}


def _message(raw: Any) -> str | None:
    """A `logentry`/`message` interface or message entry: prefer the formatted text."""
    if isinstance(raw, Mapping):
        return _text(raw.get("formatted")) or _text(raw.get("message"))
    return _text(raw)


def _derived_title(exceptions: list[ExceptionInfo], message: str | None) -> str:
    """Sentry's own title rule, for SDK payloads that arrive without one."""
    if exceptions:
        exc = exceptions[-1]
        if exc.type and exc.value:
            return f"{exc.type}: {exc.value}"
        return exc.type or exc.value
    return message or ""


def _release(raw: Any) -> str | None:
    if isinstance(raw, Mapping):
        return _text(raw.get("version")) or _text(raw.get("shortVersion"))
    return _text(raw)


def _release_from_tags(tags: Mapping[str, str]) -> str | None:
    return tags.get("release") or tags.get("sentry:release") or None


def _sdk(raw: Any) -> str | None:
    if isinstance(raw, Mapping):
        name, version = _text(raw.get("name")), _text(raw.get("version"))
        if name and version:
            return f"{name}/{version}"
        return name
    return _text(raw)


def _issue_url(data: Mapping[str, Any]) -> str | None:
    web_url = _text(data.get("web_url"))
    if web_url:
        match = _EVENT_IN_ISSUE_URL.match(web_url)
        return match.group("issue") if match else web_url
    issue_url = _text(data.get("issue_url"))
    # Webhooks' `issue_url` is the REST resource (`/api/0/issues/{id}/`): useless to a human
    # reading the pull request, so it only feeds the issue id.
    if issue_url and "/api/0/" not in issue_url:
        return issue_url
    return None


def _issue_id_from_links(data: Mapping[str, Any]) -> str | None:
    """Webhook events always link their issue, even when `issue_id` itself is missing."""
    for key in ("issue_url", "web_url"):
        url = _text(data.get(key))
        issue_id = _issue_id_from_url(url) if url else None
        if issue_id:
            return issue_id
    return None


def _issue_id_from_url(url: str) -> str | None:
    match = _ISSUE_ID_IN_URL.search(url)
    return match.group("id") if match else None


def _project_slug(raw: Any) -> str | None:
    """A project slug; numeric ids (`project: 1` in stored events) are not slugs."""
    if isinstance(raw, str) and raw and not raw.isdigit():
        return raw
    if isinstance(raw, Mapping):
        return _project_slug(raw.get("slug"))
    return None


def _project_from_event_url(raw: Any) -> str | None:
    match = _PROJECT_IN_EVENT_URL.search(raw) if isinstance(raw, str) else None
    return match.group("slug") if match else None


# ---------------------------------------------------------------------------- scalars


def _iso_timestamp(raw: Any) -> str | None:
    """Epoch seconds (float, int or numeric string) become ISO 8601 UTC; ISO strings pass."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, str):
        raw = raw.strip()
        try:
            raw = float(raw)
        except ValueError:
            return raw or None
    if isinstance(raw, (int, float)):
        try:
            return datetime.fromtimestamp(raw, tz=UTC).isoformat()
        except (OverflowError, OSError, ValueError):
            return None
    return None


def _source_lines(raw: Any) -> list[str]:
    # A null line stays as an empty one so the lines keep their distance to the frame's line.
    return [_source_line(line) for line in _as_list(raw)]


def _source_line(raw: Any) -> str:
    # Ruby (and some other) SDKs keep each line's newline; a line is a line without it.
    return _scalar_text(raw).rstrip("\r\n") if raw is not None else ""


def _text(raw: Any) -> str | None:
    """A non-empty string, or None. Scalars of other types are stringified."""
    if raw is None or isinstance(raw, (Mapping, list, tuple)):
        return None
    text = _scalar_text(raw)
    return text if text != "" else None


def _scalar_text(raw: Any) -> str:
    if isinstance(raw, str):
        return raw
    if isinstance(raw, bool):
        return "true" if raw else "false"
    return str(raw)


_int = integer  # the one reading of an untrusted integer (sources/values.py)


def _bool(raw: Any) -> bool | None:
    if isinstance(raw, bool):
        return raw
    # Old SDKs and `orig_in_app` use 0/1.
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    return None


def _as_dict(raw: Any) -> dict[str, Any]:
    return dict(raw) if isinstance(raw, Mapping) else {}


def _as_list(raw: Any) -> list[Any]:
    return list(raw) if isinstance(raw, (list, tuple)) else []
