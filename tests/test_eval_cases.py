"""Every eval case under evals/cases/ is well-formed, honest and solvable.

Parametrized over the directory listing, so a new case is checked as soon as it exists:

* case.yml has every field the harness reads, with sane values;
* event.json is the API rendering of the committed raw SDK event (ingest_event.json), parses,
  and its frames point at files of repo/ whose lines are exactly the event's context lines
  (the event was recorded from this very source);
* webhook.json announces the event's issue for the case's project;
* in a fresh git repository made from repo/, the fail_to_pass tests fail and the pass_to_pass
  tests pass; after `git apply gold.patch` all of them pass.

The re-recording tests run a case's scenario again under the real SDK (scratch installs cached
under ~/.cache/autofixer) and compare the crash with the committed one.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from domain import ErrorEvent, StackFrame
from evals.case import Case, load_case
from evals.recorder import RecorderSetupError, ingest_to_api
from evals.runner import DEFAULT_STATE_DIR
from execution.engine import EnvironmentBuildError, TestEngine
from execution.report import TestSelection
from sources.sentry.parser import is_api_format, parse_event
from sources.sentry.webhook import fix_request
from tests.registry_access import skip_if_offline
from tools.mapping import FrameMapper

CASES_DIR = Path(__file__).resolve().parents[1] / "evals" / "cases"
CASES = sorted(d.name for d in CASES_DIR.iterdir() if (d / "case.yml").is_file()) if CASES_DIR.is_dir() else []

REQUIRED = {
    "id", "title", "language", "description", "source_root", "setup", "test", "fail_to_pass",
    "pass_to_pass", "gold", "tags", "expected_confidence", "issue_id", "project",
}
RUNNERS = {"python": ("pytest", "unittest"), "javascript": ("node",)}
SCENARIOS = {"python": "scenario.py", "javascript": "scenario.js"}
KNOWN_TAGS = {
    "missing-key", "none-deref", "off-by-one", "wrong-type", "timezone", "decimal", "unicode", "units",
    "async-misuse", "failing-guard", "zero-division", "upstream-root-cause", "not-fixable-from-event",
    "external-data", "product-decision", "third-party-behaviour",
}
HAS_NODE = shutil.which("node") is not None


def _load(case: str) -> dict[str, Any]:
    return yaml.safe_load((CASES_DIR / case / "case.yml").read_text(encoding="utf-8"))


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _crash_frame(event: ErrorEvent) -> StackFrame:
    """Sentry's crash frame: the newest in-app frame (else the newest frame)."""
    frames = event.stack_trace
    return ([f for f in frames if f.in_app] or frames)[-1]


# ---------------------------------------------------------------------------------- the set


def test_the_set_covers_what_the_evals_need() -> None:
    cases = {c: _load(c) for c in CASES}
    assert len(cases) >= 15
    languages = [m["language"] for m in cases.values()]
    assert languages.count("javascript") >= 3
    upstream = [c for c, m in cases.items() if "upstream-root-cause" in m["tags"]]
    assert len(upstream) >= 4, upstream
    low = [c for c, m in cases.items() if m["expected_confidence"] == "LOW"]
    assert 2 <= len(low) <= 3, low
    assert all("not-fixable-from-event" in cases[c]["tags"] for c in low)
    # Each case is its own issue: a shared id would collapse two cases into one fix workflow.
    assert len({m["issue_id"] for m in cases.values()}) == len(cases)


# ---------------------------------------------------------------------------------- case.yml


@pytest.mark.parametrize("case", CASES)
def test_case_yml_is_complete(case: str) -> None:
    meta = _load(case)
    root = CASES_DIR / case
    assert set(meta) >= REQUIRED, REQUIRED - set(meta)
    assert meta["id"] == case
    assert meta["language"] in RUNNERS
    assert set(meta["test"]) == {"runner"} and meta["test"]["runner"] in RUNNERS[meta["language"]]
    environment = meta.get("environment")
    if environment is not None:  # its own environment: same runner, dependencies pinned in the repo
        assert environment["runner"] == meta["test"]["runner"]
        for command in environment.get("setup", []):
            for requirements in re.findall(r"-r\s+(\S+)", command):
                pins = (root / "repo" / requirements).read_text(encoding="utf-8")
                assert all("==" in line or line.startswith("-r ") for line in pins.splitlines() if line.strip())
    for key in ("title", "description", "project"):
        assert isinstance(meta[key], str) and meta[key].strip(), key
    assert "\n" not in meta["title"]
    assert meta["source_root"] == "" and meta["setup"] == []  # dependencies go in environment.setup
    assert re.fullmatch(r"[0-9]+", meta["issue_id"]), "issue_id is a quoted numeric string"
    assert meta["expected_confidence"] in ("HIGH", "MEDIUM", "LOW")
    assert meta["tags"] and set(meta["tags"]) <= KNOWN_TAGS, set(meta["tags"]) - KNOWN_TAGS
    assert ("not-fixable-from-event" in meta["tags"]) == (meta["expected_confidence"] == "LOW")

    # Every case is decided by at least one test (the harness requires it). For a LOW case that
    # test checks only what any acceptable handling must do (no raw crash), not one behaviour.
    f2p, p2p = meta["fail_to_pass"], meta["pass_to_pass"]
    assert isinstance(f2p, list) and isinstance(p2p, list)
    assert f2p
    assert p2p, "pass_to_pass guards against fixes that break the rest of the project"
    assert not set(f2p) & set(p2p)
    assert len(set(f2p + p2p)) == len(f2p + p2p)
    for test_id in f2p + p2p:
        path, sep, name = test_id.partition("::")
        assert sep and name, test_id
        assert (root / "repo" / path).is_file(), test_id

    gold = meta["gold"]
    assert gold["files"] and gold["functions"]
    for name in gold["files"]:
        assert (root / "repo" / name).is_file(), name
    assert sorted(gold["files"]) == sorted(_patched_files(root / "gold.patch"))
    sources = "\n".join((root / "repo" / f).read_text(encoding="utf-8") for f in gold["files"])
    for function in gold["functions"]:
        assert re.search(rf"\b{re.escape(function)}\b", sources), function

    for name in ("event.json", "ingest_event.json", "webhook.json", "recording.json", "gold.patch",
                 SCENARIOS[meta["language"]]):
        assert (root / name).is_file(), name
    for junk in (".git", "node_modules", "__pycache__", ".pytest_cache"):
        assert not list((root / "repo").rglob(junk)), junk


def _patched_files(patch: Path) -> list[str]:
    return re.findall(r"^diff --git a/(\S+) b/\S+$", patch.read_text(encoding="utf-8"), flags=re.MULTILINE)


# ---------------------------------------------------------------------------------- the event


@pytest.mark.parametrize("case", CASES)
def test_event_is_the_converted_sdk_event(case: str) -> None:
    root = CASES_DIR / case
    meta = _load(case)
    api, ingest = _json(root / "event.json"), _json(root / "ingest_event.json")
    assert is_api_format(api) and not is_api_format(ingest)
    expected_sdk = {"python": "sentry.python", "javascript": "sentry.javascript.node"}[meta["language"]]
    assert ingest["sdk"]["name"] == expected_sdk  # recorded by the real SDK, not written by hand
    received = datetime.fromisoformat(api["dateReceived"].replace("Z", "+00:00")).timestamp()
    again = ingest_to_api(
        ingest, issue_id=api["groupID"], project_id=api["projectID"], project_slug=meta["project"], received=received
    )
    assert again == api
    assert api["groupID"] == meta["issue_id"]


@pytest.mark.parametrize("case", CASES)
def test_event_frames_are_the_repos_source(case: str) -> None:
    root = CASES_DIR / case
    meta = _load(case)
    event = parse_event(_json(root / "event.json"))
    assert event.issue_id == meta["issue_id"]
    assert event.error_type and event.title
    crash = _crash_frame(event)
    assert crash.in_app is True
    mapper = FrameMapper(root / "repo", meta["source_root"])
    mapping = mapper.map(crash)
    assert mapping.status == "mapped", (crash.abs_path, mapping)
    assert mapping.path is not None and (root / "repo" / mapping.path).is_file()
    for frame in event.stack_trace:
        if not frame.in_app:
            continue
        mapped = mapper.map(frame)
        assert mapped.status == "mapped" and mapped.path, frame.location
        lines = (root / "repo" / mapped.path).read_text(encoding="utf-8").split("\n")
        assert frame.line_no is not None and frame.context_line is not None, frame.location
        start = frame.line_no - len(frame.pre_context)
        expected = lines[start - 1 : frame.line_no + len(frame.post_context)]
        assert [*frame.pre_context, frame.context_line, *frame.post_context] == expected, frame.location


@pytest.mark.parametrize("case", CASES)
def test_webhook_announces_the_events_issue(case: str) -> None:
    root = CASES_DIR / case
    meta = _load(case)
    body, event = _json(root / "webhook.json"), _json(root / "event.json")
    issue = body["data"]["issue"]
    assert body["action"] == "created"
    assert issue["id"] == event["groupID"] == meta["issue_id"]
    assert issue["title"] == event["title"]
    assert issue["project"]["slug"] == meta["project"]
    request = fix_request("issue", body)
    assert request is not None
    assert (request.issue_id, request.project) == (meta["issue_id"], meta["project"])


# ---------------------------------------------------------------------------------- the tests


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "eval", "GIT_AUTHOR_EMAIL": "eval@example.invalid",
           "GIT_COMMITTER_NAME": "eval", "GIT_COMMITTER_EMAIL": "eval@example.invalid"}
    proc = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stderr}"
    return proc.stdout


def _run_tests(repo: Path, case: str, ids: list[str]) -> dict[str, str]:
    """{test id: "passed" | "failed"} for `ids` (a test that did not run is absent), run by the
    execution engine in the case's own environment (built once, then reused from the cache)."""
    return asyncio.run(_engine_outputs(repo, load_case(CASES_DIR / case), ids))


async def _engine_outputs(repo: Path, case: Case, ids: list[str]) -> dict[str, str]:
    engine = TestEngine(DEFAULT_STATE_DIR)
    try:
        environment = await engine.prepare(case.environment_key, repo, case.environment)
    except EnvironmentBuildError as exc:
        skip_if_offline(str(exc))
        raise
    runner = case.spec.test.runner
    groups: dict[str, list[str]] = {}
    for test_id in ids:  # node: one run per file (name patterns apply to every file of a run)
        groups.setdefault(test_id.partition("::")[0] if runner == "node" else "", []).append(test_id)
    outcomes: dict[str, str] = {}
    for group in groups.values():
        dotted = {".".join([t.partition("::")[0].removesuffix(".py").replace("/", "."),
                            *t.split("::")[1:]]): t for t in group}
        selection = TestSelection(tests=list(dotted) if runner == "unittest" else group)
        report = await engine.run(repo, case.environment, environment, selection)
        assert report.error is None, report.error
        outcomes.update(_read(runner, report.output_tail, group, dotted))
    return outcomes


def _read(runner: str, output: str, ids: list[str], dotted: dict[str, str]) -> dict[str, str]:
    """The outcomes the runner printed, read with plain patterns (independent of the harness's
    own stricter parsers, which the harness tests cover)."""
    if runner == "pytest":
        found = re.findall(r"^(PASSED|FAILED|ERROR) (\S+)", output, flags=re.MULTILINE)
        return {test_id: "passed" if status == "PASSED" else "failed" for status, test_id in found}
    if runner == "unittest":
        found = re.findall(r"^\w+ \(([\w.]+)\) \.\.\. (ok|FAIL|ERROR)$", output, flags=re.MULTILINE)
        return {dotted[name]: "passed" if status == "ok" else "failed" for name, status in found if name in dotted}
    names = {t.partition("::")[2]: t for t in ids}
    # Top-level results only (subtests are indented); skipped = filtered out by the pattern.
    found = re.findall(r"^(ok|not ok) \d+ - (.*?)( # SKIP.*)?$", output, flags=re.MULTILINE)
    return {names[name]: "passed" if ok == "ok" else "failed" for ok, name, skip in found if not skip and name in names}


@pytest.mark.parametrize("case", CASES)
def test_gold_patch_turns_fail_to_pass_green(case: str, tmp_path: Path) -> None:
    root = CASES_DIR / case
    meta = _load(case)
    runner = meta["test"]["runner"]
    if runner == "node" and not HAS_NODE:
        pytest.skip("node is not installed")
    repo = tmp_path / "repo"
    shutil.copytree(root / "repo", repo, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache", "node_modules"))
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "as deployed")
    f2p, p2p = meta["fail_to_pass"], meta["pass_to_pass"]

    before = _run_tests(repo, case, f2p + p2p)
    assert {t: before.get(t) for t in f2p} == {t: "failed" for t in f2p}, "the bug must be visible before the fix"
    assert {t: before.get(t) for t in p2p} == {t: "passed" for t in p2p}

    _git(repo, "apply", "--whitespace=nowarn", str(root / "gold.patch"))
    assert sorted(_git(repo, "diff", "--name-only").split()) == sorted(meta["gold"]["files"])
    after = _run_tests(repo, case, f2p + p2p)
    assert after == {t: "passed" for t in f2p + p2p}


# ---------------------------------------------------------------------------------- re-recording

def _skip_if_offline(exc: RecorderSetupError) -> None:
    """Skip only when installing the SDK failed for lack of network; fail on anything else."""
    skip_if_offline(str(exc), "install the SDK for re-recording")
    raise exc


def _same_crash(fresh: dict[str, Any], committed: dict[str, Any]) -> None:
    again, before = parse_event(fresh), parse_event(committed)
    assert (again.error_type, again.error_message) == (before.error_type, before.error_message)
    assert again.issue_id == before.issue_id and again.title == before.title

    def where(frame: StackFrame) -> tuple[Any, ...]:
        return (frame.filename, frame.abs_path, frame.function, frame.line_no, frame.context_line, frame.in_app)

    assert where(_crash_frame(again)) == where(_crash_frame(before))
    assert [where(f) for f in again.in_app_frames] == [where(f) for f in before.in_app_frames]


def _rerecord(case: str, out: Path) -> dict[str, Any]:
    from evals.record_cases import record_case

    try:
        return record_case(CASES_DIR / case, out_dir=out)
    except RecorderSetupError as exc:
        _skip_if_offline(exc)
        raise


@pytest.mark.slow
def test_recorder_on_one_case(tmp_path: Path) -> None:
    case = "contacts-csv-bom"
    fresh = _rerecord(case, tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == {"event.json", "ingest_event.json", "webhook.json"}
    assert _json(tmp_path / "ingest_event.json")["sdk"]["name"] == "sentry.python"
    _same_crash(fresh, _json(CASES_DIR / case / "event.json"))


@pytest.mark.slow
@pytest.mark.skipif(not HAS_NODE, reason="node is not installed")
def test_node_recorder_on_one_case(tmp_path: Path) -> None:
    case = next((c for c in CASES if _load(c)["language"] == "javascript"), None)
    if case is None:
        pytest.skip("no JavaScript case yet")
    fresh = _rerecord(case, tmp_path)
    assert _json(tmp_path / "ingest_event.json")["sdk"]["name"] == "sentry.javascript.node"
    _same_crash(fresh, _json(CASES_DIR / case / "event.json"))
