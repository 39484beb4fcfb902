"""The eval harness, end to end: real worktrees, the real agent loop and tools, the cases' own
tests run by pytest and node.

The CI guarantees: the oracle (gold patch through propose_patch) resolves every case and the
null baseline (no change) resolves none, both over the two harness fixtures in
tests/eval_fixtures/ and over every real case in evals/cases/. If a case breaks either, the
case is broken (its tests cannot fail, or its gold patch does not fix them).

Also covered: the files holding FAIL_TO_PASS tests are hidden from the agent and restored for
scoring, replay (matching recording scores, stale recording is reported and not scored),
record-replay from a live run (the real anthropic SDK against a local fake Messages API),
compare (per-case flips), show (turn by turn), the JSON/Markdown reports, and the scoring rules:
a skipped test fails, and so does a test command that reports passes but exits non-zero.
"""

from __future__ import annotations

import asyncio
import io
import json
import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.provider import ModelTurn, ToolCall
from agent.replay_provider import Recording
from agent.transcript import read_transcript
from domain import Confidence
from evals.case import DEFAULT_CASES_DIR, Case, discover_cases, load_case
from evals.compare import compare_text, flips
from evals.goldpatch import file_edits, gold_edits
from evals.localisation import changed_functions, javascript_spans, python_spans
from evals.replays import find_recording, record_replay, recording_path
from evals.report import markdown_report, summary_text
from evals.runfile import RunFile, load_run
from evals.runner import DEFAULT_STATE_DIR, EvalConfig, EvalUnavailable, default_llm, eval_prompt_version, run_eval
from evals.sandbox import changed_files, create_sandbox, restore_files
from evals.scoring import is_resolved, verdict, wilson
from evals.testrunners import (
    SuiteOutcome,
    engine_execute,
    parse_pytest_summary,
    parse_tap,
    run_case_tests,
    scoring_config,
)
from execution.engine import Environment, EnvironmentBuildError, TestEngine
from server.cli import main as autofixer
from tests.fakes.anthropic_api import API_KEY, FakeAnthropic, text, tool_use
from tests.fakes.serve import serve_app
from tests.registry_access import skip_if_offline

FIXTURES = Path(__file__).resolve().parent / "eval_fixtures"
FIXTURE_IDS = ["js-stats-average", "py-cart-discount", "py-unittest-median"]
REAL_CASE_IDS = sorted(p.name for p in DEFAULT_CASES_DIR.glob("*") if (p / "case.yml").is_file())
JOBS = "2"

pytestmark = pytest.mark.slow


def _eval(out: Path, *args: str) -> int:
    return autofixer(["eval", "--out", str(out), "--jobs", JOBS, *args])


def _quiet_config(**kwargs: object) -> EvalConfig:
    return EvalConfig(progress_stream=io.StringIO(), jobs=2, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def runs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("eval-runs")


@pytest.fixture(scope="session")
def fixture_oracle(runs_dir: Path) -> tuple[int, Path]:
    out = runs_dir / "fixtures-oracle"
    return _eval(out, "--llm", "oracle", "--cases-dir", str(FIXTURES)), out


@pytest.fixture(scope="session")
def fixture_null(runs_dir: Path) -> tuple[int, Path]:
    out = runs_dir / "fixtures-null"
    return _eval(out, "--llm", "null", "--cases-dir", str(FIXTURES)), out


@pytest.fixture(scope="session")
def real_oracle(runs_dir: Path) -> RunFile:
    out = runs_dir / "real-oracle"
    _eval(out, "--llm", "oracle")
    return load_run(out)[1]


@pytest.fixture(scope="session")
def real_null(runs_dir: Path) -> RunFile:
    out = runs_dir / "real-null"
    _eval(out, "--llm", "null")
    return load_run(out)[1]


def _copy_case(src: str, cases_dir: Path, edit: Callable[[Path], None] | None = None) -> Path:
    dest = cases_dir / src
    shutil.copytree(FIXTURES / src, dest)
    if edit is not None:
        edit(dest)
    return dest


# --- the CI guarantees ---------------------------------------------------------------------------


def test_fixture_cases_load() -> None:
    cases = discover_cases(FIXTURES)
    assert [c.id for c in cases] == FIXTURE_IDS
    assert {c.spec.test.runner for c in cases} == {"pytest", "node", "unittest"}
    for case in cases:
        assert case.event.error_type  # the recorded event parses
        assert gold_edits(case.repo_dir, case.gold_patch)


def test_oracle_resolves_every_fixture_case(fixture_oracle: tuple[int, Path]) -> None:
    code, out = fixture_oracle
    assert code == 0
    run = load_run(out)[1]
    assert run.run.llm == "oracle" and "ORACLE" in run.run.label
    assert run.summary.resolve_rate == 1.0 and run.summary.scored == len(FIXTURE_IDS)
    for r in run.results:
        assert r.resolved and r.status == "scored" and r.tests_exit_ok
        assert r.confidence == Confidence.HIGH and r.calibration == "justified"
        assert r.exit_reason == "submitted" and r.patch_applied
        assert r.localisation is not None and r.localisation.file_hit and r.localisation.function_hit
        assert set(r.localisation.gold_files_seen) == set(r.localisation.gold_files)


def test_null_resolves_no_fixture_case(fixture_null: tuple[int, Path]) -> None:
    code, out = fixture_null
    assert code == 0  # every run was scored; a 0 % rate is a measurement, not an error
    run = load_run(out)[1]
    assert run.summary.resolve_rate == 0.0 and run.summary.scored == len(FIXTURE_IDS)
    for r in run.results:
        assert r.resolved is False and not r.patch_applied
        assert all(o in ("failed", "error") for o in r.fail_to_pass.values())
        assert all(o == "passed" for o in r.pass_to_pass.values())
        assert r.confidence == Confidence.LOW and r.calibration == "justified"


def test_real_cases_exist() -> None:
    if not REAL_CASE_IDS:
        pytest.skip(f"{DEFAULT_CASES_DIR} holds no cases yet")
    listed = sorted(p.name for p in DEFAULT_CASES_DIR.glob("*") if (p / "case.yml").is_file())
    assert [c.id for c in discover_cases()] == listed  # every case directory loads


@pytest.mark.parametrize("case_id", REAL_CASE_IDS)
def test_oracle_resolves_real_case(real_oracle: RunFile, case_id: str) -> None:
    result = real_oracle.result(case_id, 1)
    assert result is not None, f"{case_id} did not run"
    if result.status == "error":  # a case whose environment installs from PyPI, on a machine without it
        skip_if_offline(result.detail)
    assert result.status == "scored", result.detail
    assert result.resolved, {**result.fail_to_pass, **result.pass_to_pass}
    assert result.localisation is not None and result.localisation.file_hit


@pytest.mark.parametrize("case_id", REAL_CASE_IDS)
def test_null_fails_real_case(real_null: RunFile, case_id: str) -> None:
    result = real_null.result(case_id, 1)
    if result is not None and result.status == "error":
        skip_if_offline(result.detail)
    assert result is not None and result.status == "scored", result and result.detail
    assert result.resolved is False
    # The case is well formed: its FAIL_TO_PASS tests fail on the buggy code, the rest pass.
    assert all(o != "passed" for o in result.fail_to_pass.values()), result.fail_to_pass
    assert all(o == "passed" for o in result.pass_to_pass.values()), result.pass_to_pass


# --- reports --------------------------------------------------------------------------------------


def test_results_json_and_report_carry_the_metrics(fixture_oracle: tuple[int, Path]) -> None:
    _, out = fixture_oracle
    data = json.loads((out / "results.json").read_text())
    summary = data["summary"]
    for key in ("resolve_rate", "resolve_rate_ci95", "cost_per_resolved_usd", "calibration", "verdicts",
                "usage", "mean_steps", "mean_tool_calls", "file_hit_rate", "function_hit_rate", "exit_reasons"):
        assert key in summary
    assert summary["resolve_rate_ci95"] == pytest.approx(list(wilson(3, 3)))
    assert summary["calibration"]["HIGH"] == {"count": 3, "resolved": 3, "as_expected": 3}
    result = data["results"][0]
    for key in ("resolved", "patch_applied", "localisation", "confidence", "calibration", "usage", "wall_seconds",
                "exit_reason", "fail_to_pass", "pass_to_pass", "transcript", "diff"):
        assert key in result
    for key in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "cost_usd", "steps",
                "tool_calls"):
        assert key in result["usage"]
    assert data["run"]["prompt_version"] == eval_prompt_version()
    for case_id in FIXTURE_IDS:  # one transcript per case per repeat
        assert (out / "transcripts" / case_id / "r1.jsonl").is_file()
    report = (out / "report.md").read_text()
    for phrase in ("ORACLE", "resolve rate", "**100.0 %**", "95 % confidence interval (Wilson)",
                   "cost per resolved fix", "## Calibration", "| HIGH | 3 | 3 | 100.0 % |", "## Localisation",
                   "sandbox: bwrap; environments in",
                   "js-stats-average"):
        assert phrase in report


def _new_file_patch(path: str, text: str) -> str:
    lines = text.splitlines()
    return (f"diff --git a/{path} b/{path}\nnew file mode 100644\n--- /dev/null\n+++ b/{path}\n"
            f"@@ -0,0 +1,{len(lines)} @@\n" + "".join(f"+{line}\n" for line in lines))


def _variant(cases_dir: Path, case_id: str, patch: str) -> None:
    """py-unittest-median as `case_id`, whose gold patch (what the oracle plays) is `patch`."""
    dest = cases_dir / case_id
    shutil.copytree(FIXTURES / "py-unittest-median", dest)
    spec = dest / "case.yml"
    # Without an environment of its own, every variant shares the default unittest one: one build.
    spec.write_text(spec.read_text().replace("id: py-unittest-median", f"id: {case_id}")
                    .replace("environment:\n  runner: unittest\n", ""))
    (dest / "gold.patch").write_text(patch)


REPRO_TEST = """\
import unittest

from stats.median import median


class QuietMinuteTest(unittest.TestCase):
    def test_a_quiet_minute_has_no_median(self):
        self.assertIsNone(median([]))
"""
NOT_A_REPRO = REPRO_TEST.replace("self.assertIsNone(median([]))", "self.assertEqual(median([2.0]), 2.0)")


def test_reproduction_and_validation_are_measured_not_taken_from_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fix = (FIXTURES / "py-unittest-median" / "gold.patch").read_text()
    repro = _new_file_patch("tests/test_quiet_minute.py", REPRO_TEST)
    cases = tmp_path / "cases"
    _variant(cases, "repro-and-fix", fix + repro)  # fails at base, passes after: validated
    _variant(cases, "repro-no-fix", repro)  # reproduces, but the run fixed nothing
    _variant(cases, "fix-test-passes-at-base", fix + _new_file_patch("tests/test_quiet_minute.py", NOT_A_REPRO))
    config = _quiet_config(llm="oracle", cases_dir=cases, out=tmp_path / "run")
    _, run = asyncio.run(run_eval(config, discover_cases(cases)))
    by_id = {r.case_id: r for r in run.results}
    validated, unfixed, unreproduced = by_id["repro-and-fix"], by_id["repro-no-fix"], by_id["fix-test-passes-at-base"]
    assert all(r.status == "scored" for r in run.results), [r.detail for r in run.results]

    assert validated.reproduction is not None and validated.reproduction.tests == ["tests/test_quiet_minute.py"]
    assert (validated.reproduced, validated.validated, validated.resolved) == (True, True, True)
    assert validated.reproduction.at_base.startswith("0 passed, 0 failed, 1 errors")  # IndexError at base
    assert validated.validation is not None and validated.validation.exception_seen  # the event's IndexError
    assert validated.validation.after is not None and validated.validation.after.ok

    assert unfixed.reproduction is not None and unfixed.reproduction.failed_at_base
    assert (unfixed.reproduced, unfixed.validated, unfixed.resolved) == (True, False, False)
    assert unfixed.validation is not None and unfixed.validation.verdict == "not_reproduced"
    assert "still fails with the fix" in unfixed.validation.reason

    assert unreproduced.reproduction is not None and not unreproduced.reproduction.failed_at_base
    assert (unreproduced.reproduced, unreproduced.validated, unreproduced.resolved) == (False, False, True)
    assert "do not fail on the base tree" in unreproduced.reproduction.detail
    assert unreproduced.validation is not None and "passes without the fix" in unreproduced.validation.reason

    s = run.summary
    assert (s.reproduction_measured, s.reproduced, s.validated, s.validated_and_resolved) == (3, 2, 1, 1)
    assert s.reproduction_rate == pytest.approx(2 / 3) and s.validated_and_resolved_rate == pytest.approx(1 / 3)
    report = (tmp_path / "run" / "report.md").read_text()
    assert "| validated and resolved by the hidden tests | 33.3 % (1/3) |" in report
    assert "| reproduction rate (a test the run added fails on the base tree) | 66.7 % (2/3) |" in report
    assert "Reproduction: `tests/test_quiet_minute.py` at base 0 passed, 0 failed, 1 errors" in report
    assert "| repro-and-fix | 1 | resolved | HIGH | justified | validated |" in report
    assert "| repro-no-fix | 1 | FAILED | HIGH | overconfident | reproduced |" in report
    data = json.loads((tmp_path / "run" / "results.json").read_text())
    assert data["summary"]["validated_rate"] == pytest.approx(1 / 3)
    assert {r["validation"]["verdict"] for r in data["results"]} == {"validated", "not_reproduced"}
    capsys.readouterr()
    assert autofixer(["eval", "show", str(tmp_path / "run"), "repro-no-fix"]) == 0
    shown = capsys.readouterr().out
    assert "Reproduction: `tests/test_quiet_minute.py` at base 0 passed, 0 failed, 1 errors" in shown
    assert "Pipeline validation: not_reproduced" in shown
    assert data["results"][0]["reproduction"]["tests"] == ["tests/test_quiet_minute.py"]


def test_a_run_file_from_before_reproduction_was_measured_still_works(
    fixture_oracle: tuple[int, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    # Written by the harness before this change (an oracle run of the fixtures).
    old_dir = FIXTURES / "runs" / "before-reproduction"
    old = load_run(old_dir)[1]
    assert old.summary.reproduction_rate is None and old.summary.reproduced is None
    assert all(r.reproduction is None and r.validation is None and r.reproduced is None for r in old.results)
    report = markdown_report(old)
    assert "| validated and resolved by the hidden tests | not measured |" in report
    assert "reproduced      not measured" in summary_text(old_dir.name, old)
    new = load_run(fixture_oracle[1])[1]
    rows = {line.split("  ")[0]: line for line in compare_text("old", old, "new", new).splitlines()}
    assert rows["reproduction rate"].split()[2:4] == ["—", "0.0"]
    assert autofixer(["eval", "compare", str(old_dir), str(fixture_oracle[1]), "--fail-on-regression"]) == 0
    assert autofixer(["eval", "show", str(old_dir), "py-cart-discount"]) == 0
    assert "ORACLE" in capsys.readouterr().out


def test_compare_shows_flips_between_oracle_and_null(
    fixture_oracle: tuple[int, Path], fixture_null: tuple[int, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = load_run(fixture_oracle[1])[1], load_run(fixture_null[1])[1]
    assert {(f.case_id, f.kind) for f in flips(a, b)} == {(c, "REGRESSED") for c in FIXTURE_IDS}
    assert {(f.case_id, f.kind) for f in flips(b, a)} == {(c, "FIXED") for c in FIXTURE_IDS}
    text_ab = compare_text("oracle", a, "null", b)
    assert "100.0 %" in text_ab and "-100.0 pts  WORSE" in text_ab and "REGRESSED" in text_ab
    assert autofixer(["eval", "compare", str(fixture_oracle[1]), str(fixture_null[1])]) == 0
    assert f"per-case flips ({len(FIXTURE_IDS)})" in capsys.readouterr().out
    assert autofixer(["eval", "compare", str(fixture_oracle[1]), str(fixture_null[1]), "--fail-on-regression"]) == 1
    assert autofixer(["eval", "compare", str(fixture_null[1]), str(fixture_oracle[1]), "--fail-on-regression"]) == 0
    assert flips(a, a) == []


def test_show_prints_the_turns(fixture_oracle: tuple[int, Path], capsys: pytest.CaptureFixture[str]) -> None:
    out = fixture_oracle[1]
    assert autofixer(["eval", "show", str(out), "py-cart-discount", "--repeat", "1"]) == 0
    shown = capsys.readouterr().out
    for phrase in ("RESOLVED", "── task (user) ──", "── step 1: assistant", "→ propose_patch", "← propose_patch (ok",
                   "── step 2: assistant", "→ submit_fix", "── result: submitted, confidence HIGH",
                   "FAIL_TO_PASS  passed    tests/test_totals.py::test_total_without_discount", "── diff ──",
                   "(discounts or {})"):
        assert phrase in shown, phrase
    assert autofixer(["eval", "show", str(out), "no-such-case"]) == 2


def test_progress_is_plain_lines_without_a_tty(tmp_path: Path) -> None:
    stream = io.StringIO()
    config = EvalConfig(llm="null", cases_dir=FIXTURES, out=tmp_path / "run", progress_stream=stream, jobs=2)
    asyncio.run(run_eval(config, discover_cases(FIXTURES)))
    lines = stream.getvalue().splitlines()
    n = len(FIXTURE_IDS)
    assert len(lines) == n and all(line.startswith(tuple(f"[{i}/{n}] " for i in range(1, n + 1))) for line in lines)
    assert "\r" not in stream.getvalue()


# --- replay ----------------------------------------------------------------------------------------


def test_replay_with_a_matching_recording_scores_and_a_stale_one_is_not(
    fixture_oracle: tuple[int, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recordings = tmp_path / "recordings"
    # An oracle run is offline: recording it must be asked for explicitly.
    assert autofixer(["eval", "record-replay", str(fixture_oracle[1]), "--dest", str(recordings)]) == 2
    assert autofixer(["eval", "record-replay", str(fixture_oracle[1]), "--dest", str(recordings),
                      "--allow-offline"]) == 0
    version = eval_prompt_version()
    for case_id in FIXTURE_IDS:
        assert find_recording(recordings, case_id, version).status == "found"
    assert default_llm(discover_cases(FIXTURES), recordings) == "replay"
    assert default_llm(discover_cases(FIXTURES), tmp_path / "none") == "oracle"

    # No --llm: recordings exist, so replay is the default.
    assert _eval(tmp_path / "replay", "--cases-dir", str(FIXTURES), "--recordings", str(recordings)) == 0
    run = load_run(tmp_path / "replay")[1]
    assert run.run.llm == "replay" and "REPLAYED" in run.run.label
    assert run.summary.resolve_rate == 1.0
    assert all("REPLAYED" in r.provider for r in run.results)

    # The prompts changed since py-cart-discount was recorded: reported stale, never scored.
    current = recording_path(recordings, "py-cart-discount", version)
    current.rename(current.with_name("0123456789ab.json"))
    capsys.readouterr()
    assert _eval(tmp_path / "stale", "--cases-dir", str(FIXTURES), "--recordings", str(recordings)) == 1
    assert "could not be scored" in capsys.readouterr().err
    run = load_run(tmp_path / "stale")[1]
    stale = run.result("py-cart-discount", 1)
    assert stale is not None and stale.status == "stale_recording" and stale.resolved is None
    assert "0123456789ab" in stale.detail and stale.transcript is None
    assert run.summary.scored == len(FIXTURE_IDS) - 1 and run.summary.unscored == {"stale_recording": 1}
    assert run.summary.resolve_rate == 1.0  # the stale case is not counted as a failure
    assert "stale recording" in (tmp_path / "stale" / "report.md").read_text()


SUBMIT_HIGH = ToolCall(id="submit", name="submit_fix", arguments={
    "analysis": "a", "root_cause": "r", "confidence": "HIGH", "pr_title": "t", "pr_body": "b"})
GOLD_FIX = ToolCall(id="fix", name="propose_patch", arguments={"changes": [{
    "file": "cart/totals.py",
    "original": '    percent = discounts.get("percent", 0)',
    "modified": '    percent = (discounts or {}).get("percent", 0)',
}]})


def _replay_py_cart(tmp_path: Path, turns: list[list[ToolCall]], cases_dir: Path = FIXTURES) -> RunFile:
    """Run py-cart-discount with a hand-written recording of `turns`."""
    recordings = tmp_path / "recordings"
    version = eval_prompt_version()
    recording = Recording(label="hand-written test recording", prompt_version=version,
                          turns=[ModelTurn(tool_calls=calls) for calls in turns])
    path = recording_path(recordings, "py-cart-discount", version)
    path.parent.mkdir(parents=True)
    path.write_text(recording.model_dump_json())
    config = _quiet_config(llm="replay", cases_dir=cases_dir, cases_glob="py-*", recordings_dir=recordings,
                           out=tmp_path / "run")
    return asyncio.run(run_eval(config, discover_cases(cases_dir, "py-*")))[1]


def _show_hidden_tests(case_dir: Path) -> None:
    spec = case_dir / "case.yml"
    spec.write_text(spec.read_text() + "hide_tests: false\n")


@pytest.mark.parametrize("hide_tests", [True, False])
def test_a_run_that_edits_the_tests_gets_them_put_back(tmp_path: Path, hide_tests: bool) -> None:
    """A replayed model 'fixes' the failure by rewriting the test. Where the harness hid it, the
    model can create it (a new test file): it is restored before scoring. Where the case opts out
    of hiding, the patch policy of a project with tests refuses the edit. Either way the case
    fails, and HIGH confidence is overconfident."""
    if hide_tests:
        change = {"file": "tests/test_totals.py", "original": "",
                  "modified": "def test_total_without_discount():\n    pass\n"}
        cases_dir = FIXTURES
    else:
        change = {"file": "tests/test_totals.py",
                  "original": '    assert cart_total([{"sku": "apple", "qty": 2}]) == 6.0\n',
                  "modified": "    assert True\n"}
        cases_dir = tmp_path / "cases"
        _copy_case("py-cart-discount", cases_dir, _show_hidden_tests)
    cheat = ToolCall(id="c1", name="propose_patch", arguments={"changes": [change]})
    result = _replay_py_cart(tmp_path, [[cheat], [SUBMIT_HIGH]], cases_dir).results[0]
    assert result.tests_hidden == (["tests/test_totals.py"] if hide_tests else [])
    assert result.tests_restored == (["tests/test_totals.py"] if hide_tests else [])
    assert result.patch_applied == hide_tests and result.resolved is False
    assert result.fail_to_pass == {"tests/test_totals.py::test_total_without_discount": "failed"}
    assert result.pass_to_pass == {"tests/test_totals.py::test_total_with_discount": "passed",
                                   "tests/test_totals.py::test_line_total": "passed"}
    assert result.calibration == "overconfident"
    assert result.localisation is not None and result.localisation.file_hit is False


def test_fail_to_pass_test_files_are_hidden_from_the_agent(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The agent cannot read or list the file holding the FAIL_TO_PASS test; it is back, as the
    case ships it, for scoring; and neither the diff nor the changed files show it removed."""
    look = [ToolCall(id="r1", name="read_file", arguments={"path": "tests/test_totals.py"}),
            ToolCall(id="l1", name="list_files", arguments={"glob": "*.py"}),
            ToolCall(id="s1", name="search_repo", arguments={"query": "test_total_without_discount"})]
    run = _replay_py_cart(tmp_path, [look, [GOLD_FIX], [SUBMIT_HIGH]])
    result = run.results[0]
    tool_results = {r["name"]: r for r in read_transcript(tmp_path / "run" / str(result.transcript))
                    if r.get("kind") == "tool_result"}
    assert tool_results["read_file"]["is_error"]
    assert "no such file" in tool_results["read_file"]["content"]
    assert "cart/totals.py" in tool_results["list_files"]["content"]
    assert "test_totals" not in tool_results["list_files"]["content"]
    assert not tool_results["list_files"]["is_error"] and not tool_results["search_repo"]["is_error"]
    assert "test_totals" not in tool_results["search_repo"]["content"]
    assert "test_totals" not in tool_results["propose_patch"]["content"]  # its diff versus the base

    assert result.tests_hidden == ["tests/test_totals.py"] and result.tests_restored == []
    assert result.resolved and result.fail_to_pass == {"tests/test_totals.py::test_total_without_discount": "passed"}
    assert len(result.pass_to_pass) == 2 and all(o == "passed" for o in result.pass_to_pass.values())
    assert result.files_changed == ["cart/totals.py"]
    assert "cart/totals.py" in result.diff and "test_totals" not in result.diff

    report = (tmp_path / "run" / "report.md").read_text()
    assert "| py-cart-discount | 1/1 | scored | `tests/test_totals.py` |" in report
    assert autofixer(["eval", "show", str(tmp_path / "run"), "py-cart-discount"]) == 0
    assert "test files hidden from the agent, put back for scoring: tests/test_totals.py" in capsys.readouterr().out


def test_restored_test_files_are_exactly_the_cases(tmp_path: Path) -> None:
    sandbox = asyncio.run(create_sandbox(FIXTURES / "py-cart-discount" / "repo", "t", ["tests/test_totals.py"]))
    try:
        hidden = sandbox.worktree / "tests" / "test_totals.py"
        assert sandbox.hidden == ["tests/test_totals.py"] and sandbox.base_sha != sandbox.full_sha
        assert not hidden.exists()
        assert asyncio.run(changed_files(sandbox)) == []
        asyncio.run(restore_files(sandbox, sandbox.hidden))
        assert hidden.read_bytes() == (FIXTURES / "py-cart-discount" / "repo" / "tests" / "test_totals.py").read_bytes()
    finally:
        sandbox.cleanup()


def _gold_edits_the_test_too(case_dir: Path) -> None:
    with (case_dir / "gold.patch").open("a") as patch:
        patch.write(textwrap.dedent("""\
            diff --git a/tests/test_totals.py b/tests/test_totals.py
            --- a/tests/test_totals.py
            +++ b/tests/test_totals.py
            @@ -1,3 +1,4 @@
            +# a note the fix adds to the test file
             import pytest

             from cart.totals import cart_total, line_total
        """))


def test_a_test_file_the_gold_patch_edits_is_not_hidden(tmp_path: Path) -> None:
    _copy_case("py-cart-discount", tmp_path / "cases", _gold_edits_the_test_too)
    config = _quiet_config(llm="oracle", cases_dir=tmp_path / "cases", out=tmp_path / "run")
    _, run = asyncio.run(run_eval(config, discover_cases(tmp_path / "cases")))
    result = run.results[0]
    assert result.status == "scored", result.detail
    assert result.tests_hidden == [] and result.tests_restored == []
    # The case's tests are configured, so the patch policy of a project with tests applies: no fix
    # may edit an existing test, the gold patch is refused whole and the oracle says so (LOW).
    assert result.files_changed == [] and not result.resolved and result.confidence == Confidence.LOW
    records = read_transcript(tmp_path / "run" / str(result.transcript))
    assert any("is an existing test file" in str(r.get("content")) for r in records if r.get("kind") == "tool_result")


# --- a live provider: the real anthropic SDK against a local fake of the Messages API -------------


def test_live_run_against_the_messages_api_then_record_and_replay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeAnthropic([
        [text("The crash is in apply_discount."), tool_use("read_file", {"path": "cart/totals.py"})],
        [tool_use("propose_patch", {"changes": [{
            "file": "cart/totals.py", "description": "treat missing discounts as none",
            "original": '    percent = discounts.get("percent", 0)',
            "modified": '    percent = (discounts or {}).get("percent", 0)',
        }]})],
        [tool_use("submit_fix", {"analysis": "discounts may be None", "root_cause": "None has no .get",
                                 "confidence": "MEDIUM", "pr_title": "Handle missing discounts",
                                 "pr_body": "Fixes the AttributeError."})],
    ])
    monkeypatch.setenv("AUTOFIXER_LLM_KEY", API_KEY)
    recordings = tmp_path / "recordings"
    common = ["--cases-dir", str(FIXTURES), "--cases", "py-cart-*", "--recordings", str(recordings)]
    with serve_app(fake.app) as url:
        code = _eval(tmp_path / "live", "--llm", "anthropic", "--model", "claude-sonnet-4-6", "--base-url", url,
                     "--record", *common)
    assert code == 0
    assert fake.rejections == [] and fake.remaining == 0
    run_dir, live = load_run(tmp_path / "live")
    assert live.run.llm == "anthropic" and live.run.model == "claude-sonnet-4-6"
    result = live.results[0]
    assert result.resolved and result.confidence == Confidence.MEDIUM and result.calibration == "justified"
    assert result.usage.steps == 3 and result.usage.tool_calls == 3
    assert result.usage.input_tokens > 0 and result.usage.output_tokens > 0 and result.usage.cost_usd > 0
    assert live.summary.cost_per_resolved_usd == pytest.approx(result.usage.cost_usd)
    assert API_KEY not in (run_dir / str(result.transcript)).read_text()

    # --record wrote the recording, as `autofixer eval record-replay RUN` would.
    assert "py-cart-discount #1: recorded 3 turn(s)" in capsys.readouterr().out
    lookup = find_recording(recordings, "py-cart-discount", eval_prompt_version())
    assert lookup.recording is not None and len(lookup.recording.turns) == 3
    assert lookup.recording.model.startswith("claude-sonnet-4-6") and "anthropic" in lookup.recording.label
    written = record_replay(run_dir, tmp_path / "again")  # a live run: no --allow-offline needed
    assert [(w.case_id, w.repeat) for w in written] == [("py-cart-discount", 1)]

    assert _eval(tmp_path / "replay", "--llm", "replay", *common) == 0
    again = load_run(tmp_path / "replay")[1].results[0]
    assert again.resolved and again.confidence == Confidence.MEDIUM
    assert again.usage.input_tokens == result.usage.input_tokens  # the recorded figures, labelled REPLAYED
    assert "REPLAYED" in again.provider
    assert _eval(tmp_path / "offline-record", "--llm", "null", "--record", *common) == 2


def test_a_live_agent_reproduces_with_run_tests_and_the_harness_checks_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The agent of an eval run has run_tests on the case's environment, as in the service: it
    writes a reproduction test, sees it fail, fixes, sees it pass; the harness measures the same
    by itself and agrees."""
    fix = {"file": "stats/median.py", "description": "no median of nothing",
           "original": "    ordered = sorted(values)\n", "modified": "    if not values:\n        return None\n"
                                                                     "    ordered = sorted(values)\n"}
    repro = {"file": "tests/test_quiet_minute.py", "description": "reproduce the event", "original": "",
             "modified": REPRO_TEST}
    fake = FakeAnthropic([
        [tool_use("propose_patch", {"changes": [repro]})],
        [tool_use("run_tests", {"file": "tests/test_quiet_minute.py"})],
        [tool_use("propose_patch", {"changes": [fix]})],
        [tool_use("run_tests", {})],
        [tool_use("submit_fix", {"analysis": "an empty sample", "root_cause": "no guard for []", "confidence": "HIGH",
                                 "pr_title": "No median of an empty sample", "pr_body": "Reproduced, fixed."})],
    ])
    monkeypatch.setenv("AUTOFIXER_LLM_KEY", API_KEY)
    with serve_app(fake.app) as url:
        code = _eval(tmp_path / "live", "--llm", "anthropic", "--base-url", url, "--cases-dir", str(FIXTURES),
                     "--cases", "py-unittest-median")
    assert code == 0 and fake.rejections == [] and fake.remaining == 0
    run_dir, run = load_run(tmp_path / "live")
    result = run.results[0]
    results = [str(r["content"]) for r in read_transcript(run_dir / str(result.transcript))
               if r.get("kind") == "tool_result" and r.get("name") == "run_tests"]
    assert len(results) == 2, results
    assert results[0].startswith("FAILED: 0 passed, 0 failed, 1 errors") and "IndexError" in results[0]
    assert results[1].startswith("PASSED: 1 passed, 0 failed")  # the hidden test file is not there yet
    assert (result.reproduced, result.validated, result.resolved) == (True, True, True)
    assert run.summary.validated_and_resolved == 1


def test_unavailable_llms_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("AUTOFIXER_LLM_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert _eval(tmp_path / "o", "--llm", "openai", "--cases-dir", str(FIXTURES)) == 2
    assert "OPENAI_API_KEY" in capsys.readouterr().err
    assert _eval(tmp_path / "l", "--llm", "openai-compatible", "--cases-dir", str(FIXTURES)) == 2
    assert "base-url" in capsys.readouterr().err
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    assert _eval(tmp_path / "a", "--llm", "anthropic", "--cases-dir", str(FIXTURES)) == 2
    assert "AUTOFIXER_LLM_KEY" in capsys.readouterr().err
    assert _eval(tmp_path / "n", "--llm", "oracle", "--cases-dir", str(FIXTURES), "--cases", "nope*") == 2
    assert not (tmp_path / "o").exists() and not (tmp_path / "a").exists()  # nothing started, nothing written
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "results.json").write_text("{}")
    with pytest.raises(EvalUnavailable):
        asyncio.run(run_eval(_quiet_config(llm="null", cases_dir=FIXTURES, out=tmp_path / "full"),
                             discover_cases(FIXTURES)))


# --- scoring rules --------------------------------------------------------------------------------


def _skip_the_failing_test(case_dir: Path) -> None:
    test_file = case_dir / "repo" / "tests" / "test_totals.py"
    test_file.write_text(test_file.read_text().replace(
        "def test_total_without_discount", '@pytest.mark.skip(reason="flaky")\ndef test_total_without_discount'))


def test_a_skipped_test_counts_as_a_failure(tmp_path: Path) -> None:
    _copy_case("py-cart-discount", tmp_path / "cases", _skip_the_failing_test)
    config = _quiet_config(llm="oracle", cases_dir=tmp_path / "cases", out=tmp_path / "run")
    _, run = asyncio.run(run_eval(config, discover_cases(tmp_path / "cases")))
    result = run.results[0]
    assert result.fail_to_pass == {"tests/test_totals.py::test_total_without_discount": "skipped"}
    assert result.tests_exit_ok  # pytest itself is happy with a skip …
    assert result.resolved is False  # … the score is not


def _exit_nonzero_after_passing(case_dir: Path) -> None:
    (case_dir / "repo" / "conftest.py").write_text(textwrap.dedent("""\
        def pytest_sessionfinish(session, exitstatus):
            session.exitstatus = 3  # every test passes, the command still fails
    """))


def test_passes_printed_by_a_failing_command_do_not_count(tmp_path: Path) -> None:
    _copy_case("py-cart-discount", tmp_path / "cases", _exit_nonzero_after_passing)
    config = _quiet_config(llm="oracle", cases_dir=tmp_path / "cases", out=tmp_path / "run")
    _, run = asyncio.run(run_eval(config, discover_cases(tmp_path / "cases")))
    result = run.results[0]
    assert all(o == "passed" for o in {**result.fail_to_pass, **result.pass_to_pass}.values())
    assert "PASSED tests/test_totals.py::test_total_without_discount" in result.test_commands[0].output_tail
    assert result.test_commands[0].returncode == 3 and result.tests_exit_ok is False
    assert result.resolved is False
    assert "exited 3: not resolved" in (tmp_path / "run" / "report.md").read_text()


async def _run(worktree: Path, runner: str, ids: list[str]) -> SuiteOutcome:
    """A case of `runner` scored on `ids`, its tests run through the engine in `worktree`."""
    case = load_case(FIXTURES / "py-unittest-median")
    spec = case.spec.model_copy(update={"fail_to_pass": ids, "pass_to_pass": [], "environment": None,
                                        "test": case.spec.test.model_copy(update={"runner": runner})})
    case = Case(spec=spec, path=case.path)
    engine = TestEngine(DEFAULT_STATE_DIR)
    environment = await _prepare(engine, case, worktree)
    return await run_case_tests(case, engine_execute(engine, worktree, scoring_config(case), environment))


async def _prepare(engine: TestEngine, case: Case, worktree: Path) -> Environment:
    try:
        return await engine.prepare(case.environment_key, worktree, case.environment)
    except EnvironmentBuildError as exc:
        skip_if_offline(str(exc))
        raise


async def test_node_exit_code_and_skips_are_checked(tmp_path: Path) -> None:
    (tmp_path / "t.test.js").write_text(textwrap.dedent("""\
        const test = require('node:test');
        test('works # really', () => {});
        test('later', { skip: 'not today' }, () => {});
        test('todo', { todo: true }, () => {});
        process.on('exit', () => { process.exitCode = 1; });
    """))
    ids = ["t.test.js::works # really", "t.test.js::later", "t.test.js::todo", "t.test.js::absent"]
    suite = await _run(tmp_path, "node", ids)
    assert suite.outcomes == {ids[0]: "passed", ids[1]: "skipped", ids[2]: "todo", ids[3]: "missing"}
    assert not suite.exit_ok  # "ok 1 - works" was printed, but node exited 1
    assert not is_resolved({ids[0]: "passed"}, {}, suite.exit_ok)


async def test_pytest_runner_outcomes(tmp_path: Path) -> None:
    (tmp_path / "test_x.py").write_text(textwrap.dedent("""\
        import pytest

        def test_ok():
            print("FAILED test_x.py::test_ok - fake line in captured output")

        def test_bad():
            print("PASSED test_x.py::test_bad")
            assert False

        @pytest.mark.skip(reason="no")
        def test_skipped():
            pass

        @pytest.mark.xfail(reason="known")
        def test_xfail():
            assert False

        @pytest.mark.parametrize("n", [1, 2])
        def test_param(n):
            assert n < 2
    """))
    ids = ["test_x.py::test_ok", "test_x.py::test_bad", "test_x.py::test_skipped", "test_x.py::test_xfail",
           "test_x.py::test_param", "test_x.py::test_param[1]"]
    suite = await _run(tmp_path, "pytest", ids)
    assert suite.outcomes == {
        "test_x.py::test_ok": "passed", "test_x.py::test_bad": "failed", "test_x.py::test_skipped": "skipped",
        "test_x.py::test_xfail": "xfail", "test_x.py::test_param": "failed", "test_x.py::test_param[1]": "passed",
    }
    assert suite.commands[0].returncode == 1


def _unittest_file(tmp_path: Path, body: str) -> None:
    (tmp_path / "tests").mkdir(exist_ok=True)
    (tmp_path / "tests" / "__init__.py").write_text("")
    (tmp_path / "tests" / "test_u.py").write_text("import os\nimport unittest\n\n\n" + textwrap.dedent(body))


async def test_unittest_runner_outcomes(tmp_path: Path) -> None:
    _unittest_file(tmp_path, """\
        class T(unittest.TestCase):
            def test_ok(self):
                print("test_bad (tests.test_u.T.test_bad) ... ok")  # swallowed by -b

            def test_bad(self):
                os.write(2, b"ok\\n")  # past -b, straight after its own ` ... `
                self.assertEqual(1, 2)

            def test_documented(self):
                \"\"\"A docstring moves the result to the next line.\"\"\"

            @unittest.skip("no")
            def test_skipped(self):
                pass

            @unittest.expectedFailure
            def test_xfail(self):
                raise AssertionError

            def test_error(self):
                raise RuntimeError("boom")

            def test_subtests(self):
                for n in range(2):
                    with self.subTest(n=n):
                        self.assertEqual(n, 0)
    """)
    names = ["test_ok", "test_bad", "test_documented", "test_skipped", "test_xfail", "test_error", "test_subtests",
             "test_absent"]
    ids = [f"tests/test_u.py::T::{name}" for name in names]
    suite = await _run(tmp_path, "unittest", ids)
    assert suite.outcomes == dict(zip(ids, [
        "passed", "failed", "passed", "skipped", "xfail", "error", "failed", "missing"], strict=True))
    assert suite.commands[0].returncode == 1 and not suite.exit_ok
    suite = await _run(tmp_path, "unittest", ids[:1])
    assert suite.outcomes == {ids[0]: "passed"} and suite.exit_ok


async def test_results_cut_off_by_a_long_failure_are_read_one_test_at_a_time(tmp_path: Path) -> None:
    # The engine keeps the last 4000 characters of a run; this failure's diff alone is longer, so
    # the result lines printed before it are lost from the first run.
    _unittest_file(tmp_path, """\
        class T(unittest.TestCase):
            maxDiff = None

            def test_a(self):
                pass

            def test_b(self):
                pass

            def test_long_failure(self):
                self.assertEqual("x" * 6000, "y" * 6000)
    """)
    ids = [f"tests/test_u.py::T::{name}" for name in ("test_a", "test_b", "test_long_failure")]
    suite = await _run(tmp_path, "unittest", ids)
    assert suite.outcomes == {ids[0]: "passed", ids[1]: "passed", ids[2]: "failed"}
    assert len(suite.commands) == 4 and not suite.exit_ok  # the whole run, then each test alone


async def test_a_forged_unittest_result_line_passes_nothing(tmp_path: Path) -> None:
    _unittest_file(tmp_path, """\
        class T(unittest.TestCase):
            def test_a_forges(self):
                os.write(2, b"\\ntest_b_skips (tests.test_u.T.test_b_skips) ... ok\\n")

            def test_b_skips(self):
                self.skipTest("later")
    """)
    ids = ["tests/test_u.py::T::test_a_forges", "tests/test_u.py::T::test_b_skips"]
    suite = await _run(tmp_path, "unittest", ids)
    assert suite.exit_ok  # unittest itself is content: one pass, one skip
    assert suite.outcomes == {ids[0]: "ambiguous", ids[1]: "ambiguous"}


def _with_setup(*commands: str) -> Callable[[Path], None]:
    def edit(case_dir: Path) -> None:
        spec = case_dir / "case.yml"
        spec.write_text(spec.read_text().replace("  runner: unittest\nfail_to_pass", "  runner: unittest\n  setup:\n"
                                                 + "".join(f"    - {json.dumps(c)}\n" for c in commands)
                                                 + "fail_to_pass"))
    return edit


def test_a_case_whose_environment_cannot_be_built_is_an_error_with_the_reason(tmp_path: Path) -> None:
    _copy_case("py-unittest-median", tmp_path / "cases", _with_setup("python -c 'raise SystemExit(4)'"))
    assert load_case(tmp_path / "cases" / "py-unittest-median").environment.setup == ["python -c 'raise SystemExit(4)'"]
    assert _eval(tmp_path / "run", "--llm", "oracle", "--cases-dir", str(tmp_path / "cases"),
                 "--state-dir", str(tmp_path / "state")) == 1
    run = load_run(tmp_path / "run")[1]
    result = run.results[0]
    assert result.status == "error" and result.resolved is None
    assert "environment could not be built" in result.detail and "raise SystemExit(4)" in result.detail
    assert "exit 4" in result.detail or "exited 4" in result.detail, result.detail
    assert run.summary.scored == 0 and run.summary.unscored == {"error": 1}
    assert "environment could not be built" in (tmp_path / "run" / "report.md").read_text()


def test_a_case_environment_is_built_once_and_reused(tmp_path: Path) -> None:
    # Setup leaves a mark in the environment; a second run must find it without running setup.
    _copy_case("py-unittest-median", tmp_path / "cases", _with_setup(
        "python -c 'import sys, time; open(sys.prefix + \"/built-at\", \"w\").write(str(time.time()))'"))
    runs = []
    for n in (1, 2):
        config = _quiet_config(llm="oracle", cases_dir=tmp_path / "cases", out=tmp_path / f"run{n}",
                               state_dir=tmp_path / "state")
        runs.append(asyncio.run(run_eval(config, discover_cases(tmp_path / "cases")))[1].results[0])
    first, second = runs
    assert first.resolved and second.resolved
    assert first.environment_reused is False and first.environment_seconds > 0
    assert second.environment_reused is True and second.environment_seconds == 0
    assert first.environment.split(" ")[0] == second.environment.split(" ")[0]  # the same key and hash
    marks = list((tmp_path / "state").rglob("built-at"))
    assert len(marks) == 1, marks  # one environment, set up once


def test_pytest_summary_is_only_read_after_its_header() -> None:
    forged = "PASSED tests/t.py::test_a\n===== 1 failed in 0.1s =====\n"
    assert parse_pytest_summary(forged, ["tests/t.py::test_a"]) == {"tests/t.py::test_a": "missing"}
    # A test printing a fake header in its output: only the last (pytest's own) counts.
    printed = "=== short test summary info ===\nPASSED tests/t.py::test_a\n"
    real_end = "=== short test summary info ===\nFAILED tests/t.py::test_a - boom\n"
    assert parse_pytest_summary(printed + real_end, ["tests/t.py::test_a"]) == {"tests/t.py::test_a": "failed"}
    real = "===== short test summary info =====\nPASSED tests/t.py::test_a\nFAILED tests/t.py::test_b - boom\n"
    assert parse_pytest_summary(real, ["tests/t.py::test_a", "tests/t.py::test_b"]) == {
        "tests/t.py::test_a": "passed", "tests/t.py::test_b": "failed"}


def test_tap_parsing() -> None:
    out = textwrap.dedent("""\
        TAP version 13
        # Subtest: a \\# b
        ok 1 - a \\# b
            # Subtest: inner
            not ok 1 - inner
        not ok 2 - outer
        ok 3 - skipped # SKIP test name does not match pattern
        ok 4 - later # TODO
        1..4
    """)
    assert parse_tap(out) == {"a # b": "passed", "outer": "failed", "skipped": "skipped", "later": "todo"}


def test_scoring_helpers() -> None:
    assert wilson(0, 0) == (0.0, 0.0)
    lo, hi = wilson(5, 10)
    assert lo == pytest.approx(0.2366, abs=1e-3) and hi == pytest.approx(0.7634, abs=1e-3)
    assert wilson(3, 3)[0] < 0.5 and wilson(3, 3)[1] == 1.0
    assert verdict(Confidence.HIGH, True) == "justified"
    assert verdict(Confidence.MEDIUM, False) == "overconfident"
    assert verdict(Confidence.LOW, True) == "underconfident"
    assert verdict(Confidence.LOW, False) == "justified"
    assert not is_resolved({}, {}, True)
    assert not is_resolved({"a": "passed"}, {"b": "skipped"}, True)


# --- gold patch and localisation --------------------------------------------------------------------


def test_gold_edits_widen_until_unique() -> None:
    block = "def f():\n    return 1\n\n\n"
    old = "".join(block for _ in range(3)) + "x = 1\n"
    new = block + block + "def f():\n    return 2\n\n\n" + "x = 1\n"
    edits = file_edits("m.py", old, new)
    current = old
    for edit in edits:
        assert current.count(edit.original) == 1
        current = current.replace(edit.original, edit.modified)
    assert current == new


def test_gold_edits_of_every_case_can_be_derived() -> None:
    for case in [*discover_cases(FIXTURES), *discover_cases()]:
        assert gold_edits(case.repo_dir, case.gold_patch), case.id


def test_functions_touched() -> None:
    py = "class A:\n    def f(self):\n        return 1\n\ndef g():\n    return 2\n"
    assert [s.name for s in python_spans(py)] == ["A.f", "g"]
    assert changed_functions("m.py", py, py.replace("return 2", "return 3")) == {"g"}
    js = "function a() {\n  const s = '}';\n  return 1;\n}\nconst b = (x) => {\n  return x;\n};\n"
    assert [(s.name, s.start, s.end) for s in javascript_spans(js)] == [("a", 1, 4), ("b", 5, 7)]
    assert changed_functions("m.js", js, js.replace("return x", "return x + 1")) == {"b"}


def test_case_loading_checks_the_directory(tmp_path: Path) -> None:
    case_dir = _copy_case("py-cart-discount", tmp_path)
    case_dir.rename(tmp_path / "renamed")
    with pytest.raises(Exception, match="directory is named"):
        load_case(tmp_path / "renamed")


# --- one bad case never loses or hangs the others ---------------------------------------------------


def _link_a_directory(case_dir: Path) -> None:
    """Real repositories hold symlinks to directories (docs -> ../docs, vendored trees)."""
    (case_dir / "repo" / "cart_link").symlink_to("cart", target_is_directory=True)


def test_gold_edits_with_a_symlink_to_a_directory(tmp_path: Path) -> None:
    case = load_case(_copy_case("py-cart-discount", tmp_path, _link_a_directory))
    edits = gold_edits(case.repo_dir, case.gold_patch)
    assert {e.file for e in edits} == {"cart/totals.py"}  # the link is not an edit, nor opened as a file


def test_gold_patch_changing_a_symlink_is_a_gold_patch_error(tmp_path: Path) -> None:
    from evals.goldpatch import GoldPatchError

    case_dir = _copy_case("py-cart-discount", tmp_path, _link_a_directory)
    (case_dir / "gold.patch").write_text(textwrap.dedent("""\
        diff --git a/cart_link b/cart_link
        index 0000000..1111111 120000
        --- a/cart_link
        +++ b/cart_link
        @@ -1 +1 @@
        -cart
        \\ No newline at end of file
        +tests
        \\ No newline at end of file
    """))
    with pytest.raises(GoldPatchError, match="not a regular file"):
        gold_edits(case_dir / "repo", case_dir / "gold.patch")


def test_a_repository_with_a_directory_symlink_is_scored_with_jobs_2(tmp_path: Path) -> None:
    """It crashed the run (IsADirectoryError) and then hung in asyncio's task cancellation with
    an empty results file; run in a child process with a timeout so a hang fails the test."""
    import subprocess
    import sys

    cases = tmp_path / "cases"
    _copy_case("js-stats-average", cases)
    _copy_case("py-cart-discount", cases, _link_a_directory)
    argv = ["eval", "--out", str(tmp_path / "run"), "--jobs", "2", "--llm", "oracle", "--cases-dir", str(cases)]
    script = f"from server.cli import main; raise SystemExit(main({argv!r}))"
    try:
        done = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).resolve().parent.parent,
                              capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("autofixer eval --jobs 2 hung")
    assert done.returncode == 0, done.stderr[-2000:]
    run = load_run(tmp_path / "run")[1]
    assert sorted((r.case_id, r.status, r.resolved) for r in run.results) == [
        ("js-stats-average", "scored", True), ("py-cart-discount", "scored", True)]


def test_a_crashing_case_is_an_error_with_its_reason_and_the_others_finish(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    import evals.runner

    real_gold_edits = evals.runner.gold_edits

    def crashing(repo: Path, patch: Path) -> object:
        if "py-cart" in str(repo):
            raise IsADirectoryError(21, "Is a directory", str(repo / "cart_link"))
        return real_gold_edits(repo, patch)

    monkeypatch.setattr(evals.runner, "gold_edits", crashing)
    cases = tmp_path / "cases"
    _copy_case("js-stats-average", cases)
    _copy_case("py-cart-discount", cases)
    config = _quiet_config(llm="oracle", cases_dir=cases, out=tmp_path / "run")
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(asyncio.run(run_eval(config, discover_cases(cases)))[1])
        except BaseException as exc:  # reported by the assertions below
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(120)
    assert not thread.is_alive(), "the run hung"
    assert isinstance(outcome[0], RunFile), outcome[0]
    by_id = {r.case_id: r for r in outcome[0].results}
    assert by_id["js-stats-average"].status == "scored" and by_id["js-stats-average"].resolved
    assert by_id["py-cart-discount"].status == "error"
    assert "IsADirectoryError" in (by_id["py-cart-discount"].detail or "")
    on_disk = load_run(tmp_path / "run")[1]
    assert {r.case_id for r in on_disk.results} == {"js-stats-average", "py-cart-discount"}
