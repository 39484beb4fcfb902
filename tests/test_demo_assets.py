"""The assets `autofixer demo` ships: sample project, recorded Sentry event, webhook, turns.

They must agree with each other and with the code that consumes them: the event was recorded
from exactly the bundled source (every frame's context line is that file's line), the scripted
turns are valid calls of the real tools, their patch applies to a pristine copy and turns the
sample's one failing test green, and the whole recording replays through the real agent loop.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from agent.loop import Progress, prompt_version, run_agent
from agent.pricing import cost_usd
from agent.replay_provider import Recording, ReplayProvider
from domain import Confidence, ErrorEvent, FileChange
from evals.recorder import _context_pairs, ingest_to_api, rewrite_paths
from execution.config import TestsConfig
from execution.engine import TestEngine
from sources.sentry.parser import is_api_format, parse_event
from sources.sentry.webhook import fix_request
from tests.fixtures_path import shared_dir
from tests.test_tools_files import git
from tools.base import ToolContext, ToolOutcome
from tools.patch import apply_changes
from tools.registry import TEST_TOOLS, Registry, call_tool, tools_for

ASSETS = Path(__file__).resolve().parents[1] / "server" / "demo_assets"
SAMPLE = ASSETS / "sample"
REAL = shared_dir() / "fixtures" / "sentry" / "real"

BUG_TEST = "tests/test_api.py::ApiTest::test_quote_from_query_string"
REPRO_TEST = "tests/test_quote_quantity.py"
CRASH_LINE = "    gross = product.unit_price * item.quantity"
ERROR_VALUE = "can't multiply sequence by non-int of type 'decimal.Decimal'"


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _event() -> dict[str, Any]:
    return _json(ASSETS / "event.json")


def _recording() -> Recording:
    return Recording.load(ASSETS / "turns.json")


def _recorded_changes() -> list[FileChange]:
    return [
        FileChange.model_validate(change)
        for turn in _recording().turns
        for call in turn.tool_calls
        if call.name == "propose_patch" and isinstance(call.arguments, dict)
        for change in call.arguments["changes"]
    ]


@pytest.fixture
def sample_repo(tmp_path: Path) -> Path:
    """What the demo does: the sample copied to a temp dir and committed to a fresh git repo."""
    root = tmp_path / "shop"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "shop 1.4.2")
    return root


def _run_sample_tests(root: Path) -> tuple[int, dict[str, int], list[str]]:
    """(exit code, {"passed": n, "failed": m}, failed test ids) of the sample's own suite."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONPATH", None)  # the sample must import `shop` from its own root (tests/ is a package)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rf", "-p", "no:cacheprovider"],
        cwd=root, env=env, capture_output=True, text=True, timeout=120,
    )
    out = proc.stdout + proc.stderr
    counts = {kind: int(n) for n, kind in re.findall(r"(\d+) (passed|failed|error)", out)}
    failed = re.findall(r"^FAILED (\S+)", out, flags=re.MULTILINE)
    return proc.returncode, counts, failed


# ---------------------------------------------------------------------------- the sample project


def test_package_layout() -> None:
    assert (ASSETS / "__init__.py").read_text() == ""
    for name in ("event.json", "ingest_event.json", "webhook.json", "turns.json", "scenario.py"):
        assert (ASSETS / name).is_file(), name
    # The demo git-inits its own copy; a nested repository or package marker would break that
    # (and make setuptools treat the sample as part of autofixer).
    assert not (SAMPLE / ".git").exists()
    assert not (SAMPLE / "__init__.py").exists()
    # Plain unittest, so its environment needs nothing from a package registry (the demo is offline).
    assert (SAMPLE / "tests" / "__init__.py").is_file() and not (SAMPLE / "tests" / "conftest.py").exists()


def test_only_the_bug_test_fails_before_the_fix(sample_repo: Path) -> None:
    code, counts, failed = _run_sample_tests(sample_repo)
    assert code == 1
    assert failed == [BUG_TEST]
    assert counts["failed"] == 1 and counts["passed"] >= 10


def test_recorded_patch_fixes_the_sample(sample_repo: Path) -> None:
    _, before, _ = _run_sample_tests(sample_repo)
    changes = _recorded_changes()
    # A new reproduction test, then the fix in the parser, not in the crashing pricing code.
    assert [(c.file, bool(c.original)) for c in changes] == [(REPRO_TEST, False), ("shop/orders.py", True)]
    apply_changes(sample_repo, changes[:1])
    code, _, failed = _run_sample_tests(sample_repo)
    assert failed == [BUG_TEST, f"{REPRO_TEST}::QuoteQuantityFromQueryStringTest::"
                      "test_quantity_from_the_query_string_is_priced_as_a_number"]  # it reproduces the crash
    diff = apply_changes(sample_repo, changes[1:])
    assert "+    return LineItem(sku=sku.strip().upper(), quantity=int(str(quantity).strip()))" in diff
    assert "pricing.py" not in diff
    code, after, failed = _run_sample_tests(sample_repo)
    assert (code, failed) == (0, [])
    assert after == {"passed": before["passed"] + before["failed"] + 1}


def test_patch_original_is_copied_exactly_from_the_file() -> None:
    source = (SAMPLE / "shop" / "orders.py").read_text(encoding="utf-8")
    for change in _recorded_changes():
        if change.original:  # an empty one creates a file
            assert source.count(change.original) == 1


# ---------------------------------------------------------------------------- the recorded event


def test_event_parses_into_the_expected_error_event() -> None:
    event = parse_event(_event())
    assert isinstance(event, ErrorEvent)
    assert event.issue_id == "5872041193"
    assert event.error_type == "TypeError"
    assert event.error_message == ERROR_VALUE
    assert event.title == f"TypeError: {ERROR_VALUE}"
    assert (event.release, event.environment, event.platform, event.level) == (
        "shop@1.4.2", "production", "python", "error"
    )
    exc = event.primary_exception
    assert exc is not None and (exc.mechanism, exc.handled) == ("wsgi", False)

    crash = event.stack_trace[-1]
    assert (crash.filename, crash.function, crash.line_no) == ("shop/pricing.py", "price_line", 48)
    assert crash.abs_path == "/srv/shop/shop/pricing.py"
    assert crash.module == "shop.pricing"
    assert crash.context_line == CRASH_LINE
    assert len(crash.pre_context) == 5 and len(crash.post_context) == 5
    assert crash.vars["item"] == "LineItem(sku='MUG-01', quantity='2')"  # the clue: a str quantity
    assert [(f.filename, f.function) for f in event.stack_trace] == [
        ("shop/api.py", "application"),
        ("shop/api.py", "quote"),
        ("shop/pricing.py", "price_order"),
        ("shop/pricing.py", "<listcomp>"),
        ("shop/pricing.py", "price_line"),
    ]
    assert all(f.in_app is True for f in event.stack_trace)

    assert [(b.category, b.level, b.type) for b in event.breadcrumbs] == [
        ("shop.api", "info", "log"), ("shop.pricing", "info", "log")
    ]
    assert "quantity=2" in (event.breadcrumbs[0].message or "")
    assert event.request is not None
    assert (event.request.method, event.request.url) == ("GET", "https://shop.example.com/quote")
    assert event.request.query_string == "sku=MUG-01&quantity=2&coupon=SPRING10&country=DE"
    assert event.request.headers["Host"] == "shop.example.com"
    for key, value in {
        "handled": "no", "mechanism": "wsgi", "release": "shop@1.4.2", "environment": "production",
        "url": "https://shop.example.com/quote", "runtime.name": "CPython", "level": "error",
    }.items():
        assert event.tags[key] == value
    assert event.contexts["runtime"]["name"] == "CPython"
    assert event.sdk is not None and event.sdk.startswith("sentry.python/")


def test_event_was_recorded_from_the_bundled_source() -> None:
    """Every frame's context is the bundled file's text at that line, so the demo's worktree
    and the event can never drift apart unnoticed."""
    event = parse_event(_event())
    for frame in event.stack_trace:
        lines = (SAMPLE / frame.filename).read_text(encoding="utf-8").split("\n")
        assert frame.line_no is not None and frame.abs_path == f"/srv/shop/{frame.filename}"
        start = frame.line_no - len(frame.pre_context)
        expected = lines[start - 1 : frame.line_no + len(frame.post_context)]
        assert [*frame.pre_context, frame.context_line, *frame.post_context] == expected, frame.location


def test_event_has_the_api_format_of_real_api_responses() -> None:
    ours = _event()
    assert is_api_format(ours)
    seer = _json(REAL / "seer-autofix-request-python.json")["issue"]["events"][0]
    mcp = _json(REAL / "sentry-mcp-event-javascript.json")
    assert set(seer) <= set(ours) and set(mcp) <= set(ours)
    assert list(ours) == list(mcp)  # the serializer's key order

    def frames(event: dict[str, Any]) -> list[dict[str, Any]]:
        entry = next(e for e in event["entries"] if e["type"] == "exception")
        return [f for v in entry["data"]["values"] for f in v["stacktrace"]["frames"]]

    assert set(frames(ours)[0]) == set(frames(seer)[0])
    exc_value = next(e for e in ours["entries"] if e["type"] == "exception")["data"]["values"][0]
    seer_value = next(e for e in seer["entries"] if e["type"] == "exception")["data"]["values"][0]
    assert set(exc_value) == set(seer_value)
    assert set(seer["release"]) <= set(ours["release"])
    assert [e["type"] for e in ours["entries"]] == ["exception", "breadcrumbs", "request"]
    request = next(e for e in ours["entries"] if e["type"] == "request")["data"]
    assert set(request) == set(next(e for e in mcp["entries"] if e["type"] == "request")["data"])
    assert ["quantity", "2"] in request["query"]
    crumb = next(e for e in ours["entries"] if e["type"] == "breadcrumbs")["data"]["values"][0]
    assert set(crumb) == {"timestamp", "type", "category", "level", "message", "data", "event_id"}
    assert crumb["timestamp"].endswith("Z")
    assert all(set(t) == {"key", "value"} for t in ours["tags"])
    assert [t["key"] for t in ours["tags"]] == sorted(t["key"] for t in ours["tags"])
    assert ours["metadata"] == {
        "filename": "shop/pricing.py", "function": "price_line", "in_app_frame_mix": "in-app-only",
        "type": "TypeError", "value": ERROR_VALUE,
    }
    assert ours["location"] == "shop/pricing.py"
    assert ours["release"]["version"] == "shop@1.4.2" and ours["release"]["shortVersion"] == "1.4.2"
    assert ours["id"] == ours["eventID"] and re.fullmatch(r"[0-9a-f]{32}", ours["eventID"])


def test_event_json_is_exactly_the_conversion_of_the_recorded_sdk_event() -> None:
    ingest = _json(ASSETS / "ingest_event.json")
    api = _event()
    # Only the transport's receive time is not in the SDK's payload.
    received = datetime.fromisoformat(api["dateReceived"].replace("Z", "+00:00")).timestamp()
    converted = ingest_to_api(
        ingest, issue_id=api["groupID"], project_id=api["projectID"], project_slug="shop", received=received
    )
    assert converted == api


def test_ingest_event_is_an_sdk_payload() -> None:
    ingest = _json(ASSETS / "ingest_event.json")
    assert not is_api_format(ingest)
    assert ingest["sdk"]["name"] == "sentry.python"
    assert ingest["event_id"] == _event()["eventID"]
    assert ingest["exception"]["values"][-1]["mechanism"] == {"type": "wsgi", "handled": False}
    assert ingest["contexts"]["trace"]["trace_id"]
    # The ingest event parses to the same exception and frames as its API rendering.
    assert parse_event(ingest).exceptions == parse_event(_event()).exceptions


def test_webhook_announces_the_events_issue() -> None:
    body = _json(ASSETS / "webhook.json")
    event = _event()
    issue = body["data"]["issue"]
    assert body["action"] == "created"
    assert issue["id"] == event["groupID"]
    assert issue["title"] == event["title"]
    assert issue["project"]["slug"] == "shop"
    assert body["installation"]["uuid"] and body["actor"]["type"] == "application"
    real = _json(REAL / "webhook-issue-created.json")["data"]["issue"]
    assert set(real) <= set(issue)
    request = fix_request("issue", body)
    assert request is not None
    assert (request.issue_id, request.project, request.trigger) == (event["groupID"], "shop", "issue.created")


# ---------------------------------------------------------------------------- the scripted turns


def test_turns_are_a_labelled_recording_of_valid_tool_calls() -> None:
    recording = _recording()
    assert recording.label == "scripted demonstration turns written for the bundled sample project, not a live model"
    names = [call.name for turn in recording.turns for call in turn.tool_calls]
    assert names == ["get_stacktrace", "read_file", "search_repo", "read_file", "propose_patch", "run_tests",
                     "propose_patch", "run_tests", "submit_fix"]
    tools = {t.name: t for t in TEST_TOOLS}
    ids = []
    for turn in recording.turns:
        assert turn.text.strip() and turn.stop_reason == "tool_use"
        for call in turn.tool_calls:
            assert isinstance(call.arguments, dict)
            tools[call.name].args.model_validate(call.arguments)
            ids.append(call.id)
    assert len(set(ids)) == len(ids)
    submit = tools["submit_fix"].args.model_validate(recording.turns[-1].tool_calls[0].arguments)
    assert submit.confidence == Confidence.HIGH  # type: ignore[attr-defined]
    assert submit.pr_title.startswith("fix: ")  # type: ignore[attr-defined]
    assert "shop/orders.py" in submit.pr_body  # type: ignore[attr-defined]
    assert submit.reproduction_test == REPRO_TEST  # type: ignore[attr-defined]


def test_turns_belong_to_the_current_prompts() -> None:
    """The turns were written against today's prompts, tools and nudges (the sample has tests, so
    the tools include run_tests). When those change, check the turns still make sense and replay
    (this file's tests do both), then set the recording's prompt_version to the new
    `agent.loop.prompt_version(TEST_TOOLS)`."""
    assert _recording().prompt_version == prompt_version(TEST_TOOLS)


def test_turn_usage_is_priced_at_sonnet_rates() -> None:
    turns = _recording().turns
    assert turns[0].usage.cache_read_tokens == 0 and turns[0].usage.cache_write_tokens > 0
    reads = [t.usage.cache_read_tokens for t in turns]
    assert reads == sorted(reads) and reads[1] > 0
    for turn in turns:
        u = turn.usage
        expected, _ = cost_usd(
            "claude-sonnet-5-5", input_tokens=u.input_tokens, output_tokens=u.output_tokens,
            cache_read_tokens=u.cache_read_tokens, cache_write_tokens=u.cache_write_tokens,
        )
        assert u.cost_usd == pytest.approx(expected, abs=1e-6)
        assert (u.steps, u.tool_calls) == (1, len(turn.tool_calls))


async def test_recording_replays_through_the_agent_loop(sample_repo: Path, tmp_path: Path) -> None:
    """The demo's path: the replay provider plays the turns against the real tools, and the
    run_tests calls really run the sample's tests in the sandbox."""
    progress: list[Progress] = []
    engine = TestEngine(tmp_path / "state")
    if (why := engine.unavailable()) is not None:
        pytest.skip(f"no sandbox here: {why}")
    ctx = ToolContext(worktree=sample_repo, event=parse_event(_event()), tests=TestsConfig(runner="unittest"),
                      engine=engine, repo_key="acme/shop")
    runs: list[str] = []

    async def call(tools: Registry[ToolContext], ctx: ToolContext, name: str, arguments: Any) -> ToolOutcome:
        outcome = await call_tool(tools, ctx, name, arguments)
        if name == "run_tests":
            runs.append(outcome.text)
        return outcome

    result = await run_agent(ReplayProvider(_recording()), tools_for(ctx), ctx, on_progress=progress.append,
                             call_tool=call)
    assert result.exit_reason == "submitted"
    assert result.confidence == Confidence.HIGH and result.reproduction_test == REPRO_TEST
    assert [c.file for c in result.changes] == [REPRO_TEST, "shop/orders.py"]
    assert "quantity=int(str(quantity).strip())" in result.diff
    assert result.usage.steps == 9 and result.usage.tool_calls == 9
    errors = [p for p in progress if p.kind == "tool_result" and p.is_error]
    assert errors == []
    # What the turns' text says happened really happened: the new test failed with the event's
    # TypeError, and after the fix the whole suite passed.
    assert runs[0].startswith("FAILED") and "TypeError" in runs[0], runs
    assert runs[1].startswith("PASSED"), runs
    code, _, failed = _run_sample_tests(sample_repo)
    assert (code, failed) == (0, [])


# ---------------------------------------------------------------------------- the recorder


def test_ingest_to_api_on_a_real_sdk_sample() -> None:
    ingest = _json(REAL / "sentry-sample-python-modern.json")
    api = ingest_to_api(ingest, issue_id="42", project_id=7)
    assert is_api_format(api)
    direct, converted = parse_event(ingest), parse_event(api)
    assert converted.exceptions == direct.exceptions
    context_line = converted.exceptions[-1].frames[-1].context_line
    assert context_line == "    raise Exception('This is an example Python exception')"
    assert (converted.issue_id, converted.title, converted.culprit) == ("42", direct.title, "__main__ in main")
    assert [(b.category, b.message, b.level) for b in converted.breadcrumbs] == [
        (b.category, b.message, b.level) for b in direct.breadcrumbs
    ]
    assert [datetime.fromisoformat((b.timestamp or "").replace("Z", "+00:00")) for b in converted.breadcrumbs] == [
        datetime.fromisoformat(b.timestamp or "") for b in direct.breadcrumbs
    ]
    assert converted.tags.items() >= direct.tags.items()
    assert converted.contexts["runtime"]["version"] == "3.13.5"
    assert api["metadata"] == ingest["metadata"]  # a stored event's metadata is kept as Sentry made it
    assert api["dateReceived"] == "2025-06-27T06:48:33.106890Z"  # from the stored `received`
    assert api["release"] is None and api["projectID"] == "7"


def test_context_pairs_follow_sentrys_numbering() -> None:
    frame = {"lineno": 10, "pre_context": ["a", "b"], "context_line": "c", "post_context": ["d"]}
    assert _context_pairs(frame) == [[8, "a"], [9, "b"], [10, "c"], [11, "d"]]
    assert _context_pairs({"lineno": None, "context_line": "x"}) == []
    assert _context_pairs({"lineno": 3}) == []


def test_rewrite_paths_replaces_longest_prefix_first() -> None:
    mapping = {"/tmp/rec": "/opt/venv", "/tmp/rec/app": "/srv/shop"}
    event = {"frames": [{"abs_path": "/tmp/rec/app/shop/api.py"}], "argv": ["/tmp/rec/bin/gunicorn"]}
    assert rewrite_paths(event, mapping) == {
        "frames": [{"abs_path": "/srv/shop/shop/api.py"}], "argv": ["/opt/venv/bin/gunicorn"]
    }


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("AUTOFIXER_RECORDER_PYTHON"),
    reason="set AUTOFIXER_RECORDER_PYTHON to a python with sentry-sdk to re-record under the real SDK",
)
def test_rerecording_reproduces_the_committed_event(tmp_path: Path) -> None:
    from evals.recorder import record_demo

    out = tmp_path / "assets"
    shutil.copytree(ASSETS, out, ignore=shutil.ignore_patterns("__pycache__"))
    fresh = record_demo(out, python=Path(os.environ["AUTOFIXER_RECORDER_PYTHON"]))
    committed = parse_event(_event())
    again = parse_event(fresh)
    assert again.title == committed.title and again.culprit == committed.culprit

    def frames(event: ErrorEvent) -> list[tuple[Any, ...]]:
        return [(f.filename, f.function, f.line_no, f.context_line, f.in_app) for f in event.stack_trace]

    assert frames(again) == frames(committed)
    # Outer frames' locals hold object reprs with addresses and trace ids; the crash frame's don't.
    assert again.stack_trace[-1].vars == committed.stack_trace[-1].vars
    assert [(b.category, b.message) for b in again.breadcrumbs] == \
        [(b.category, b.message) for b in committed.breadcrumbs]
    assert again.request == committed.request
