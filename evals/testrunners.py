"""Running a case's tests and reading per-test outcomes (pytest and node's test runner).

Scoring is SWE-bench-style: a test counts only when the runner reports it PASSED. Skipped,
xfailed, todo, errored, timed-out and unreported tests are all failures (a fix that makes a
test skip itself has not fixed anything), and the command's exit code must be 0 as well, so
output that merely looks like a pass ("PASSED", "ok 1 - …") from a command that failed is not
believed.

pytest: `python -m pytest -q -p no:cacheprovider -rA <ids>`; the outcome of each test is read
from the `-rA` short test summary only (lines after its header, so a test's own printed output
cannot forge one). node: `node --test --test-reporter=tap` once per test file, selecting the
listed top-level tests with anchored `--test-name-pattern`s, and reading the top-level TAP
`ok N - name` / `not ok N - name` lines with their `# SKIP` / `# TODO` directives. The readers of
both formats are the execution engine's (execution/runners.py).
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, Field

from evals.case import Case, file_of_test
from evals.sandbox import CommandResult, run_command
from execution.runners import js_regex_escape, pytest_summary
from execution.runners import tap_outcomes as parse_tap

PASSED = "passed"
# The case's tests run with the harness's interpreter, whose site-packages hold autofixer's own
# test plugins (pytest-asyncio, anyio, …). They are not the case's and must not change how its
# tests run; not loading them also halves pytest's start-up. A case that needs a plugin names it
# in its pytest.ini (`addopts = -p name`).
PYTEST_ENV = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
OUTPUT_TAIL_CHARS = 4000

_SKIPPED_LOCATION = re.compile(r"^\[\d+\]\s+(?P<file>[^:]+?)(?::\d+)?:\s")
# A reported node id: everything up to whitespace, except inside a parametrisation's brackets.
_REPORTED_ID = re.compile(r"^(?P<id>[^\s\[]+(?:\[[^\]]*\])?)")


class CommandRecord(BaseModel):
    argv: list[str]
    returncode: int | None  # None: killed at the timeout
    seconds: float
    output_tail: str = ""


class SuiteOutcome(BaseModel):
    """The outcome of every requested test, and whether the commands themselves succeeded."""

    outcomes: dict[str, str] = Field(default_factory=dict)  # test id → passed | failed | skipped | …
    commands: list[CommandRecord] = Field(default_factory=list)
    # The commands' full output, for the run's log file; the results keep only a tail.
    full_output: list[str] = Field(default_factory=list, exclude=True)

    @property
    def exit_ok(self) -> bool:
        return all(c.returncode == 0 for c in self.commands)

    def passed(self, test_id: str) -> bool:
        return self.outcomes.get(test_id) == PASSED


def _record(result: CommandResult) -> CommandRecord:
    return CommandRecord(argv=result.argv, returncode=result.returncode, seconds=round(result.seconds, 3),
                         output_tail=result.output[-OUTPUT_TAIL_CHARS:])


# --- pytest -------------------------------------------------------------------------------------


def pytest_argv(ids: list[str]) -> list[str]:
    return [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rA", *ids]


def parse_pytest_summary(output: str, ids: Iterable[str]) -> dict[str, str]:
    """Each requested id's outcome from pytest's `-rA` short summary.

    Only lines after the last summary header count. An id naming a parametrised test (`test_x`
    for `test_x[1]`, `test_x[2]`) passes only if every instance passed. SKIPPED lines carry a
    location, not an id, so a skip is attributed to the requested ids of that file nothing else
    was reported for.
    """
    reported: dict[str, str] = {}
    skipped_files: set[str] = set()
    for word, rest in pytest_summary(output):
        if word == "SKIPPED":
            loc = _SKIPPED_LOCATION.match(rest)
            if loc:
                skipped_files.add(loc.group("file"))
            continue
        rid = _REPORTED_ID.match(rest)
        if rid:
            reported.setdefault(rid.group("id"), word.lower())
    outcomes: dict[str, str] = {}
    for test_id in ids:
        matches = [o for r, o in reported.items() if r == test_id or r.startswith(test_id + "[")]
        if matches:
            outcomes[test_id] = PASSED if all(o == PASSED for o in matches) else next(o for o in matches if o != PASSED)
        elif file_of_test(test_id) in skipped_files:
            outcomes[test_id] = "skipped"
        else:
            outcomes[test_id] = "missing"  # not collected, not run, or the run died first
    return outcomes


async def run_pytest(worktree: Path, ids: list[str], timeout: float) -> SuiteOutcome:
    result = await run_command(pytest_argv(ids), worktree, timeout, PYTEST_ENV)
    outcomes = {i: "timeout" for i in ids} if result.timed_out else parse_pytest_summary(result.output, ids)
    return SuiteOutcome(outcomes=outcomes, commands=[_record(result)], full_output=[result.output])


# --- node ---------------------------------------------------------------------------------------


def node_argv(file: str, names: list[str]) -> list[str]:
    patterns = [f"--test-name-pattern=^{js_regex_escape(n)}$" for n in names]
    return ["node", "--test", "--test-reporter=tap", *patterns, file]


async def run_node(worktree: Path, ids: list[str], timeout: float) -> SuiteOutcome:
    by_file: dict[str, list[str]] = defaultdict(list)
    for test_id in ids:
        by_file[file_of_test(test_id)].append(test_id)
    suite = SuiteOutcome()
    for file, file_ids in by_file.items():
        names = [i.split("::", 1)[1] if "::" in i else "" for i in file_ids]
        result = await run_command(node_argv(file, [n for n in names if n]), worktree, timeout)
        suite.commands.append(_record(result))
        suite.full_output.append(result.output)
        reported = {} if result.timed_out else parse_tap(result.output)
        for test_id, name in zip(file_ids, names, strict=True):
            suite.outcomes[test_id] = "timeout" if result.timed_out else reported.get(name, "missing")
    return suite


async def run_case_tests(case: Case, worktree: Path) -> SuiteOutcome:
    ids = case.test_ids
    if case.spec.test.runner == "pytest":
        return await run_pytest(worktree, ids, case.spec.test.timeout)
    return await run_node(worktree, ids, case.spec.test.timeout)
