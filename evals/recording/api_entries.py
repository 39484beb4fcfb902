"""The API event's `entries`: the interfaces of an ingest event (message, exception, stacktrace,
threads, breadcrumbs, request) in the shape and order Sentry's EventSerializer gives them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from evals.recording.ingest_fields import as_mapping, iso, message_text, pair_items, to_datetime

# Interface display order of Sentry's EventSerializer (higher display_score first).
ENTRY_ORDER = ("message", "exception", "stacktrace", "threads", "breadcrumbs", "request")


def entries(event: Mapping[str, Any], values: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`[{"type": <interface>, "data": ...}, ...]` for the interfaces the event has;
    `values` is its exception chain."""
    found: dict[str, Any] = {}
    message = message_text(event)
    if isinstance(message, str) and message:
        logentry = as_mapping(event.get("logentry"))
        found["message"] = {
            "formatted": message,
            "message": logentry.get("message") if logentry.get("message") != message else None,
            "params": logentry.get("params") or None,
        }
    if values:
        api_values = [_api_exception(v) for v in values]
        found["exception"] = {
            "values": api_values,
            "hasSystemFrames": any((v["stacktrace"] or {}).get("hasSystemFrames") for v in api_values),
            "excOmitted": None,
        }
    stack = event.get("stacktrace", event.get("sentry.interfaces.Stacktrace"))
    if isinstance(stack, Mapping):
        found["stacktrace"] = _api_stacktrace(stack)
    threads = event.get("threads")
    if isinstance(threads, Mapping):
        threads = threads.get("values")
    if isinstance(threads, list) and threads:
        found["threads"] = {"values": [_api_thread(t) for t in threads if isinstance(t, Mapping)]}
    crumbs = event.get("breadcrumbs", event.get("sentry.interfaces.Breadcrumbs"))
    crumbs = crumbs.get("values") if isinstance(crumbs, Mapping) else crumbs
    if isinstance(crumbs, list) and crumbs:
        found["breadcrumbs"] = {"values": [_api_breadcrumb(c) for c in crumbs if isinstance(c, Mapping)]}
    request = event.get("request", event.get("sentry.interfaces.Http"))
    if isinstance(request, Mapping) and request:
        found["request"] = _api_request(request)
    return [{"type": kind, "data": found[kind]} for kind in ENTRY_ORDER if kind in found]


def _api_exception(value: Mapping[str, Any]) -> dict[str, Any]:
    stack = value.get("stacktrace")
    return {
        "type": value.get("type"),
        "value": value.get("value"),
        "mechanism": dict(value["mechanism"]) if isinstance(value.get("mechanism"), Mapping) else None,
        "threadId": value.get("thread_id"),
        "module": value.get("module"),
        "stacktrace": _api_stacktrace(stack) if isinstance(stack, Mapping) else None,
        "rawStacktrace": None,
    }


def _api_stacktrace(stack: Mapping[str, Any]) -> dict[str, Any]:
    frames = [f for f in stack.get("frames") or [] if isinstance(f, Mapping)]
    in_app = {f.get("in_app") is True for f in frames}
    return {
        "frames": [_api_frame(f) for f in frames],
        "framesOmitted": stack.get("frames_omitted"),
        "registers": stack.get("registers"),
        # Sentry's rule: the "full/app-only" toggle is offered when app and system frames mix.
        "hasSystemFrames": in_app == {True, False},
    }


def _api_frame(frame: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "filename": frame.get("filename"),
        "absPath": frame.get("abs_path") or frame.get("filename"),
        "module": frame.get("module"),
        "package": frame.get("package"),
        "platform": frame.get("platform"),
        "instructionAddr": frame.get("instruction_addr"),
        "symbolAddr": frame.get("symbol_addr"),
        "function": frame.get("function"),
        "rawFunction": frame.get("raw_function"),
        "symbol": frame.get("symbol"),
        "context": context_pairs(frame),
        "lineNo": frame.get("lineno"),
        "colNo": frame.get("colno"),
        "inApp": frame.get("in_app"),
        "trust": frame.get("trust"),
        "errors": None,
        "lock": None,
        "sourceLink": None,
        "vars": frame.get("vars"),
    }


def context_pairs(frame: Mapping[str, Any]) -> list[list[Any]]:
    """Sentry's get_context: pre_context, the frame's line, post_context, numbered from lineno."""
    lineno = frame.get("lineno")
    line = frame.get("context_line")
    pre = list(frame.get("pre_context") or [])
    post = list(frame.get("post_context") or [])
    if not isinstance(lineno, int) or (line is None and not (pre or post)):
        return []
    start = lineno - len(pre)
    lines = [*pre, line, *post]
    return [[start + i, text if text is not None else ""] for i, text in enumerate(lines)]


def _api_thread(thread: Mapping[str, Any]) -> dict[str, Any]:
    stack = thread.get("stacktrace")
    return {
        "id": thread.get("id"),
        "name": thread.get("name"),
        "crashed": thread.get("crashed"),
        "current": thread.get("current"),
        "stacktrace": _api_stacktrace(stack) if isinstance(stack, Mapping) else None,
        "rawStacktrace": None,
    }


def _api_breadcrumb(crumb: Mapping[str, Any]) -> dict[str, Any]:
    when = to_datetime(crumb.get("timestamp"))
    return {
        "timestamp": iso(when, micro=True) if when else None,
        "type": crumb.get("type") or crumb.get("ty") or "default",
        "category": crumb.get("category"),
        "level": crumb.get("level") or "info",
        "message": crumb.get("message"),
        "data": dict(crumb["data"]) if isinstance(crumb.get("data"), Mapping) and crumb["data"] else None,
        "event_id": crumb.get("event_id"),
    }


def _api_request(request: Mapping[str, Any]) -> dict[str, Any]:
    url = str(request.get("url") or "")
    parts = urlsplit(url)
    query = request.get("query_string")
    if query is None or query == "":
        query = parts.query
    pairs = _pairs(query, lambda text: text.lstrip("?"))
    headers = _header_pairs(request.get("headers"))
    cookies_raw = request.get("cookies")
    cookie_header = next((v for k, v in headers if k == "Cookie"), None)
    # Sentry moves a Cookie header into `cookies`.
    headers = [[k, v] for k, v in headers if k != "Cookie"]
    if cookies_raw is None and cookie_header:
        cookies_raw = cookie_header
    cookies = _pairs(cookies_raw, lambda text: text.replace("; ", "&").replace(";", "&"))
    content_type = next((v for k, v in headers if k == "Content-Type"), None)
    return {
        "apiTarget": request.get("api_target"),
        "method": str(request["method"]).upper() if request.get("method") else None,
        "url": urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")) if url else None,
        "query": pairs,
        "fragment": request.get("fragment") or (parts.fragment or None),
        "data": request.get("data"),
        "headers": headers,
        "cookies": cookies,
        "env": dict(request["env"]) if isinstance(request.get("env"), Mapping) else None,
        "inferredContentType": content_type.split(";")[0].strip() if content_type else None,
    }


def _pairs(raw: Any, as_query_string: Callable[[str], str]) -> list[list[Any]]:
    """`[[key, value], ...]` from a query or cookie string (made a query string by
    `as_query_string`), a mapping (values as strings) or a list of pairs (values as sent)."""
    if isinstance(raw, str):
        return [[k, v] for k, v in parse_qsl(as_query_string(raw), keep_blank_values=True)]
    if isinstance(raw, Mapping):
        return [[str(k), str(v)] for k, v in raw.items()]
    return [[k, v] for k, v in pair_items(raw)]


def _header_pairs(raw: Any) -> list[list[str]]:
    items: list[tuple[Any, Any]] = []
    if isinstance(raw, Mapping):
        items = list(raw.items())
    elif isinstance(raw, list):
        items = pair_items(raw)
    # Sentry stores header names Title-Cased and the pairs sorted by name.
    pairs = [["-".join(w.capitalize() for w in str(k).split("-")), "" if v is None else str(v)] for k, v in items]
    return sorted(pairs, key=lambda p: p[0])
