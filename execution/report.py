"""What a test run returns: counts, the failing tests with their messages, an output tail.

A `TestReport` is stored in checkpoints and job outcomes and read by a model, so it is capped:
at most `MAX_FAILURES` failures, each detail and the output tail cut to a few KB. It is built
from the runner's own report (pytest's `-rA` summary, unittest's result lines, node's TAP), and
`ok` believes the exit code too: output that merely looks green from a failed command is not.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

MAX_FAILURES = 20
MAX_DETAIL_CHARS = 2000
MAX_TAIL_CHARS = 4000


class TestSelection(BaseModel):
    """Which tests to run: all (empty), test ids or paths (`tests/test_x.py::test_y`), a -k
    expression (pytest) or name pattern (node)."""

    __test__ = False

    tests: list[str] = Field(default_factory=list)
    keyword: str | None = None


class FailedTest(BaseModel):
    id: str
    message: str = ""  # the assertion or exception line
    details: str = ""  # traceback, capped at MAX_DETAIL_CHARS


class TestReport(BaseModel):
    __test__ = False

    command: str  # the shell line that ran, as the sandbox ran it
    runner: str
    exit_code: int | None = None  # None: killed (see `limit`) or never started (see `error`)
    passed: int = 0
    failed: int = 0
    errors: int = 0  # collection errors, errors in fixtures / set-up
    skipped: int = 0
    failures: list[FailedTest] = Field(default_factory=list)
    output_tail: str = ""
    seconds: float = 0.0
    limit: str | None = None  # "time" | "output" | "memory" | "processes": the run was cut at this limit
    sandbox: str = ""  # "bwrap 0.11.0" or "none (unsandboxed)"
    environment: str = ""  # the environment's key, and whether it was reused
    error: str | None = None  # the run could not happen at all (no sandbox, environment not built)

    @property
    def ok(self) -> bool:
        return (self.error is None and self.limit is None and self.exit_code == 0
                and self.failed == 0 and self.errors == 0)

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.errors + self.skipped

    def counts(self) -> str:
        parts = [f"{self.passed} passed", f"{self.failed} failed"]
        if self.errors:
            parts.append(f"{self.errors} errors")
        if self.skipped:
            parts.append(f"{self.skipped} skipped")
        return ", ".join(parts)


_LIMITS = {
    "time": "it was stopped at its time limit",
    "output": "it was stopped when its output passed the output limit",
    "memory": "it ran out of its memory limit (a process was killed)",
    "processes": "it hit the limit on processes (a fork that failed, or a fork bomb)",
}
RENDER_DETAILED_FAILURES = 5
RENDER_DETAIL_CHARS = 1500
RENDER_TAIL_CHARS = 1500


def render_report(report: TestReport) -> str:
    """The report as the model (and a person) reads it: verdict and counts first, then each
    failure with its message (the first few with their traceback), then the output's end."""
    if report.error is not None:
        return f"Tests did not run: {report.error}\ncommand: {report.command}"
    verdict = "PASSED" if report.ok else "FAILED"
    exit_text = "killed" if report.exit_code is None else f"exit {report.exit_code}"
    lines = [f"{verdict}: {report.counts()} ({report.runner}, {exit_text}, {report.seconds:.1f} s)",
             f"command: {report.command}"]
    if report.limit is not None:
        lines.append(f"The run did not finish normally: {_LIMITS.get(report.limit, report.limit)}.")
    if report.exit_code not in (0, None) and not report.failures:
        lines.append("No failing test was reported, but the command failed: read the output below "
                     "(a collection or import error, a missing dependency, a bad test id).")
    if report.failures:
        shown = report.failed + report.errors
        more = f" (the first {len(report.failures)} of {shown})" if shown > len(report.failures) else ""
        lines.append(f"Failures{more}:")
        for n, failure in enumerate(report.failures, 1):
            lines.append(f"{n}. {failure.id}" + (f" — {failure.message}" if failure.message else ""))
            if n <= RENDER_DETAILED_FAILURES and failure.details:
                details = failure.details[-RENDER_DETAIL_CHARS:]
                lines.extend("   " + line for line in details.splitlines())
    tail = report.output_tail if not report.failures else report.output_tail[-RENDER_TAIL_CHARS:]
    if tail.strip() and not report.ok:
        lines.append("Output (end):")
        lines.append(tail.rstrip())
    lines.append(f"environment: {report.environment}; sandbox: {report.sandbox}")
    return "\n".join(lines)
