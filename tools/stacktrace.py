"""The `get_stacktrace` tool: the event as the model first sees it.

Renders the exception chain with every frame mapped to its repository file and the source
around each line read from the job's worktree (the code that will be patched), falling back to
the context lines the SDK captured when a file is not in the repository. Library frames are
collapsed so the model's attention goes to application code. Request headers, cookies and
body are never shown: they carry credentials and are not needed to find a bug.

`render_event` is a pure function so `autofixer event show` can print the same text without a
worktree (source then comes from the event only).
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import BaseModel, Field

from domain import Breadcrumb, ErrorEvent, ExceptionInfo, RequestContext, StackFrame
from tools.base import ToolContext, ToolError, reads, tool
from tools.mapping import FrameMapper, Mapping, library_reason
from tools.paths import read_text, resolve_in_worktree, split_lines

MAX_FRAMES_PER_EXCEPTION = 40
KEEP_OLDEST_FRAMES = 10  # when truncating, the oldest few show how the request entered the app
MAX_EXCEPTIONS = 10
KEEP_INNERMOST_EXCEPTIONS = 3
CONTEXT_RADIUS = 5
MAX_BREADCRUMBS = 15
MAX_LINE_CHARS = 300
MAX_VALUE_CHARS = 2000
MAX_VARS = 25
MAX_TAGS = 40
MAX_OUTPUT_CHARS = 60_000

REDACTED = "[redacted]"
_SENSITIVE_KEY_RE = re.compile(
    r"pass(word|wd)?|secret|token|api[-_]?key|auth|cookie|session|csrf|credential|private|signature|^key$|dsn",
    re.IGNORECASE,
)


# ---- the tool ----------------------------------------------------------------------------------


class GetStacktraceArgs(BaseModel):
    include_library_frames: bool = Field(
        default=False,
        description="Also list third-party/standard-library frames instead of collapsing them to a count.",
    )


@tool(
    title="Show the stack trace, mapped onto the repository",
    description=(
        "Show the error being fixed: the exception chain (innermost cause first, the reported "
        "exception last), each frame oldest call first with its repository path and the source "
        "around the line (crash line marked), then recent breadcrumbs, the request, tags, release "
        "and environment. Library frames are collapsed unless include_library_frames is true."
    ),
    annotations=reads(),
)
async def get_stacktrace(ctx: ToolContext, args: GetStacktraceArgs) -> str:
    if ctx.event is None:
        raise ToolError("no error event is attached to this session, so there is no stack trace to show")
    event = ctx.event
    return await asyncio.to_thread(
        lambda: render_event(event, mapper_for(ctx), ctx.worktree, include_library_frames=args.include_library_frames)
    )


def mapper_for(ctx: ToolContext) -> FrameMapper:
    """One mapper per worktree and source root, kept in the context: listing a large repository's
    files on every call would be wasted work."""
    key = (str(ctx.worktree), ctx.source_root)
    if ctx.frame_mapper is not None and ctx.frame_mapper[0] == key:
        return ctx.frame_mapper[1]
    mapper = FrameMapper(Path(ctx.worktree), ctx.source_root)
    ctx.frame_mapper = (key, mapper)
    return mapper


# ---- rendering -----------------------------------------------------------------------------------


@dataclass
class _Renderer:
    mapper: FrameMapper | None
    worktree: Path | None
    include_library_frames: bool
    out: list[str] = field(default_factory=list)
    _files: dict[str, list[str] | None] = field(default_factory=dict)

    def line(self, text: str = "") -> None:
        self.out.append(text)


def render_event(
    event: ErrorEvent,
    mapper: FrameMapper | None = None,
    worktree: Path | None = None,
    *,
    include_library_frames: bool = False,
) -> str:
    """The event as text for the model (or a person). Pure: reads files only under `worktree`."""
    r = _Renderer(mapper, Path(worktree) if worktree else None, include_library_frames)
    _render_header(r, event)
    _render_exceptions(r, event)
    _render_breadcrumbs(r, event.breadcrumbs)
    _render_request(r, event.request)
    _render_tags(r, event)
    text = "\n".join(r.out).rstrip() + "\n"
    if len(text) > MAX_OUTPUT_CHARS:
        text = text[:MAX_OUTPUT_CHARS] + f"\n[output truncated at {MAX_OUTPUT_CHARS} characters]\n"
    return text


def _render_header(r: _Renderer, event: ErrorEvent) -> None:
    title = event.title or f"{event.error_type}: {event.error_message}".strip(": ")
    r.line(f"Event {_one_line(event.id) or '(no id)'}: {_one_line(title)}")
    facts = [
        ("issue", event.issue_url or event.issue_id),
        ("level", event.level),
        ("platform", event.platform),
        ("time", event.timestamp),
    ]
    _facts_line(r, facts)
    _facts_line(r, [("release", event.release), ("environment", event.environment), ("culprit", event.culprit)])
    runtime = event.contexts.get("runtime") or {}
    if runtime.get("name") or runtime.get("version"):
        r.line(f"Runtime: {_one_line(' '.join(str(runtime.get(k, '')) for k in ('name', 'version')).strip())}")
    if event.message and (not event.exceptions or event.message != event.error_message):
        r.line(f"Message: {_short(_one_line(event.message), MAX_VALUE_CHARS)}")


def _facts_line(r: _Renderer, facts: list[tuple[str, str | None]]) -> None:
    shown = [f"{k}: {_one_line(v)}" for k, v in facts if v]
    if shown:
        r.line(" | ".join(shown))


# ---- exceptions and frames ------------------------------------------------------------------------


def _render_exceptions(r: _Renderer, event: ErrorEvent) -> None:
    excs = event.exceptions
    if not excs:
        if event.thread_frames:
            r.line("")
            r.line("== Thread stack (the event has no exception; frames oldest call first, "
                   "the last one is where it was captured) ==")
            _render_frames(r, event.thread_frames)
        else:
            r.line("")
            r.line("(The event carries no exception and no stack trace.)")
        return
    r.line("")
    if len(excs) == 1:
        r.line("== Exception ==")
    else:
        r.line(
            f"== Exception chain: {len(excs)} exceptions, innermost cause first as Sentry orders them; "
            "the last one is the reported exception the issue is titled after =="
        )
    # A very long chain loses its middle: the root cause (first) and the reported end (last)
    # are what a fix needs.
    shown = list(range(len(excs)))
    if len(excs) > MAX_EXCEPTIONS:
        tail_from = len(excs) - (MAX_EXCEPTIONS - KEEP_INNERMOST_EXCEPTIONS)
        shown = [*range(KEEP_INNERMOST_EXCEPTIONS), *range(tail_from, len(excs))]
    for pos, i in enumerate(shown):
        if pos and i != shown[pos - 1] + 1:
            r.line("")
            r.line(f"[{i - shown[pos - 1] - 1} exceptions in the middle of the chain omitted]")
        _render_exception(r, excs[i], i + 1, len(excs))


def _render_exception(r: _Renderer, exc: ExceptionInfo, index: int, total: int) -> None:
    role = "reported exception" if index == total else ("innermost cause" if index == 1 else "cause")
    r.line("")
    header = f"--- Exception {index} of {total} ({role}): {_one_line(exc.type or '(no type)')}"
    if exc.module:
        header += f" [module {_one_line(exc.module)}]"
    r.line(header)
    if exc.value:
        value = _short(exc.value, MAX_VALUE_CHARS)
        lines = value.splitlines() or [""]
        r.line(f"value: {lines[0]}")
        r.out.extend(f"       {ln}" for ln in lines[1:])
    mech = [m for m in (exc.mechanism, _handled(exc.handled)) if m]
    if mech:
        r.line(f"mechanism: {_one_line(', '.join(mech))}")
    if not exc.frames:
        r.line("(no stack frames for this exception)")
        return
    _render_frames(r, exc.frames)


def _handled(handled: bool | None) -> str | None:
    return None if handled is None else ("handled" if handled else "unhandled")


def _render_frames(r: _Renderer, frames: list[StackFrame]) -> None:
    mappings = [_map(r, f) for f in frames]
    is_lib = [m.status == "library" for m in mappings]
    show_all = r.include_library_frames or all(is_lib)
    r.line(f"Frames ({len(frames)}, oldest call first; the crash frame is last):")
    if all(is_lib) and not r.include_library_frames:
        r.line("  (no frame is marked as application code, so all frames are shown)")
    items = _visible_items(is_lib, show_all)
    for item in _cap_frames(items):
        if isinstance(item, str):
            r.line(f"  {item}")
        else:
            _render_frame(r, frames[item], mappings[item], item, crash=item == len(frames) - 1)


def _visible_items(is_lib: list[bool], show_all: bool) -> list[int | str]:
    """Frame indices to show, with runs of hidden library frames collapsed into one note."""
    items: list[int | str] = []
    hidden = 0
    last = len(is_lib) - 1
    for i, lib in enumerate(is_lib):
        # The crash frame is always shown, even in library code: it is where the error surfaced.
        if lib and not show_all and i != last:
            hidden += 1
            continue
        if hidden:
            items.append(_hidden_note(hidden))
            hidden = 0
        items.append(i)
    if hidden:
        items.append(_hidden_note(hidden))
    return items


def _hidden_note(n: int) -> str:
    plural = "frame" if n == 1 else "frames"
    return f"[{n} library {plural} hidden; call get_stacktrace with include_library_frames=true to see them]"


def _cap_frames(items: list[int | str]) -> list[int | str]:
    frame_positions = [pos for pos, item in enumerate(items) if isinstance(item, int)]
    if len(frame_positions) <= MAX_FRAMES_PER_EXCEPTION:
        return items
    keep_head = frame_positions[KEEP_OLDEST_FRAMES - 1]
    keep_tail = frame_positions[-(MAX_FRAMES_PER_EXCEPTION - KEEP_OLDEST_FRAMES)]
    omitted = len(frame_positions) - MAX_FRAMES_PER_EXCEPTION
    note = f"[{omitted} frames omitted to keep this short (the stack has {len(frame_positions)} shown frames)]"
    return [*items[: keep_head + 1], note, *items[keep_tail:]]


def _map(r: _Renderer, frame: StackFrame) -> Mapping:
    if r.mapper is not None:
        return r.mapper.map(frame)
    # No repository: only the event's own judgement is available.
    reason = library_reason(frame)
    if reason or frame.in_app is False:
        return Mapping(None, "library", reason=reason or "marked not in-app by the SDK")
    return Mapping(None, "not_in_repo", reason="no repository to map against")


def _render_frame(r: _Renderer, frame: StackFrame, mapping: Mapping, index: int, *, crash: bool) -> None:
    func = _one_line(frame.function or "?")
    r.line(f"  #{index + 1} {func} — {_frame_location(r, frame, mapping)}"
           + ("   <== CRASH: exception raised here" if crash else ""))
    lib = mapping.status == "library"
    source = _repo_source(r, frame, mapping)
    if source is not None:
        r.out.extend(source)
    else:
        # Library frames get only their line: the surrounding third-party code rarely matters.
        _event_context(r, frame, full=not lib or crash)
    if crash and frame.vars and (not lib or mapping.path):
        _render_vars(r, frame.vars)


def _frame_location(r: _Renderer, frame: StackFrame, mapping: Mapping) -> str:
    pos = ""
    if frame.line_no is not None:
        pos = f":{frame.line_no}" + (f":{frame.col_no}" if frame.col_no is not None else "")
    reported = _one_line(frame.abs_path or frame.filename or frame.module or "?")
    if mapping.path:
        shown = f"{mapping.path}{pos}"
        if mapping.status == "library":
            return f"{shown} (library per the SDK, but the file is in the repository)"
        return shown if reported.endswith(mapping.path) else f"{shown} (reported as {reported})"
    if mapping.status == "ambiguous":
        cands = ", ".join(mapping.candidates[:6]) + (", ..." if len(mapping.candidates) > 6 else "")
        return f"{reported}{pos} (ambiguous: {cands})"
    if mapping.status == "library":
        return f"{reported}{pos} (library)"
    if r.mapper is None:
        return f"{reported}{pos}"
    return f"{reported}{pos} (not in repo)"


def _repo_source(r: _Renderer, frame: StackFrame, mapping: Mapping) -> list[str] | None:
    """Numbered lines around the frame's line, read from the worktree; None to fall back."""
    if r.worktree is None or not mapping.path or frame.line_no is None:
        return None
    lines = _file_lines(r, mapping.path)
    if lines is None:
        return None
    line_no = frame.line_no
    if not 1 <= line_no <= len(lines):
        note = (f"      (line {line_no} is past the end of {mapping.path}, which has {len(lines)} lines; "
                "the deployed code differs from this checkout)")
        return [note, *_event_block(frame)]
    start, end = max(1, line_no - CONTEXT_RADIUS), min(len(lines), line_no + CONTEXT_RADIUS)
    block = [_numbered(n, lines[n - 1], n == line_no) for n in range(start, end + 1)]
    reported = (frame.context_line or "").strip()
    if reported and reported != lines[line_no - 1].strip():
        block.append(f"      (note: the event shows {_short(reported, 160)!r} at this line; the deployed "
                     "release may differ from this checkout)")
    return block


def _file_lines(r: _Renderer, rel: str) -> list[str] | None:
    if rel not in r._files:
        try:
            assert r.worktree is not None
            resolved = resolve_in_worktree(r.worktree, rel)
            r._files[rel] = split_lines(read_text(resolved, rel))
        except (ToolError, OSError):
            r._files[rel] = None  # unreadable (binary, huge, escaping symlink): use the event's lines
    return r._files[rel]


def _event_context(r: _Renderer, frame: StackFrame, *, full: bool) -> None:
    if full:
        block = _event_block(frame)
        if block:
            r.out.extend(block)
    elif frame.context_line is not None:
        r.line(f"      {_short(frame.context_line.rstrip(), MAX_LINE_CHARS).strip()}")


def _event_block(frame: StackFrame) -> list[str]:
    if frame.context_line is None and not frame.pre_context and not frame.post_context:
        return []
    pre = frame.pre_context[-CONTEXT_RADIUS:]
    post = frame.post_context[:CONTEXT_RADIUS]
    out = ["      (source from the event's context lines, not from the repository)"]
    if frame.line_no is None:
        out += [f"      {_short(s.rstrip(), MAX_LINE_CHARS)}" for s in pre]
        if frame.context_line is not None:
            out.append(f"   >  {_short(frame.context_line.rstrip(), MAX_LINE_CHARS)}")
        out += [f"      {_short(s.rstrip(), MAX_LINE_CHARS)}" for s in post]
        return out
    n0 = frame.line_no - len(pre)
    out += [_numbered(n0 + i, s, False) for i, s in enumerate(pre)]
    if frame.context_line is not None:
        out.append(_numbered(frame.line_no, frame.context_line, True))
    out += [_numbered(frame.line_no + 1 + i, s, False) for i, s in enumerate(post)]
    return out


def _numbered(n: int, text: str, mark: bool) -> str:
    return f"   {'>' if mark else ' '} {n:>5} | {_short(text.rstrip(chr(10)).rstrip(), MAX_LINE_CHARS)}"


def _render_vars(r: _Renderer, variables: dict[str, Any]) -> None:
    r.line("      locals at the crash:")
    for i, (name, value) in enumerate(variables.items()):
        if i == MAX_VARS:
            r.line(f"        ... {len(variables) - MAX_VARS} more")
            break
        r.line(f"        {_one_line(str(name))} = {_redact_value(str(name), value, 160)}")


# ---- breadcrumbs, request, tags ----------------------------------------------------------------------


def _render_breadcrumbs(r: _Renderer, crumbs: list[Breadcrumb]) -> None:
    if not crumbs:
        return
    shown = crumbs[-MAX_BREADCRUMBS:]
    r.line("")
    more = f", the last {len(shown)} of {len(crumbs)}" if len(crumbs) > len(shown) else ""
    r.line(f"== Breadcrumbs (oldest first{more}) ==")
    for c in shown:
        r.line(f"  {_breadcrumb(c)}")


def _breadcrumb(c: Breadcrumb) -> str:
    parts = [c.timestamp or "", c.category or c.type or "", f"[{c.level}]" if c.level and c.level != "info" else ""]
    text = " ".join(p for p in parts if p)
    if c.message:
        text += f": {_short(_one_line(c.message), 300)}"
    if c.data:
        text += f" {_redact_value('data', c.data, 300)}"
    return text or "(empty breadcrumb)"


def _render_request(r: _Renderer, req: RequestContext | None) -> None:
    if req is None or not (req.url or req.method or req.query_string):
        return
    r.line("")
    r.line("== Request (headers, cookies and body omitted) ==")
    r.line(f"  {_one_line(req.method or '?')} {_one_line(scrub_url(req.url or '?'))}")
    if req.query_string:
        r.line(f"  query: {_short(_one_line(scrub_query(req.query_string)), 500)}")


def _render_tags(r: _Renderer, event: ErrorEvent) -> None:
    if not event.tags:
        return
    r.line("")
    r.line("== Tags ==")
    items = sorted(event.tags.items())
    for key, value in items[:MAX_TAGS]:
        shown = REDACTED if _SENSITIVE_KEY_RE.search(key) else _short(_one_line(str(value)), 200)
        r.line(f"  {_one_line(key)} = {shown}")
    if len(items) > MAX_TAGS:
        r.line(f"  ... {len(items) - MAX_TAGS} more tags")


# ---- small text helpers -------------------------------------------------------------------------------


def scrub_query(query: str) -> str:
    """A query string with the values of credential-like parameters replaced."""
    pairs = parse_qsl(query.lstrip("?"), keep_blank_values=True)
    if not pairs:
        return query
    return urlencode([(k, REDACTED if _SENSITIVE_KEY_RE.search(k) else v) for k, v in pairs], safe="[]/:,")


def scrub_url(url: str) -> str:
    """A URL without user:password and with credential-like query values replaced."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    netloc = parts.netloc.rsplit("@", 1)[-1]
    query = scrub_query(parts.query) if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _redact_value(name: str, value: Any, limit: int) -> str:
    if _SENSITIVE_KEY_RE.search(name):
        return REDACTED
    if isinstance(value, dict):
        value = {k: (REDACTED if _SENSITIVE_KEY_RE.search(str(k)) else v) for k, v in value.items()}
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    return _short(_one_line(text), limit)


def _one_line(text: str | None) -> str:
    # Attacker-written fields must not be able to fake extra lines of this output.
    return " ".join((text or "").split())


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


__all__ = ["GetStacktraceArgs", "get_stacktrace", "mapper_for", "render_event", "scrub_query", "scrub_url"]
