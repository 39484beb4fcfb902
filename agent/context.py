"""The first user message: the error event, rendered in the seed's order (section 7).

1. error type and message, 2. in-app frames (mapped to repository paths), 3. breadcrumbs,
4. the source around the crash line, read from the worktree, 5. request and tags.

Everything here is attacker-influenced text, so it is redacted, every piece is bounded (a
huge message or request body must not crowd out the code), and the template's own event-data
markers are neutralised inside it so the data cannot pretend the untrusted part has ended.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from string import Template
from typing import Any

import prompts
from domain import Breadcrumb, ErrorEvent, RequestContext, StackFrame
from domain.redact import redact, redact_obj
from tools.base import ToolError
from tools.mapping import FrameMapper
from tools.paths import read_text, resolve_in_worktree, split_lines

TASK_TEMPLATE = "task.md"
MAX_FRAMES = 30
MAX_BREADCRUMBS = 15
WHOLE_FILE_LINES = 200  # a file this short is shown whole: the seed asks for the full source
SOURCE_WINDOW = 40  # otherwise this many lines either side of the crash line
MAX_SOURCE_CHARS = 16_000
MAX_MESSAGE_CHARS = 2_000
MAX_VALUE_CHARS = 300
MAX_VARS = 25
MAX_REQUEST_DATA_CHARS = 2_000
_MARKER_RE = re.compile(r"(?:BEGIN|END)\s+EVENT\s+DATA", re.IGNORECASE)


def render_task(
    event: ErrorEvent,
    worktree: Path | None = None,
    *,
    mapper: FrameMapper | None = None,
    source_root: str = "",
    secrets: Iterable[str] = (),
    template_dir: Path | None = None,
) -> str:
    """The first user message for `event`, with source read from `worktree` when given."""
    secrets = list(secrets)
    clean: ErrorEvent = redact_obj(event, secrets)
    if mapper is None and worktree is not None:
        mapper = FrameMapper(worktree, source_root)
    frames = _app_frames(clean, mapper)
    values = {
        "error": _error_section(clean),
        "frames": _frames_section(frames, clean),
        "breadcrumb_count": str(MAX_BREADCRUMBS),
        "breadcrumbs": _breadcrumbs_section(clean.breadcrumbs),
        "source": _source_section(frames, worktree),
        "request": _request_section(clean.request),
        "tags": _tags_section(clean.tags),
    }
    values = {k: _neutralise_markers(v) for k, v in values.items()}
    text = Template(prompts.load(TASK_TEMPLATE, template_dir)).substitute(values)
    return redact(text, secrets)


# --- frames ------------------------------------------------------------------------------------


class _Frame:
    def __init__(self, frame: StackFrame, path: str | None) -> None:
        self.frame = frame
        self.path = path  # repository path when mapped

    @property
    def where(self) -> str:
        name = self.path or self.frame.filename or self.frame.abs_path or self.frame.module or "?"
        return f"{name}:{self.frame.line_no}" if self.frame.line_no is not None else name


def _app_frames(event: ErrorEvent, mapper: FrameMapper | None) -> list[_Frame]:
    """In-app frames, oldest first; with a mapper the repository decides what is in-app."""
    out: list[_Frame] = []
    for frame in event.stack_trace:
        if mapper is not None:
            mapping = mapper.map(frame)
            if mapping.in_repo:
                out.append(_Frame(frame, mapping.path))
            elif frame.in_app and mapping.status != "library":
                out.append(_Frame(frame, None))  # in-app but unmapped: still the app's code
        elif frame.in_app:
            out.append(_Frame(frame, None))
    return out[-MAX_FRAMES:]


def _frames_section(frames: list[_Frame], event: ErrorEvent) -> str:
    if not frames:
        if not event.stack_trace:
            return "(the event has no stack trace)"
        # No in-app frame: show the innermost library frames rather than nothing.
        tail = [_Frame(f, None) for f in event.stack_trace[-10:]]
        return "(no in-app frames; the last library frames follow)\n" + _format_frames(tail)
    return _format_frames(frames)


def _format_frames(frames: list[_Frame]) -> str:
    lines: list[str] = []
    for i, f in enumerate(frames, 1):
        crash = "  <- crash" if i == len(frames) else ""
        unmapped = "" if f.path or not f.frame.in_app else " (not found in the repository)"
        lines.append(f"{i}. {f.where} in {f.frame.function or '?'}{unmapped}{crash}")
        if f.frame.context_line is not None:
            lines.append(f"       {_clip(f.frame.context_line.strip(), MAX_VALUE_CHARS)}")
        if crash and f.frame.vars:  # what the data was at the crash is often the whole story
            lines.append("     local variables at the crash:")
            lines += [f"       {name} = {_clip(_json(value), MAX_VALUE_CHARS)}"
                      for name, value in list(f.frame.vars.items())[:MAX_VARS]]
    return "\n".join(lines)


# --- source ------------------------------------------------------------------------------------


def _source_section(frames: list[_Frame], worktree: Path | None) -> str:
    crash = next((f for f in reversed(frames) if f.path), None)
    if crash is not None and worktree is not None:
        shown = _read_around(worktree, crash.path or "", crash.frame.line_no)
        if shown is not None:
            return shown
    if frames:  # fall back to the context lines the SDK captured
        return _event_context(frames[-1])
    return "(not available)"


def _read_around(worktree: Path, path: str, line_no: int | None) -> str | None:
    try:
        lines = split_lines(read_text(resolve_in_worktree(worktree, path), path))
    except ToolError:
        return None
    if len(lines) <= WHOLE_FILE_LINES or line_no is None:
        start, end = 1, min(len(lines), WHOLE_FILE_LINES * 2)
    else:
        start, end = max(1, line_no - SOURCE_WINDOW), min(len(lines), line_no + SOURCE_WINDOW)
    width = len(str(end))
    body = "\n".join(
        f"{'>' if n == line_no else ' '}{n:>{width}} | {lines[n - 1]}" for n in range(start, end + 1)
    )
    extent = "whole file" if (start, end) == (1, len(lines)) else f"lines {start}-{end} of {len(lines)}"
    return f"{path} ({extent}; '>' marks line {line_no}):\n```\n{_clip(body, MAX_SOURCE_CHARS)}\n```"


def _event_context(f: _Frame) -> str:
    frame = f.frame
    if frame.context_line is None:
        return "(not available)"
    first = (frame.line_no or 0) - len(frame.pre_context)
    rows = [*frame.pre_context, frame.context_line, *frame.post_context]
    body = "\n".join(
        f"{'>' if first + i == frame.line_no else ' '}{first + i:>5} | {row}" for i, row in enumerate(rows)
    )
    return f"{f.where} (context captured by the SDK; the file was not read from the repository):\n```\n{body}\n```"


# --- error, breadcrumbs, request, tags ---------------------------------------------------------


def _error_section(event: ErrorEvent) -> str:
    lines = [f"{event.error_type or '(unknown type)'}: {_clip(event.error_message, MAX_MESSAGE_CHARS)}"]
    # Sentry lists chained exceptions innermost cause first; the primary one is last.
    for cause in reversed(event.exceptions[:-1]):
        lines.append(f"Caused by / during handling of: {cause.type}: {_clip(cause.value, MAX_MESSAGE_CHARS)}")
    facts = {
        "title": event.title if event.title != lines[0] else None,
        "culprit": event.culprit,
        "platform": event.platform,
        "level": event.level,
        "environment": event.environment,
        "release": event.release,
        "handled": _handled(event),
        "issue": event.issue_url,
    }
    lines += [f"{k}: {_clip(str(v), MAX_VALUE_CHARS)}" for k, v in facts.items() if v not in (None, "")]
    return "\n".join(lines)


def _handled(event: ErrorEvent) -> str | None:
    exc = event.primary_exception
    if exc is None or exc.handled is None:
        return None
    return "yes" if exc.handled else "no (crashed the request/process)"


def _breadcrumbs_section(crumbs: list[Breadcrumb]) -> str:
    if not crumbs:
        return "(none)"
    return "\n".join(_breadcrumb(c) for c in crumbs[-MAX_BREADCRUMBS:])


def _breadcrumb(c: Breadcrumb) -> str:
    kind = "/".join(p for p in (c.category or c.type, c.level) if p)
    parts = [c.timestamp or "", f"[{kind}]" if kind else "", _clip(c.message or "", MAX_VALUE_CHARS)]
    if c.data:
        parts.append(_clip(_json(c.data), MAX_VALUE_CHARS))
    return "- " + " ".join(p for p in parts if p)


def _request_section(req: RequestContext | None) -> str:
    if req is None:
        return "(none)"
    lines = [f"{req.method or ''} {req.url or ''}".strip() or "(no URL)"]
    if req.query_string:
        lines.append(f"query: {_clip(req.query_string, MAX_VALUE_CHARS)}")
    for name, value in req.headers.items():
        lines.append(f"header {name}: {_clip(value, MAX_VALUE_CHARS)}")
    if req.data not in (None, "", {}, []):
        lines.append(f"body: {_clip(_json(req.data), MAX_REQUEST_DATA_CHARS)}")
    return "\n".join(lines)


def _tags_section(tags: dict[str, str]) -> str:
    if not tags:
        return "(none)"
    return "\n".join(f"{k}: {_clip(str(v), MAX_VALUE_CHARS)}" for k, v in sorted(tags.items()))


# --- helpers -----------------------------------------------------------------------------------


def _json(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return repr(value)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]} … [{len(text) - limit:,} more characters]"


def _neutralise_markers(text: str) -> str:
    # The template's markers are upper case; in the data they can only appear lower case.
    return _MARKER_RE.sub(lambda m: m.group(0).lower(), text)
