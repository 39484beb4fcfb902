"""Stack traces given as *text* (Datadog's `error.stack`, log lines) parsed into exceptions and frames.

Understands what the runtimes print themselves: CPython tracebacks (with "The above exception…"
and "During handling…" chains), V8/Node `err.stack` (and `[cause]:` as util.inspect prints it),
JVM traces (Java/Kotlin, `Caused by:`, `... N more`), Go panics (`goroutine N [running]:`), Ruby
backtraces (`file:line:in 'method'`, with or without the leading message line) and .NET
`ToString()` (` ---> ` inner exceptions, `in file:line N`).

The result follows ErrorEvent's orders whatever the runtime printed: exceptions innermost cause
first, frames oldest call first (the crash frame last). The text is untrusted: it is cut to a
size, every line is matched by anchored patterns without nested quantifiers, and the worst case
is fewer frames, never an exception.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from domain.event import ExceptionInfo, StackFrame

__all__ = ["MAX_CHARS", "MAX_FRAMES", "detect_language", "is_library_path", "parse_stack"]

MAX_CHARS = 256_000
MAX_FRAMES = 400  # per exception: the agent reads the crash end, not the thousandth recursive frame

# ── what a library (not in-app) frame looks like ────────────────────────────────────────────
_LIBRARY_PATH = re.compile(
    r"(?:^|[/\\])(?:site-packages|dist-packages|node_modules|\.venv|venv|gems|rubies|\.rvm|\.rbenv|vendor)(?:[/\\]|$)"
    r"|^node:|^internal/|^<frozen |^/usr/lib/python|^/usr/local/lib/python|^/usr/local/go/src/|/go/pkg/mod/"
    r"|^/usr/(?:local/)?lib/ruby/|[/\\]lib[/\\]python3\.\d+[/\\]"
)
_LIBRARY_MODULE = re.compile(
    r"^(?:java|javax|jdk|sun|com\.sun|kotlin|kotlinx|scala|org\.springframework|org\.apache|io\.netty|"
    r"System|Microsoft|runtime|net/http|reflect|testing)(?:[./]|$)"
)


def is_library_path(path: str, module: str | None = None) -> bool:
    """True for frames of the runtime, the standard library or installed dependencies."""
    if path and _LIBRARY_PATH.search(path):
        return True
    return bool(module and _LIBRARY_MODULE.match(module))


# ── detection ───────────────────────────────────────────────────────────────────────────────

_PY_FRAME = re.compile(r'^\s*File "(?P<file>[^"]*)", line (?P<line>\d+)(?:, in (?P<func>.*))?$')
_JS_FRAME = re.compile(r"^\s+at (?:(?P<func>.*?) \()?(?P<file>[^()\s][^()]*?):(?P<line>\d+)(?::(?P<col>\d+))?\)?$")
_JS_FRAME_NO_LINE = re.compile(r"^\s+at (?P<func>[^()]*?)(?: \((?P<file>native|<anonymous>|[^():]*)\))?$")
_JVM_FRAME = re.compile(r"^\s*at (?P<module>[\w$.<>/]+)\.(?P<func>[\w$<>-]+)\((?P<file>[^():]*)(?::(?P<line>\d+))?\)$")
_DOTNET_FRAME = re.compile(r"^\s*at (?P<func>[^\s(][^(]*\(.*?\))(?: in (?P<file>.+):line (?P<line>\d+))?\s*$")
_GO_FILE = re.compile(r"^\s+(?P<file>\S.*\.(?:go|s)):(?P<line>\d+)(?: \+0x[0-9a-f]+)?$")
_RUBY_FRAME = re.compile(
    r"^\s*(?:from )?(?P<file>[^:\s][^:]*(?::[\\/][^:]*)?):(?P<line>\d+):in [`'](?P<func>[^`']*)'(?P<rest>.*)$")


def detect_language(text: str) -> str | None:
    """'python', 'javascript', 'java', 'go', 'ruby', 'dotnet' or None, from the frame lines."""
    lines = text.splitlines()[:400]
    if any(_PY_FRAME.match(line) for line in lines) or any(line.startswith("Traceback (") for line in lines):
        return "python"
    if any(line.startswith("goroutine ") or _GO_FILE.match(line) for line in lines):
        return "go"
    if any(_RUBY_FRAME.match(line) for line in lines):
        return "ruby"
    if any(line.strip().startswith("---> ") or (" in " in line and _DOTNET_FRAME.match(line) and ":line " in line)
           for line in lines):
        return "dotnet"
    if any(_JVM_FRAME.match(line) for line in lines) and not any(_js_frame(line) for line in lines):
        return "java"
    if any(_js_frame(line) for line in lines):
        return "javascript"
    if any(_DOTNET_FRAME.match(line) for line in lines):
        return "dotnet"
    return None


def parse_stack(text: str, *, error_type: str = "", message: str = "",
                language: str | None = None) -> list[ExceptionInfo]:
    """The exceptions in `text`, innermost cause first. `error_type`/`message` (what the tracker
    reports separately, e.g. Datadog's error.type/error.message) fill in what the text lacks
    — a Ruby or Datadog-Go stack is often frames only. Unparseable text gives one exception
    without frames when a type or message is known, else none."""
    text = (text or "")[:MAX_CHARS].replace("\r\n", "\n")
    lang = language or detect_language(text)
    parser = _PARSERS.get(lang or "")
    exceptions = parser(text) if parser else []
    exceptions = [e for e in exceptions if e.frames or e.type or e.value]
    if not exceptions:
        return [ExceptionInfo(type=error_type, value=message)] if (error_type or message) else []
    outer = exceptions[-1]
    outer.type = outer.type or error_type
    outer.value = outer.value or message
    for exc in exceptions:
        exc.frames = exc.frames[-MAX_FRAMES:]
    return exceptions


# ── Python ──────────────────────────────────────────────────────────────────────────────────

_PY_CHAIN = ("The above exception was the direct cause", "During handling of the above exception")
_EXC_LINE = re.compile(r"^(?P<type>[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning|Iteration|[A-Z]\w*))"
                       r"(?::\s?(?P<value>.*))?$")


def _python(text: str) -> list[ExceptionInfo]:
    exceptions: list[ExceptionInfo] = []
    current: ExceptionInfo | None = None
    last_frame: StackFrame | None = None
    for line in text.split("\n"):
        if line.startswith("Traceback ("):
            current, last_frame = ExceptionInfo(), None
            exceptions.append(current)
            continue
        if line.startswith(_PY_CHAIN):
            current, last_frame = None, None
            continue
        match = _PY_FRAME.match(line)
        if match:
            if current is None:  # a truncated trace that starts mid-way
                current = ExceptionInfo()
                exceptions.append(current)
            last_frame = _frame(match["file"], match["line"], match["func"] or "")
            current.frames.append(last_frame)
            continue
        if current is None or not line.strip():
            continue
        if line.startswith((" ", "\t")):
            stripped = line.strip()
            # The source line follows its frame; caret lines (^^^, ~~~) under it are not code.
            if last_frame is not None and last_frame.context_line is None and stripped.strip("^~ ") != "":
                last_frame.context_line = stripped
            continue
        if not current.type:
            exc = _EXC_LINE.match(line)
            if exc:
                current.type, current.value = exc["type"], exc["value"] or ""
            else:
                current.value = line
        last_frame = None
    return exceptions


# ── JavaScript / Node ───────────────────────────────────────────────────────────────────────

_CAUSE = re.compile(r"^\s*\[cause\]: (?P<header>.*)$")


def _js_frame(line: str) -> StackFrame | None:
    match = _JS_FRAME.match(line)
    if match:
        func = (match["func"] or "").removeprefix("async ").removeprefix("new ")
        file = match["file"].removeprefix("file://")
        frame = _frame(file, match["line"], func)
        frame.col_no = int(match["col"]) if match["col"] else None
        return frame
    return None


def _javascript(text: str) -> list[ExceptionInfo]:
    blocks: list[ExceptionInfo] = []  # outermost first, as printed
    current: ExceptionInfo | None = None
    for line in text.split("\n"):
        line = line.rstrip().removesuffix(" {")  # util.inspect opens the error's own properties
        if line.strip() in ("", "}"):
            continue
        frame = _js_frame(line)
        if frame is not None:
            if current is None:
                current = ExceptionInfo()
                blocks.append(current)
            current.frames.insert(0, frame)  # V8 prints newest first
            continue
        if _JS_FRAME_NO_LINE.match(line) and current is not None:
            continue  # `at new Promise (<anonymous>)`: no file to look at
        cause = _CAUSE.match(line)
        header = cause["header"] if cause else line
        if cause or current is None or (not current.frames and not line.startswith(" ")):
            if current is not None and not cause and not current.frames:
                current.value = f"{current.value}\n{line}".strip()  # a message over several lines
                continue
            current = _header(header)
            blocks.append(current)
    return list(reversed(blocks))


# ── JVM (Java, Kotlin, Scala) ───────────────────────────────────────────────────────────────

def _jvm(text: str) -> list[ExceptionInfo]:
    blocks: list[ExceptionInfo] = []  # outermost first
    current: ExceptionInfo | None = None
    for line in text.split("\n"):
        match = _JVM_FRAME.match(line)
        if match:
            if current is None:
                current = ExceptionInfo()
                blocks.append(current)
            current.frames.insert(0, _jvm_frame(match["module"], match["func"], match["file"], match["line"]))
            continue
        stripped = line.strip()
        if not stripped or re.match(r"^\.\.\. \d+ (?:more|common frames omitted)$", stripped):
            continue  # the frames the cause shares with its enclosing trace
        if stripped.startswith("Caused by: "):
            current = _header(stripped.removeprefix("Caused by: "))
            blocks.append(current)
        elif stripped.startswith("Suppressed: "):
            current = ExceptionInfo()  # its frames are not the crash's: collected, then dropped
        elif current is None:
            current = _header(stripped.removeprefix("Exception in thread ").split('" ', 1)[-1])
            blocks.append(current)
        elif not current.frames:
            current.value = f"{current.value}\n{stripped}".strip()
    return list(reversed(blocks))


def _jvm_frame(module: str, func: str, file: str, line: str | None) -> StackFrame:
    # `java.base/java.lang.Integer` carries its JPMS module in front.
    module = module.split("/")[-1]
    package, _, _cls = module.rpartition(".")
    # Repositories keep com.example.Foo in com/example/Foo.java: give the path the agent will find.
    path = f"{package.replace('.', '/')}/{file}" if package and file and file[0].isalpha() else file
    frame = StackFrame(filename=path, module=module, function=func, line_no=int(line) if line else None)
    frame.in_app = not is_library_path("", module)
    return frame


# ── Go ──────────────────────────────────────────────────────────────────────────────────────

_GO_FUNC = re.compile(r"^(?P<func>[^\s].*?)(?:\((?:[^()]|\([^()]*\))*\))?$")


def _go(text: str) -> list[ExceptionInfo]:
    exc = ExceptionInfo()
    lines = text.split("\n")
    started = False
    pending: str | None = None
    for line in lines:
        if line.startswith("goroutine "):
            if started:
                break  # only the first goroutine crashed; the others were just running
            started = True
            continue
        if line.startswith(("panic: ", "fatal error: ")) and not exc.type:
            kind, _, rest = line.partition(": ")
            exc.type, exc.value = kind, rest.removesuffix(" [recovered]")
            continue
        file = _GO_FILE.match(line)
        if file and pending is not None:
            frame = _frame(file["file"], file["line"], pending)
            pkg = pending.rsplit("/", 1)[-1].split(".", 1)[0]
            frame.module = pending.rsplit(".", 1)[0] if "." in pending else pkg
            frame.in_app = not (is_library_path(file["file"]) or is_library_path("", pending))
            exc.frames.insert(0, frame)  # Go prints newest first
            pending = None
            continue
        stripped = line.strip()
        if stripped and not line.startswith((" ", "\t")) and not stripped.startswith(("created by ", "[")):
            func = _GO_FUNC.match(stripped)
            pending = func["func"] if func else stripped
        elif stripped.startswith("created by "):
            pending = None  # the spawning site, not part of the crash
    return [exc]


# ── Ruby ────────────────────────────────────────────────────────────────────────────────────

_RUBY_MESSAGE = re.compile(r"^: (?P<value>.*) \((?P<type>[\w:]+)\)$")


def _ruby(text: str) -> list[ExceptionInfo]:
    exc = ExceptionInfo()
    for line in text.split("\n"):
        match = _RUBY_FRAME.match(line)
        if not match:
            if not exc.frames and line.strip() and not exc.value:
                head = _header(line.strip())
                exc.type, exc.value = head.type, head.value
            continue
        func = match["func"]
        func = re.sub(r"^(?:block (?:\(\d+ levels\) )?in |rescue in |ensure in )", "", func)
        exc.frames.insert(0, _frame(match["file"], match["line"], func))  # Ruby prints newest first
        rest = _RUBY_MESSAGE.match(match["rest"])
        if rest and not exc.type:  # `file:1:in 'm': message (Type)`, the first line of an uncaught one
            exc.type, exc.value = rest["type"], rest["value"]
    return [exc]


# ── .NET ────────────────────────────────────────────────────────────────────────────────────

_DOTNET_END_INNER = "--- End of inner exception stack trace ---"


def _dotnet(text: str) -> list[ExceptionInfo]:
    headers: list[ExceptionInfo] = []  # outermost first, from the ` ---> ` chain
    segments: list[list[StackFrame]] = [[]]  # innermost first, split at "End of inner…"
    for line in text.split("\n"):
        stripped = line.strip()
        match = _DOTNET_FRAME.match(line)
        if match:
            func = match["func"]
            name = func.split("(", 1)[0]
            module, _, method = name.rpartition(".")
            frame = StackFrame(filename=(match["file"] or "").strip(), module=module or None, function=method or name,
                               line_no=int(match["line"]) if match["line"] else None)
            frame.in_app = not is_library_path(frame.filename, module)
            segments[-1].insert(0, frame)  # .NET prints newest first
        elif stripped.startswith(_DOTNET_END_INNER):
            segments.append([])
        elif stripped.startswith("--- End of stack trace from previous location"):
            continue  # an async hop inside one exception's trace
        elif not headers or stripped.startswith("---> "):
            for part in re.split(r"\s*---> ", stripped.removeprefix("Unhandled exception. ")):
                if part:
                    headers.append(_header(part))
    exceptions = list(reversed(headers)) or [ExceptionInfo()]
    for exc, frames in zip(exceptions, segments, strict=False):
        exc.frames = frames
    if len(segments) > len(exceptions):  # more segments than headers: a truncated header
        exceptions[-1].frames = segments[-1]
    return exceptions


# ── shared ──────────────────────────────────────────────────────────────────────────────────


def _header(line: str) -> ExceptionInfo:
    """`Type: message` (or just a message) as every runtime prints an exception's first line."""
    kind, sep, value = line.partition(": ")
    if sep and re.fullmatch(r"[\w$.:+`<>\[\]-]+", kind) and (kind[:1].isupper() or "." in kind):
        return ExceptionInfo(type=kind, value=value)
    if re.fullmatch(r"[A-Z][\w$.]*(?:Error|Exception)", line.strip()):
        return ExceptionInfo(type=line.strip())
    return ExceptionInfo(value=line)


def _frame(file: str, line: str | None, func: str) -> StackFrame:
    return StackFrame(filename=file, abs_path=file if file.startswith("/") else None, function=func,
                      line_no=int(line) if line else None, in_app=not is_library_path(file))


_PARSERS: dict[str, Callable[[str], list[ExceptionInfo]]] = {
    "python": _python, "javascript": _javascript, "java": _jvm, "go": _go, "ruby": _ruby, "dotnet": _dotnet,
}
