"""Did the run reproduce the bug, and would the service's validation vouch for its fix?

Measured here, never read from the agent's words: the test files the run added (new files that
look like tests) are run through the engine on the *base* tree (a checkout of the commit the
agent started from, the new files laid over it with `overrides`) and must fail there: that is a
reproduction. The fix is *validated* as the pipeline validates one: the reproduction fails at
base, passes on the run's final tree, and the project's suite is green on that tree. The suite
is the one the agent could see (the hidden FAIL_TO_PASS files are put back only afterwards, for
scoring), which is what production has when the pipeline validates.
"""

from __future__ import annotations

import fnmatch
from pathlib import PurePosixPath

from evals.case import Case
from evals.sandbox import Sandbox, base_tree, file_at_base
from evals.scoring import Validation
from execution.engine import Environment, TestEngine
from execution.report import TestReport, TestSelection

# What a test file is called, per runner (the conventions the runners discover by default).
TEST_FILE_GLOBS: dict[str, tuple[str, ...]] = {
    "pytest": ("test_*.py", "*_test.py"),
    "unittest": ("test*.py",),
    "node": ("*.test.js", "*.test.mjs", "*.test.cjs", "*.spec.js", "test-*.js"),
}


def is_test_file(path: str, runner: str) -> bool:
    name = PurePosixPath(path).name
    return any(fnmatch.fnmatchcase(name, g) for g in TEST_FILE_GLOBS.get(runner, ()))


async def added_test_files(case: Case, sandbox: Sandbox, changed: list[str]) -> list[str]:
    """The test files the run created (absent at its base): its reproduction attempts."""
    runner = case.spec.test.runner
    return [p for p in changed
            if is_test_file(p, runner) and (sandbox.worktree / p).is_file() and await file_at_base(sandbox, p) is None]


def _failed(report: TestReport) -> bool:
    """A test failed or errored in a run that itself happened (not cut at a limit, not refused)."""
    return report.error is None and report.limit is None and (report.failed + report.errors) > 0


def _counts(report: TestReport) -> str:
    if report.error:
        return f"not run: {report.error}"
    return report.counts() + (f" (cut at the {report.limit} limit)" if report.limit else "") + \
        ("" if report.exit_code in (0, None) else f", exit {report.exit_code}")


async def validate(case: Case, sandbox: Sandbox, engine: TestEngine, environment: Environment,
                   changed: list[str]) -> Validation:
    tests = await added_test_files(case, sandbox, changed)
    if not tests:
        return Validation()
    selection = TestSelection(tests=tests)
    config = case.environment
    overrides = {p: (sandbox.worktree / p).read_text(encoding="utf-8", errors="replace") for p in tests}
    at_base = await engine.run(await base_tree(sandbox), config, environment, selection, overrides)
    validation = Validation(tests=tests, at_base=_counts(at_base), failed_at_base=_failed(at_base))
    if not validation.failed_at_base:
        validation.detail = "the added tests do not fail on the base tree: nothing was reproduced"
        return validation
    after = await engine.run(sandbox.worktree, config, environment, selection)
    suite = await engine.run(sandbox.worktree, config, environment)
    validation.after, validation.passes_after = _counts(after), after.ok
    validation.suite, validation.suite_green = _counts(suite), suite.ok
    return validation
