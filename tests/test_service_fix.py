"""The whole job through the real service: signed webhook → fake Sentry API → checkout of a
local repository → the agent (real `anthropic` SDK against the fake Messages API) → FixResult
stored with the job. Plus durability: SIGKILL mid-run never repays a finished model turn."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent.transcript import read_transcript, transcript_path
from tests.fakes.anthropic_api import API_KEY, FakeAnthropic, Turn, overloaded, text, tool_use
from tests.fakes.sentry_api import FakeSentry, load_fixture
from tests.fakes.serve import serve_app
from tests.service import SENTRY_TOKEN, Service
from tests.test_agent_loop import (
    BUGGY_LINE,
    CART,
    FIXED_LINE,
    _line_of,
    _patch_call,
    _repo_tests_pass,
    _submit_call,
    make_shop_repo,
)

# Real subprocesses (the service, the CLI): run in CI; `pytest -m "not slow"` skips them locally.
pytestmark = pytest.mark.slow

ISSUE = "4242"


def api_event(issue_id: str) -> dict[str, Any]:
    """The shop's crash in the API format of `.../issues/{id}/events/latest/` (see the real
    examples in shared/fixtures/sentry/real/glitchtip-oss-sentry-python_zero_division.json)."""
    lines = CART.splitlines()

    def frame(function: str, needle: str) -> dict[str, Any]:
        n = _line_of(CART, needle)
        context = [[i, lines[i - 1]] for i in range(max(1, n - 3), min(len(lines), n + 3) + 1)]
        return {"filename": "shop/cart.py", "absPath": "/srv/app/shop/cart.py", "module": "shop.cart",
                "function": function, "lineNo": n, "colNo": None, "inApp": True, "context": context, "vars": {}}

    return {
        "id": "c0ffee0000000000000000000000beef", "eventID": "c0ffee0000000000000000000000beef",
        "groupID": issue_id, "projectID": "1", "title": "AttributeError: 'NoneType' object has no attribute 'get'",
        "platform": "python", "dateCreated": "2026-11-20T10:00:00Z", "culprit": "shop.cart in apply_discount",
        "type": "error", "message": "", "errors": [],
        "entries": [{"type": "exception", "data": {"values": [{
            "type": "AttributeError", "value": "'NoneType' object has no attribute 'get'", "module": None,
            "mechanism": {"type": "generic", "handled": False},
            "stacktrace": {"frames": [
                frame("cart_total", "return apply_discount(subtotal, discounts)"),
                frame("apply_discount", BUGGY_LINE.strip()),
            ], "framesOmitted": None, "hasSystemFrames": False},
        }], "hasSystemFrames": False}}],
        "tags": [{"key": "environment", "value": "production"}, {"key": "level", "value": "error"}],
        "contexts": {}, "release": None, "sdk": {"name": "sentry.python", "version": "2.40.0"},
    }


@pytest.fixture
def shop_repo(tmp_path: Path) -> Path:
    return make_shop_repo(tmp_path / "shop-origin")


@pytest.fixture
def sentry() -> Iterator[tuple[FakeSentry, str]]:
    fake = FakeSentry(token=SENTRY_TOKEN, org="test-org", load_fixtures=False)
    fake.add_event(api_event(ISSUE), project_slug="shop")
    with serve_app(fake.app) as url:
        yield fake, url


def _service(tmp_path: Path, sentry_url: str, llm_url: str, repo: Path, llm: dict[str, Any] | None = None,
             **worker: Any) -> Service:
    config = {
        "projects": [{"source-project": "shop", "scm-repo": "acme/shop", "clone-url": str(repo)}],
        "llm": {"provider": "anthropic", "base-url": llm_url, "max-steps": 10, **(llm or {})},
        # Dry run: no pull request; the branch still goes to the local origin (a path, not a forge).
        "behavior": {"dry-run": True},
        "worker": {"concurrency": 1, "poll-interval-seconds": 0.1, "sentry-backoff-seconds": 0.05, **worker},
    }
    return Service(tmp_path, sentry_url, config=config, env={"AUTOFIXER_LLM_KEY": API_KEY})


def _webhook(issue_id: str) -> dict[str, Any]:
    body = load_fixture("webhook-issue-created.json")
    body["data"]["issue"].update(id=issue_id, project={"id": "1", "slug": "shop", "name": "shop"})
    return body


SCRIPT = [
    [text("Reading the stack trace first."), tool_use("get_stacktrace", {})],
    [tool_use("read_file", {"path": "shop/cart.py"})],
    [text("apply_discount calls .get on None."), _patch_call()],
    [_submit_call("HIGH")],
]


def test_webhook_to_fix_result_through_the_real_service(
    tmp_path: Path, sentry: tuple[FakeSentry, str], shop_repo: Path
) -> None:
    llm = FakeAnthropic(list(SCRIPT))
    with serve_app(llm.app) as llm_url:
        svc = _service(tmp_path, sentry[1], llm_url, shop_repo).start()
        try:
            assert svc.post_webhook(_webhook(ISSUE), "issue").status_code == 202
            job = svc.wait_job(f"sentry:test-org:{ISSUE}", timeout=60)
        finally:
            svc.stop()
    outcome = job["outcome"]
    assert outcome["state"] == "done", outcome
    fix = outcome["fix"]
    assert fix["confidence"] == "HIGH" and fix["exit_reason"] == "submitted"
    assert [c["file"] for c in fix["changes"]] == ["shop/cart.py"]
    assert f"+{FIXED_LINE}" in fix["diff"] and fix["usage"]["steps"] == 4 and fix["usage"]["cost_usd"] > 0
    assert llm.rejections == [] and len(llm.requests) == 4
    # The stack trace the model saw was mapped onto the checked-out repository.
    stacktrace = llm.requests[1]["messages"][-1]["content"][0]["content"]
    stacktrace = stacktrace if isinstance(stacktrace, str) else json.dumps(stacktrace)
    assert "shop/cart.py" in stacktrace and BUGGY_LINE.strip() in stacktrace
    # The diff really fixes the bug: apply it to a fresh clone and run the project's own tests.
    clone = tmp_path / "verify"
    subprocess.run(["git", "clone", "-q", str(shop_repo), str(clone)], check=True)
    assert not _repo_tests_pass(clone)
    subprocess.run(["git", "apply"], input=fix["diff"].encode(), cwd=clone, check=True)
    assert _repo_tests_pass(clone)
    # Dry run: the PR that would have been opened is recorded, and the branch holds exactly the fix.
    publication = outcome["publication"]
    assert publication["state"] == "dry_run" and publication["pushed"] and outcome["pr_url"] is None
    assert publication["branch"] == f"fix/auto-fixer-sentry-{ISSUE}"
    assert publication["labels"] == ["auto-fix", "ai-generated", "confidence-high"]
    assert "review" in publication["body"] and fix["root_cause"] in publication["body"]
    branch_diff = subprocess.run(["git", "diff", "main", publication["branch"]], cwd=shop_repo, check=True,
                                 capture_output=True, text=True).stdout
    assert branch_diff.strip() == fix["diff"].strip()
    # The origin's main is untouched, the job's worktree is gone, and the transcript was kept.
    assert (shop_repo / "shop" / "cart.py").read_text() == CART
    worktrees = tmp_path / "state" / "worktrees"
    assert not [p for p in worktrees.iterdir() if not p.name.startswith(".")] if worktrees.exists() else True
    records = read_transcript(transcript_path(tmp_path / "state", f"sentry:test-org:{ISSUE}"))
    assert records[0]["kind"] == "header" and records[-1]["kind"] == "result"
    assert API_KEY not in transcript_path(tmp_path / "state", f"sentry:test-org:{ISSUE}").read_text()


def test_sigkill_mid_run_replays_finished_turns_from_the_checkpoint(
    tmp_path: Path, sentry: tuple[FakeSentry, str], shop_repo: Path
) -> None:
    # Turn 3 hangs: turns 1-2 (and their tool calls) are done when the process is killed.
    script = [SCRIPT[0], SCRIPT[1], Turn(SCRIPT[2], delay_s=60), SCRIPT[2], SCRIPT[3]]
    llm = FakeAnthropic(script)
    with serve_app(llm.app) as llm_url:
        svc = _service(tmp_path, sentry[1], llm_url, shop_repo)
        restarted = _service(tmp_path, sentry[1], llm_url, shop_repo)
        restarted.port, restarted.url = svc.port, svc.url
        try:
            svc.start()
            assert svc.post_webhook(_webhook(ISSUE), "issue").status_code == 202
            deadline = time.monotonic() + 30
            while len(llm.received) < 3:
                assert time.monotonic() < deadline, svc.log()[-3000:]
                time.sleep(0.05)
            svc.kill()
            restarted.start()
            job = restarted.wait_job(f"sentry:test-org:{ISSUE}", timeout=60)
        finally:
            svc.kill()
            restarted.stop()
    outcome = job["outcome"]
    assert outcome["state"] == "done" and outcome["fix"]["confidence"] == "HIGH", outcome
    assert f"+{FIXED_LINE}" in outcome["fix"]["diff"]
    # 2 turns before the crash, the interrupted one, then only the 2 unfinished ones again:
    # turns 1 and 2 were replayed from the checkpoint, not paid for twice.
    assert len(llm.received) == 5 and llm.rejections == []
    # The recovered conversation was rebuilt identically (same tool results re-executed).
    assert llm.received[3].body["messages"] == llm.received[2].body["messages"]


def test_the_wall_time_limit_ends_the_run_low_keeping_the_analysis(
    tmp_path: Path, sentry: tuple[FakeSentry, str], shop_repo: Path
) -> None:
    # Turn 2 answers after the job's 3-second budget: the checkpointed model step says so.
    llm = FakeAnthropic([SCRIPT[0], Turn(SCRIPT[1], delay_s=10)])
    with serve_app(llm.app) as llm_url:
        svc = _service(tmp_path, sentry[1], llm_url, shop_repo, llm={"max-wall-seconds": 3}).start()
        try:
            assert svc.post_webhook(_webhook(ISSUE), "issue").status_code == 202
            job = svc.wait_job(f"sentry:test-org:{ISSUE}", timeout=60)
        finally:
            svc.stop()
    outcome = job["outcome"]
    fix = outcome["fix"]
    assert fix["exit_reason"] == "max_time" and fix["confidence"] == "LOW", fix
    assert "Reading the stack trace first." in fix["analysis"]
    # A limit hit before the model submitted is a failed (retryable) job, not one the gate skipped.
    assert outcome["state"] == "failed" and "the time limit was reached" in outcome["reason"], outcome
    assert job["status"] == "failed" and outcome["publication"]["state"] == "skipped"


def test_an_llm_outage_is_a_failed_job_that_can_be_retried(
    tmp_path: Path, sentry: tuple[FakeSentry, str], shop_repo: Path
) -> None:
    # 529 on every attempt the SDK makes (1 + 3 retries): the model API is down for this job.
    llm = FakeAnthropic([overloaded()] * 4 + SCRIPT)
    job_id = f"sentry:test-org:{ISSUE}"
    with serve_app(llm.app) as llm_url:
        svc = _service(tmp_path, sentry[1], llm_url, shop_repo).start()
        try:
            assert svc.post_webhook(_webhook(ISSUE), "issue").status_code == 202
            job = svc.wait_job(job_id, timeout=60)
            assert job["status"] == "failed" and job["workflow_status"] == "SUCCESS", job
            assert "529" in job["outcome"]["reason"] and job["outcome"]["fix"]["exit_reason"] == "error"
            assert 'autofixer_jobs_total{state="failed"} 1' in httpx.get(f"{svc.url}/metrics").text
            # The outage is over: the same job runs again under the same id and fixes the issue.
            assert httpx.post(f"{svc.url}/api/jobs/{job_id}/retry").status_code == 202
            deadline = time.monotonic() + 60
            while (again := svc.job(job_id)) is None or again["status"] not in ("done", "skipped", "failed", "ignored"):
                assert time.monotonic() < deadline, again
                time.sleep(0.2)
        finally:
            svc.stop()
    assert again["status"] == "done" and again["outcome"]["fix"]["confidence"] == "HIGH", again
