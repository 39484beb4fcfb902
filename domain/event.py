"""The normalised error event (the seed's ErrorEvent, StackFrame, Breadcrumb, RequestContext).

Every error source (Sentry's two formats today, Datadog/Rollbar later) is parsed into these
models, so the agent, the tools and the MCP server never see a vendor's wire format.
Ordering follows Sentry's: frames oldest call first (the crash frame is last) and chained
exceptions innermost cause first (the exception the issue is titled after is last).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class StackFrame(_Model):
    filename: str = ""  # as the SDK reported it, e.g. "com/example/service/UserService.kt"
    abs_path: str | None = None
    module: str | None = None  # Python module / Java package+class, when the SDK sends one
    package: str | None = None  # binary or package the frame belongs to (native, .NET, Go)
    function: str = ""
    line_no: int | None = None
    col_no: int | None = None
    pre_context: list[str] = Field(default_factory=list)
    context_line: str | None = None
    post_context: list[str] = Field(default_factory=list)
    # None when the SDK did not say (PHP samples, some self-hosted events): the frame mapper
    # then decides by whether the file exists in the repository.
    in_app: bool | None = None
    vars: dict[str, Any] = Field(default_factory=dict)

    @property
    def location(self) -> str:
        name = self.filename or self.abs_path or self.module or "?"
        return f"{name}:{self.line_no}" if self.line_no is not None else name


class ExceptionInfo(_Model):
    type: str = ""
    value: str = ""
    module: str | None = None
    mechanism: str | None = None
    handled: bool | None = None
    frames: list[StackFrame] = Field(default_factory=list)  # oldest call first


class Breadcrumb(_Model):
    timestamp: str | None = None  # ISO 8601, as received
    type: str | None = None
    category: str | None = None
    level: str | None = None
    message: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class RequestContext(_Model):
    url: str | None = None
    method: str | None = None
    query_string: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    data: Any = None
    env: dict[str, str] = Field(default_factory=dict)


class ErrorEvent(_Model):
    id: str  # the event id
    issue_id: str | None = None
    issue_url: str | None = None  # the issue's page in the error tracker's web UI
    project: str | None = None  # the source project slug, used to find the repository
    title: str = ""
    culprit: str | None = None
    level: str | None = None
    platform: str | None = None
    timestamp: str | None = None
    environment: str | None = None
    release: str | None = None  # version string; may name a commit sha
    exceptions: list[ExceptionInfo] = Field(default_factory=list)  # innermost cause first
    # Frames from a thread's stacktrace when no exception carries one (e.g. log-message events).
    thread_frames: list[StackFrame] = Field(default_factory=list)
    breadcrumbs: list[Breadcrumb] = Field(default_factory=list)  # oldest first
    tags: dict[str, str] = Field(default_factory=dict)
    contexts: dict[str, dict[str, Any]] = Field(default_factory=dict)
    request: RequestContext | None = None
    message: str | None = None  # the log message, for events without an exception
    sdk: str | None = None

    @property
    def primary_exception(self) -> ExceptionInfo | None:
        """The exception the issue is titled after (outermost, so last in Sentry's order)."""
        return self.exceptions[-1] if self.exceptions else None

    @property
    def error_type(self) -> str:
        exc = self.primary_exception
        return exc.type if exc and exc.type else (self.title.split(":", 1)[0] if self.title else "")

    @property
    def error_message(self) -> str:
        exc = self.primary_exception
        if exc and exc.value:
            return exc.value
        return self.message or ""

    @property
    def stack_trace(self) -> list[StackFrame]:
        """The crash's frames, oldest first: the innermost exception that has frames wins,
        because that is where the fault was raised; thread frames are the fallback."""
        for exc in self.exceptions:
            if exc.frames:
                return exc.frames
        return self.thread_frames

    @property
    def in_app_frames(self) -> list[StackFrame]:
        return [f for f in self.stack_trace if f.in_app]
