"""Scoring a case's tests: which tests each run selects, and each test id's outcome in its output
(pytest, unittest and node's test runner).

Scoring is SWE-bench-style: a test counts only when the runner reports it PASSED. Skipped,
xfailed, todo, errored, timed-out and unreported tests are all failures (a fix that makes a
test skip itself has not fixed anything), and the command's exit code must be 0 as well, so
output that merely looks like a pass ("PASSED", "ok 1 - …") from a command that failed is not
believed.

The runs go through the execution engine (`TestEngine.run` with a `TestSelection` of the case's
ids, in the case's environment and the sandbox, exactly as the service runs a project's tests);
the engine's report counts tests, and the per-id reading is here:

pytest: the `-rA` short test summary only (lines after its last header, so a test's own printed
output cannot forge one). unittest (run with `-b`, which swallows what a test prints): each
test's verbose result line, cross-checked with the closing `Ran N tests` / `OK (…)` lines and the
`FAIL:` / `ERROR:` blocks (see `parse_unittest`). node: one run per test file, the listed
top-level tests selected by anchored `--test-name-pattern`s, read from the top-level TAP
`ok N - name` / `not ok N - name` lines with their `# SKIP` / `# TODO` directives.
"""

from __future__ import annotations

import re
import shlex
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, Field

from evals.case import Case, file_of_test
from evals.sandbox import CommandResult, SandboxError
from execution.config import TestsConfig
from execution.engine import Environment, TestEngine
from execution.report import MAX_TAIL_CHARS, TestSelection
from execution.runners import pytest_summary
from execution.runners import tap_outcomes as parse_tap

PASSED = "passed"
OUTPUT_TAIL_CHARS = 4000
# Outcomes that may only mean the output was cut before the test's result.
UNREAD = ("missing", "ambiguous")
# Runs the case's tests selected by ids (in the runner's spelling) in its worktree.
Execute = Callable[[list[str]], Awaitable[CommandResult]]

_SKIPPED_LOCATION = re.compile(r"^\[\d+\]\s+(?P<file>[^:]+?)(?::\d+)?:\s")
# A reported node id: everything up to whitespace, except inside a parametrisation's brackets.
_REPORTED_ID = re.compile(r"^(?P<id>[^\s\[]+(?:\[[^\]]*\])?)")
_UNITTEST_SEPARATOR = re.compile(r"^(=|-){70}$")
_UNITTEST_LINE = re.compile(r"^(?P<indent> *)(?P<name>\w+) \((?P<id>[\w.]+)\)(?P<rest>.*)$")
_UNITTEST_BLOCK = re.compile(r"^(FAIL|ERROR): \w+ \(([\w.]+)\)", re.MULTILINE)
_UNITTEST_RAN = re.compile(r"^Ran (\d+) tests? in ")
_UNITTEST_COUNT = re.compile(r"(skipped|expected failures|unexpected successes)=(\d+)")
_UNITTEST_RESULTS = {"ok": PASSED, "FAIL": "failed", "ERROR": "error", "expected failure": "xfail",
                     "unexpected success": "xpass"}


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


@dataclass(frozen=True)
class ScoringRun:
    """One run of a case's scoring: the tests it selects, in the runner's own spelling, and the
    case's test ids whose outcomes its output holds."""

    runner: str  # pytest | unittest | node
    ids: list[str]

    @property
    def selection(self) -> list[str]:
        return [unittest_id(i) for i in self.ids] if self.runner == "unittest" else list(self.ids)

    def outcomes(self, output: str) -> dict[str, str]:
        if self.runner == "pytest":
            return parse_pytest_summary(output, self.ids)
        if self.runner == "unittest":
            return parse_unittest(output, self.ids)
        reported = parse_tap(output)
        return {i: reported.get(_node_name(i), "missing") for i in self.ids}


def scoring_config(case: Case) -> TestsConfig:
    """The case's environment as its scoring runs it: unittest with `-b`, so what a test prints
    is held back instead of landing between the result lines."""
    tests = case.environment
    if tests.runner == "unittest" and " -b" not in f" {tests.test_command} ":
        return tests.model_copy(update={"command": f"{tests.test_command} -b"})
    return tests


def scoring_runs(case: Case) -> list[ScoringRun]:
    """pytest and unittest: one run of every id; node: one per test file (its names are selected
    by patterns, which apply to every file of a run)."""
    ids, runner = case.test_ids, case.spec.test.runner
    if runner != "node":
        return [ScoringRun(runner, ids)]
    by_file: dict[str, list[str]] = defaultdict(list)
    for test_id in ids:
        by_file[file_of_test(test_id)].append(test_id)
    return [ScoringRun(runner, file_ids) for file_ids in by_file.values()]


async def run_case_tests(case: Case, execute: Execute) -> SuiteOutcome:
    """Run the case's scoring with `execute` and read every test id's outcome.

    The engine keeps only the end of a run's output. When that end was too short to hold some
    test's result (long tracebacks before unittest's summary, TAP diagnostics), those tests run
    again one at a time, where their result fits; every run's exit status still counts."""
    suite = SuiteOutcome()

    async def score(scoring: ScoringRun) -> dict[str, str]:
        result = await execute(scoring.selection)
        suite.commands.append(_record(result))
        suite.full_output.append(result.output)
        if result.timed_out:
            return dict.fromkeys(scoring.ids, "timeout")
        outcomes = scoring.outcomes(result.output)
        if not result.truncated:
            return outcomes
        unread = [i for i, o in outcomes.items() if o in UNREAD]
        if len(scoring.ids) == 1 and unread and result.returncode != 0:
            return {unread[0]: "failed"}  # run alone, it failed: whatever it printed, it did not pass
        for test_id in unread if len(scoring.ids) > 1 else []:
            outcomes.update(await score(ScoringRun(scoring.runner, [test_id])))
        return outcomes

    for scoring in scoring_runs(case):
        suite.outcomes.update(await score(scoring))
    return suite


def engine_execute(engine: TestEngine, worktree: Path, tests: TestsConfig, environment: Environment) -> Execute:
    """Scoring runs through the engine: the tests of `worktree` in `environment`, in the sandbox.
    A run the engine refused (no sandbox, a bad selection) is the harness's error, not a fix's."""

    async def execute(selection: list[str]) -> CommandResult:
        report = await engine.run(worktree, tests, environment, TestSelection(tests=selection))
        if report.error is not None:
            raise SandboxError(f"the case's tests could not run: {report.error}")
        cut = f"\n[autofixer eval: cut at the {report.limit} limit]" if report.limit else ""
        # A run cut at a limit has no exit status to believe: its tests count as timed out.
        code = report.exit_code if report.limit is None else None
        return CommandResult(shlex.split(report.command), code, report.output_tail + cut, report.seconds,
                             truncated=len(report.output_tail) >= MAX_TAIL_CHARS)

    return execute


def _record(result: CommandResult) -> CommandRecord:
    return CommandRecord(argv=result.argv, returncode=result.returncode, seconds=round(result.seconds, 3),
                         output_tail=result.output[-OUTPUT_TAIL_CHARS:])


# --- pytest -------------------------------------------------------------------------------------


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


# --- node ---------------------------------------------------------------------------------------


def _node_name(test_id: str) -> str:
    return test_id.split("::", 1)[1] if "::" in test_id else ""


# --- unittest -----------------------------------------------------------------------------------


def unittest_id(test_id: str) -> str:
    """`tests/test_x.py::Class::test_y` → `tests.test_x.Class.test_y` (what unittest loads)."""
    path, _, rest = test_id.partition("::")
    module = path.removesuffix(".py").replace("/", ".")
    return ".".join([module, *rest.split("::")]) if rest else module


def parse_unittest(output: str, ids: Iterable[str]) -> dict[str, str]:
    """Each requested id's outcome from `unittest -v`'s result lines (those before the first
    separator line), cross-checked with what unittest prints after every test has run.

    A test's result follows its ` ... ` on its line, or on the next one when it has a docstring;
    a failed subtest's line is indented under its test. What a test writes straight to the
    terminal can land in those lines, so nothing there is believed on its own: a test named on
    more than one line is `ambiguous`; one with a `FAIL:` / `ERROR:` block after the results
    failed; and unless the final `Ran N tests` and `OK`/`FAILED (…)` lines agree with the result
    lines (how many tests, how many skipped, expected failures, unexpected successes), every
    test is `ambiguous`.
    """
    lines = output.splitlines()
    end = next((i for i, line in enumerate(lines) if _UNITTEST_SEPARATOR.match(line)), len(lines))
    results: dict[str, list[str]] = defaultdict(list)
    subtest_failed: set[str] = set()
    for i, line in enumerate(lines[:end]):
        m = _UNITTEST_LINE.match(line)
        if not m:
            continue
        rest = m.group("rest")
        if " ... " not in rest and i + 1 < end and " ... " in lines[i + 1]:
            rest = lines[i + 1]  # a docstring's first line, then the result
        result = rest.partition(" ... ")[2].strip()
        if m.group("indent"):
            subtest_failed.add(m.group("id"))
        else:
            results[m.group("id")].append(result)
    blocks = {m.group(2): m.group(1) for m in _UNITTEST_BLOCK.finditer(output)}
    consistent = _unittest_totals_agree(lines, [r for seen in results.values() for r in seen])
    outcomes: dict[str, str] = {}
    for test_id in ids:
        dotted = unittest_id(test_id)
        seen = results.get(dotted, [])
        if len(seen) > 1 or not consistent:
            outcomes[test_id] = "ambiguous"
        elif dotted in blocks or dotted in subtest_failed:
            outcomes[test_id] = "error" if blocks.get(dotted) == "ERROR" else "failed"
        elif not seen:
            outcomes[test_id] = "missing"
        elif seen[0].startswith("skipped"):
            outcomes[test_id] = "skipped"
        else:
            outcomes[test_id] = _UNITTEST_RESULTS.get(seen[0], "missing")
    return outcomes


def _unittest_totals_agree(lines: list[str], results: list[str]) -> bool:
    """unittest's closing `Ran N tests` and `OK (…)` / `FAILED (…)` lines, printed after every
    test has finished, against the result lines read before them."""
    ran = [i for i, line in enumerate(lines) if _UNITTEST_RAN.match(line)]
    if not ran:
        return False
    last = ran[-1]
    status = next((line for line in lines[last + 1:] if line.strip()), "")
    counts = {k: int(v) for k, v in _UNITTEST_COUNT.findall(status)}
    expected = {
        "skipped": sum(1 for r in results if r.startswith("skipped")),
        "expected failures": results.count("expected failure"),
        "unexpected successes": results.count("unexpected success"),
    }
    ran_match = _UNITTEST_RAN.match(lines[last])
    return (ran_match is not None and int(ran_match.group(1)) == len(results)
            and all(counts.get(k, 0) == v for k, v in expected.items()))
