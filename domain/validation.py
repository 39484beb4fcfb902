"""What the pipeline's own test runs showed about a fix (the `validate` step), never the model's word.

    verdict          what it means                                         what happens
    validated        the reproduction test failed before the fix with the  the model's confidence stands
                     event's exception, passes after, no test broke
    not_reproduced   no reproduction test, or it passed before the fix,     confidence at most MEDIUM
                     failed for another reason, or still fails after
    regressions      a test that passed before the fix fails after it      no pull request, or a draft marked
                                                                           "tests failing" (tests.on-failure)
    unavailable      the tests could not run (no sandbox, the environment  confidence at most MEDIUM, and a
                     could not be built, a run could not start)            warning on the job
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from domain.fix import Confidence

Verdict = Literal["validated", "not_reproduced", "regressions", "unavailable"]
# The most a fix may claim after each verdict (None: no cap).
CONFIDENCE_CAP: dict[str, Confidence | None] = {
    "validated": None, "not_reproduced": Confidence.MEDIUM, "regressions": None, "unavailable": Confidence.MEDIUM,
}
MAX_LISTED = 20


class TestRun(BaseModel):
    """One run of the tests, as the job outcome and the PR body show it."""

    __test__ = False

    command: str = ""
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    seconds: float = 0.0
    exit_code: int | None = None
    limit: str | None = None  # the run was cut at this limit (time, output, memory, processes)
    error: str | None = None  # the run could not happen
    failures: list[str] = Field(default_factory=list)  # "test id: message", at most MAX_LISTED
    failing_ids: list[str] = Field(default_factory=list)
    ok: bool = False

    def counts(self) -> str:
        if self.error:
            return f"did not run: {self.error}"
        parts = [f"{self.passed} passed", f"{self.failed} failed"]
        parts += [f"{self.errors} errors"] if self.errors else []
        parts += [f"{self.skipped} skipped"] if self.skipped else []
        cut = f", stopped at the {self.limit} limit" if self.limit else ""
        return ", ".join(parts) + cut

    def status(self) -> str:
        """PASSED, or FAILED with its first failure's message."""
        if self.ok:
            return "PASSED"
        if self.error or self.limit:
            return f"FAILED ({self.counts()})"
        return f"FAILED: {self.failures[0]}" if self.failures else f"FAILED (exit code {self.exit_code})"


class Validation(BaseModel):
    verdict: Verdict
    reason: str  # one line: why this verdict
    reproduction_test: str | None = None
    exception_seen: bool = False  # the test failed before the fix with the event's exception type
    before: TestRun | None = None  # the reproduction test with the fix's source changes reverted
    after: TestRun | None = None  # the reproduction test on the fixed tree
    suite: TestRun | None = None  # the configured tests on the fixed tree
    suite_at_base: TestRun | None = None  # run only when the suite failed: which failures are new
    regressions: list[str] = Field(default_factory=list)  # failing after the fix, not before
    preexisting: list[str] = Field(default_factory=list)  # failing before the fix too
    environment: str = ""  # which environment, built or reused
    sandbox: str = ""
    claimed_confidence: Confidence | None = None  # what the model said, before any cap
    kept_reproduction: bool = True  # the reproduction test is committed with the fix
    seconds: float = 0.0

    @property
    def cap(self) -> Confidence | None:
        return CONFIDENCE_CAP[self.verdict]

    def capped(self, confidence: Confidence) -> Confidence:
        cap = self.cap
        return cap if cap is not None and confidence.rank > cap.rank else confidence

    def summary(self) -> str:
        """One line for notifications and logs."""
        return {
            "validated": "validated: reproduced, fixed, no test broke",
            "not_reproduced": "not reproduced",
            "regressions": f"tests failing: {', '.join(self.regressions[:3]) or 'the suite'}",
            "unavailable": "not validated",
        }[self.verdict] + ("" if self.verdict in ("validated", "regressions") else f" ({self.reason})")
