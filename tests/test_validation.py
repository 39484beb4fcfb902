"""The validate step's decisions: which test reproduces, what the base tree is, the verdict, the
confidence cap and the PR's Validation section. The runs themselves are real in
tests/test_validation_e2e.py; here an engine double records what it was asked to run."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from domain import Confidence, ErrorEvent, ExceptionInfo, FileChange, FixResult
from domain.validation import Validation
from execution.config import TestsConfig
from execution.engine import Environment, EnvironmentBuildError, TestEngine
from execution.report import FailedTest, TestReport, TestSelection
from server.pipeline.pr_text import pr_body
from server.pipeline.validation import base_overrides, decide, reproduction_test, validate
from tests.test_tools_files import git, make_repo

TESTS = TestsConfig(runner="pytest")
REPRO = "tests/test_repro.py"
SRC_BEFORE = "def total(xs):\n    return sum(xs) / len(xs)\n"
SRC_AFTER = "def total(xs):\n    return sum(xs) / max(len(xs), 1)\n"


def _fix(*, named: str | None = REPRO, extra: list[FileChange] | None = None) -> FixResult:
    changes = [FileChange(file="app/service.py", original="/ len(xs)", modified="/ max(len(xs), 1)"),
               FileChange(file=REPRO, original="", modified="def test_x():\n    ...\n"), *(extra or [])]
    return FixResult(analysis="a", root_cause="r", confidence=Confidence.HIGH, changes=changes,
                     reproduction_test=named)


def _report(passed: int = 0, failures: tuple[tuple[str, str], ...] = (), **kw: object) -> TestReport:
    fields: dict[str, object] = {"exit_code": 1 if failures else 0, "environment": "abc123, reused",
                                 "sandbox": "bwrap 0.11.0", **kw}
    return TestReport(command="python -m pytest", runner="pytest", passed=passed, failed=len(failures),
                      failures=[FailedTest(id=i, message=m) for i, m in failures], **fields)  # type: ignore[arg-type]


ZERO = ((f"{REPRO}::test_x", "ZeroDivisionError: division by zero"),)


def test_the_named_reproduction_test_or_the_only_new_test() -> None:
    assert reproduction_test(_fix(), TESTS) == (REPRO, "")
    assert reproduction_test(_fix(named=None), TESTS) == (REPRO, "")
    other = FileChange(file="tests/test_other.py", original="", modified="x = 1\n")
    assert reproduction_test(_fix(named=None, extra=[other]), TESTS)[0] is None
    path, why = reproduction_test(_fix(named="tests/test_service.py"), TESTS)
    assert path is None and "did not create it" in why
    only_code = FixResult(analysis="a", root_cause="r", confidence=Confidence.HIGH,
                          changes=[FileChange(file="app/service.py", original="x", modified="y")])
    assert reproduction_test(only_code, TESTS) == (None, "the fix adds no test that reproduces the error")


def test_base_overrides_restore_changed_files_and_keep_new_ones(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"app/service.py": SRC_BEFORE})
    base = git(repo, "rev-parse", "HEAD").strip()
    (repo / "app/service.py").write_text(SRC_AFTER)
    (repo / "tests").mkdir()
    (repo / REPRO).write_text("def test_x():\n    ...\n")
    assert base_overrides(repo, base, _fix()) == {"app/service.py": SRC_BEFORE}


def test_reproduced_and_green_is_validated() -> None:
    v = decide(repro=REPRO, why_no_repro="", exception="ZeroDivisionError", before=_report(failures=ZERO),
               after=_report(1), suite=_report(5), suite_at_base=None)
    assert v.verdict == "validated" and v.exception_seen and v.capped(Confidence.HIGH) is Confidence.HIGH
    assert v.before is not None and v.before.status().startswith("FAILED: tests/test_repro.py::test_x: ZeroDivision")


@pytest.mark.parametrize(("before", "after", "fragment"), [
    (_report(1), _report(1), "passes without the fix"),
    (_report(failures=((f"{REPRO}::test_x", "ImportError: cannot import name 'total'"),)), _report(1),
     "not with the event's ZeroDivisionError"),
    (_report(failures=ZERO), _report(failures=ZERO), "still fails with the fix"),
    (_report(limit="time", exit_code=None), _report(1), "did not complete without the fix"),
])
def test_not_reproduced_caps_at_medium(before: TestReport, after: TestReport, fragment: str) -> None:
    v = decide(repro=REPRO, why_no_repro="", exception="builtins.ZeroDivisionError", before=before, after=after,
               suite=_report(5), suite_at_base=None)
    assert v.verdict == "not_reproduced" and fragment in v.reason
    assert v.capped(Confidence.HIGH) is Confidence.MEDIUM and v.capped(Confidence.LOW) is Confidence.LOW


def test_new_failures_are_regressions_and_old_ones_are_named_but_forgiven() -> None:
    broken = (("tests/test_a.py::test_ok", "AssertionError"), ("tests/test_b.py::test_flaky", "boom"))
    v = decide(repro=REPRO, why_no_repro="", exception="ZeroDivisionError", before=_report(failures=ZERO),
               after=_report(1), suite=_report(3, broken), suite_at_base=_report(3, broken[1:]))
    assert v.verdict == "regressions" and v.regressions == ["tests/test_a.py::test_ok"]
    assert v.preexisting == ["tests/test_b.py::test_flaky"]
    only_old = decide(repro=REPRO, why_no_repro="", exception="ZeroDivisionError", before=_report(failures=ZERO),
                      after=_report(1), suite=_report(3, broken[1:]), suite_at_base=_report(3, broken[1:]))
    assert only_old.verdict == "validated" and only_old.preexisting == ["tests/test_b.py::test_flaky"]


def test_a_suite_that_fails_without_naming_a_test_where_it_passed_before_is_a_regression() -> None:
    cut = _report(2, limit="output", exit_code=None)
    v = decide(repro=None, why_no_repro="none", exception="", before=None, after=None, suite=cut,
               suite_at_base=_report(5))
    assert v.verdict == "regressions" and "the test command" in v.regressions[0]


def test_more_failures_than_before_is_a_regression_even_when_the_lists_are_cut() -> None:
    listed = tuple((f"tests/test_x.py::test_{n}", "boom") for n in range(20))  # a report lists at most 20
    before, after = _report(0, listed), _report(0, listed)
    after.failed += 3  # three more failures than the list shows
    v = decide(repro=None, why_no_repro="none", exception="", before=None, after=None, suite=after,
               suite_at_base=before)
    assert v.verdict == "regressions" and "23 failed" in v.regressions[0]
    same = decide(repro=None, why_no_repro="none", exception="", before=None, after=None, suite=_report(0, listed),
                  suite_at_base=_report(0, listed))
    assert same.verdict == "not_reproduced" and len(same.preexisting) == 20


def test_a_suite_that_cannot_run_is_unavailable() -> None:
    v = decide(repro=REPRO, why_no_repro="", exception="E", before=None, after=None,
               suite=_report(error="bwrap: No permissions to create new namespace"), suite_at_base=None)
    assert v.verdict == "unavailable" and "namespace" in v.reason and v.capped(Confidence.HIGH) is Confidence.MEDIUM


class EngineDouble(TestEngine):
    """Answers from a script and records each run's selection and overrides."""

    def __init__(self, answer: Callable[[TestSelection | None, Mapping[str, str] | None], TestReport],
                 unavailable: str | None = None, build_error: str | None = None) -> None:
        super().__init__(Path("/nonexistent"))
        self.answer, self.why, self.build_error = answer, unavailable, build_error
        self.runs: list[tuple[list[str], dict[str, str]]] = []

    def unavailable(self) -> str | None:
        return self.why

    async def prepare(self, repo_key: str, worktree: Path, tests: TestsConfig,
                      progress: Callable[[str], None] | None = None) -> Environment:
        if self.build_error:
            raise EnvironmentBuildError(self.build_error)
        return Environment(key="k", path=Path("/nonexistent"), reused=True, description="python 3.11 venv, reused")

    async def run(self, worktree: Path, tests: TestsConfig, environment: Environment,
                  selection: TestSelection | None = None, overrides: Mapping[str, str] | None = None) -> TestReport:
        self.runs.append((selection.tests if selection else [], dict(overrides or {})))
        return self.answer(selection, overrides)


EVENT = ErrorEvent(id="e1", exceptions=[ExceptionInfo(type="ZeroDivisionError", value="division by zero")])


async def test_validate_runs_before_after_and_the_suite(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"app/service.py": SRC_BEFORE})
    base = git(repo, "rev-parse", "HEAD").strip()
    (repo / "app/service.py").write_text(SRC_AFTER)

    def answer(selection: TestSelection | None, overrides: Mapping[str, str] | None) -> TestReport:
        if selection and overrides:
            return _report(failures=ZERO)
        return _report(1 if selection else 6)

    engine = EngineDouble(answer)
    v = await validate(engine, TESTS, "acme/shop", repo, base, EVENT, _fix())
    assert v.verdict == "validated" and v.claimed_confidence is Confidence.HIGH and v.kept_reproduction
    assert engine.runs == [([REPRO], {"app/service.py": SRC_BEFORE}), ([REPRO], {}), ([], {})]
    assert v.environment == "python 3.11 venv, reused"


@pytest.mark.parametrize(("engine", "fragment"), [
    (None, "no test engine"),
    (EngineDouble(lambda s, o: _report(1), unavailable="bubblewrap cannot start: no user namespaces"),
     "no user namespaces"),
    (EngineDouble(lambda s, o: _report(1), build_error="`pip install -e .` failed (exit 1)"),
     "the environment could not be built: `pip install -e .` failed"),
    (EngineDouble(lambda s, o: 1 / 0), "internal error: ZeroDivisionError"),  # type: ignore[arg-type,return-value]
])
async def test_validate_never_raises(tmp_path: Path, engine: TestEngine | None, fragment: str) -> None:
    repo = make_repo(tmp_path / "repo", {"app/service.py": SRC_BEFORE})
    v = await validate(engine, TESTS, "acme/shop", repo, "HEAD", EVENT, _fix())
    assert v.verdict == "unavailable" and fragment in v.reason and v.capped(Confidence.HIGH) is Confidence.MEDIUM


def test_the_pr_body_shows_the_validation() -> None:
    v = decide(repro=REPRO, why_no_repro="", exception="ZeroDivisionError", before=_report(failures=ZERO),
               after=_report(1), suite=_report(5), suite_at_base=None)
    v = v.model_copy(update={"claimed_confidence": Confidence.HIGH, "seconds": 2.5})
    body = pr_body(_fix(), EVENT, None, validation=v)
    assert "## Validation" in body and "**Verdict: validated.**" in body
    assert "- **Reproduction test without the fix:** FAILED: `tests/test_repro.py::test_x: ZeroDivisionError" in body
    assert "- **Reproduction test with the fix:** PASSED" in body
    assert "- **Test suite with the fix:** 5 passed, 0 failed" in body
    assert "Commands: `python -m pytest`" in body and "Sandbox: bwrap 0.11.0" in body.replace("; sandbox", "; Sandbox")
    assert f"- `{REPRO}` (the reproduction test)" in body
    assert body.index("## Validation") < body.index("**Confidence:**") < body.index("must be reviewed by a person")
    dropped = pr_body(_fix(), EVENT, None, validation=v.model_copy(update={"kept_reproduction": False}))
    assert "is not part of this pull request (tests.keep-reproduction: false)" in dropped
    sneaky = v.model_copy(update={"before": v.before.model_copy(update={  # type: ignore[union-attr]
        "failures": ["t: `@acme/admins` see [this](https://evil.example)\n## Approved"]})})
    assert "FAILED: `t: '@acme/admins' see [this](https://evil.example) ## Approved`" in pr_body(
        _fix(), EVENT, None, validation=sneaky)
    capped = Validation(verdict="not_reproduced", reason="x", claimed_confidence=Confidence.HIGH)
    assert "claimed HIGH confidence; without a validated fix it is at most MEDIUM" in pr_body(
        _fix(), EVENT, None, validation=capped)
