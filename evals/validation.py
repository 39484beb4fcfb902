"""Did the run reproduce the bug, and would the service's validation vouch for its fix?

Both are measured here, never read from the agent's words, on the run's tree before the hidden
FAIL_TO_PASS files come back (what production has when the pipeline validates):

- *reproduced*: the test files the run added (new files that look like tests) run through the
  engine on the *base* tree (a checkout of the commit the agent started from, the new files laid
  over it with `overrides`) and fail there. Every added test file counts, named or not.
- *validated*: the pipeline's own `validate` (server/pipeline/validation.py, the very function
  the service's validate step runs) says "validated": the reproduction test fails before the fix
  with the event's exception, passes after it, and no test broke.
"""

from __future__ import annotations

from domain import FixResult
from domain.validation import Validation
from evals.case import Case
from evals.sandbox import Sandbox, base_tree, file_at_base
from evals.scoring import Reproduction
from execution.engine import Environment, TestEngine
from execution.report import TestReport, TestSelection
from server.pipeline.validation import validate
from tools.policy import TestFilePolicy


async def added_test_files(case: Case, sandbox: Sandbox, changed: list[str]) -> list[str]:
    """The test files the run created (absent at its base): its reproduction attempts."""
    tests = case.environment
    policy = TestFilePolicy(runner=tests.runner, test_dir=tests.test_dir)
    return [p for p in changed if policy.is_test(p) and (sandbox.worktree / p).is_file()
            and await file_at_base(sandbox, p) is None]


def _failed(report: TestReport) -> bool:
    """A test failed or errored in a run that itself happened (not cut at a limit, not refused)."""
    return report.error is None and report.limit is None and (report.failed + report.errors) > 0


def _counts(report: TestReport) -> str:
    if report.error:
        return f"not run: {report.error}"
    return report.counts() + (f" (cut at the {report.limit} limit)" if report.limit else "") + \
        ("" if report.exit_code in (0, None) else f", exit {report.exit_code}")


async def reproduction(case: Case, sandbox: Sandbox, engine: TestEngine, environment: Environment,
                       changed: list[str]) -> Reproduction:
    tests = await added_test_files(case, sandbox, changed)
    if not tests:
        return Reproduction(detail="the run added no test file")
    overrides = {p: (sandbox.worktree / p).read_text(encoding="utf-8", errors="replace") for p in tests}
    at_base = await engine.run(await base_tree(sandbox), case.environment, environment, TestSelection(tests=tests),
                               overrides)
    failed = _failed(at_base)
    return Reproduction(tests=tests, at_base=_counts(at_base), failed_at_base=failed,
                        detail="" if failed else "the added tests do not fail on the base tree")


async def pipeline_validation(case: Case, sandbox: Sandbox, engine: TestEngine, fix: FixResult) -> Validation:
    """The service's verdict on this fix, from the service's own validation code."""
    return await validate(engine, case.environment, case.environment_key, sandbox.worktree, sandbox.base_sha,
                          case.event, fix)
