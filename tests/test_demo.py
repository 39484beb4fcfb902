"""`autofixer demo`, the README's main command, run exactly as a newcomer would (no keys)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# Real subprocesses (the service, the CLI): run in CI; `pytest -m "not slow"` skips them locally.
pytestmark = pytest.mark.slow


def test_demo_runs_offline_labels_replays_and_fixes_the_sample(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("AUTOFIXER_LLM_KEY", "ANTHROPIC_API_KEY")}
    result = subprocess.run(
        [sys.executable, "-m", "server.cli", "demo", "--workdir", str(tmp_path / "demo")],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "Sentry API: REPLAYED" in out and "model: REPLAYED" in out
    assert "[REPLAYED model turns]" in out and "(replayed figures)" in out
    assert "HTTP 202 accepted" in out and "confidence HIGH" in out
    assert "+++ b/shop/orders.py" in out
    assert "branch fix/auto-fixer-sentry-5872041193 pushed to" in out
    assert "labels: auto-fix, ai-generated, confidence-high" in out and "must be reviewed by a person" in out
    # The sample's tests really ran in the sandbox: the agent's reproduction test failed with the
    # event's TypeError, then the suite passed; the pipeline's own validation says the same.
    assert "step 6: run_tests" in out and "-> FAILED: 0 passed, 0 failed, 1 errors (unittest" in out
    assert "-> PASSED: 15 passed, 0 failed (unittest" in out and "[real test run]" in out
    assert "validation (real test runs, not replayed): validated" in out
    assert "## Validation" in out and "**Verdict: validated.**" in out
    assert "- **Reproduction test without the fix:** FAILED: `tests.test_quote_quantity." in out
    assert "TypeError: can't multiply sequence by non-int" in out
    assert "- **Reproduction test with the fix:** PASSED" in out and "- **Test suite with the fix:** 15 passed" in out
    assert "+++ b/tests/test_quote_quantity.py" in out


@pytest.mark.parametrize("scm", ["gitlab", "bitbucket", "bitbucket-datacenter"])
def test_demo_opens_a_request_through_each_forge_provider_on_a_labelled_stand_in(tmp_path: Path, scm: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("AUTOFIXER_LLM_KEY", "ANTHROPIC_API_KEY")}
    result = subprocess.run(
        [sys.executable, "-m", "server.cli", "demo", "--scm", scm, "--workdir", str(tmp_path / "demo")],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "STAND-IN — a local stand-in for its REST API" in out and "model: REPLAYED" in out
    assert "STAND-IN: #1 https://" in out and "(dry run)" not in out
    assert "labels: auto-fix, ai-generated, confidence-high" in out
    assert "**Verdict: validated.**" in out


def test_without_a_sandbox_the_demo_still_runs_and_says_why_nothing_was_validated(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("AUTOFIXER_LLM_KEY", "ANTHROPIC_API_KEY")}
    # A machine without bubblewrap: the engine finds no bwrap binary.
    no_bwrap = ("import sys; from pathlib import Path; import execution.sandbox as s; "
                "s.bwrap_binary = lambda: Path('/nonexistent/bwrap'); from server.cli import main; "
                "sys.exit(main(sys.argv[1:]))")
    result = subprocess.run([sys.executable, "-c", no_bwrap, "demo", "--workdir", str(tmp_path / "demo")],
                            capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "validation skipped, the tests cannot run on this machine: bubblewrap is not installed" in out
    assert "**Verdict: not validated.**" in out and "confidence MEDIUM" in out
    assert "The agent claimed HIGH confidence; without a validated fix it is at most MEDIUM." in out


def test_demo_runs_live_with_any_configured_provider(tmp_path: Path) -> None:
    """`autofixer demo --llm openai-compatible`: the recorded turns, played by a Chat Completions
    server (the local fake), reach the agent through the OpenAI SDK; nothing is labelled REPLAYED
    for the model, and a local model's cost is $0."""
    from agent.replay_provider import Recording
    from tests.fakes.openai_api import Completion, FakeOpenAI
    from tests.fakes.serve import serve_app

    recording = Recording.load(Path(__file__).resolve().parents[1] / "server" / "demo_assets" / "turns.json")
    fake = FakeOpenAI(api_key=None)
    fake.script += [Completion(content=t.text or None, tool_calls=[(c.name, c.arguments) for c in t.tool_calls])
                    for t in recording.turns]
    env = {k: v for k, v in os.environ.items() if k not in ("AUTOFIXER_LLM_KEY", "ANTHROPIC_API_KEY")}
    with serve_app(fake.app) as url:
        result = subprocess.run(
            [sys.executable, "-m", "server.cli", "demo", "--workdir", str(tmp_path / "demo"), "--llm",
             "openai-compatible", "--model", "local-coder", "--base-url", f"{url}/v1"],
            capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path,
        )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "model: openai-compatible local-coder, live" in out and "REPLAYED model turns" not in out
    assert "confidence HIGH" in out and "$0.0000" in out and not fake.rejections
    assert all(body["model"] == "local-coder" for body in fake.requests)
