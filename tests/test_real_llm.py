"""The full agent loop against a real OpenAI-compatible server running a real model:
llama-cpp-python's server with SmolLM2-135M-Instruct (scripts/real_llm.sh builds and caches it).

A 135M model will not fix the bug. What this checks is what a weak local model must never
break: the run ends cleanly with a FixResult, within its limits, with the server's own token
counts and a cost of exactly 0 (a local model's price is known: free), and the first request
fits the model's window. What the model did is printed (pytest -s) for the record.

Runs whenever the build is cached under ~/.cache/autofixer/; skipped with that reason otherwise
(the C++ build takes 10-40 minutes, too long for every CI run).
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from agent.loop import Limits, run_agent
from agent.settings import LlmConfig
from agent.transcript import Transcript, read_transcript
from common.config import ConnectorContext
from domain import FixResult
from server import connectors
from tests.test_agent_loop import _event, make_shop_repo
from tools.base import ToolContext
from tools.registry import WORKTREE_TOOLS

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "real_llm.sh"
WINDOW = 8192  # the --n_ctx scripts/real_llm.sh starts the server with
ENDINGS = {"submitted", "max_steps", "max_time", "malformed_calls", "repeated_calls", "no_tool_call"}


def _venv() -> Path:
    out = subprocess.run(["bash", str(SCRIPT), "venv"], capture_output=True, text=True, check=True).stdout
    return Path(out.strip())


pytestmark = pytest.mark.skipif(
    not (_venv() / ".built").exists(),
    reason=f"llama-cpp-python server not built: run `scripts/real_llm.sh build` (cached in {_venv()})",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen(["bash", str(SCRIPT), "start", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                pytest.fail("the llama.cpp server exited at start-up")
            time.sleep(0.5)
        else:
            pytest.fail("the llama.cpp server did not answer within 120 s")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


async def test_a_real_small_model_ends_cleanly_within_limits(server: str, tmp_path: Path) -> None:
    llm = LlmConfig(provider="openai-compatible", model="smollm2-135m", base_url=server, context_window=WINDOW,
                    tool_result_role="user", temperature=0.0)
    provider = connectors.build_provider(llm, ConnectorContext(env=lambda _: None))
    limits = Limits(max_steps=6, max_cost_usd=0.01, max_wall_seconds=900, max_output_tokens=512)
    transcript = Transcript(tmp_path / "run.jsonl")
    ctx = ToolContext(worktree=make_shop_repo(tmp_path / "repo"), event=_event())

    started = time.monotonic()
    result = await run_agent(provider, WORKTREE_TOOLS, ctx, limits=limits, transcript=transcript)
    seconds = time.monotonic() - started

    assert isinstance(result, FixResult)
    assert result.exit_reason in ENDINGS, result.exit_reason
    assert 1 <= result.usage.steps <= limits.max_steps
    assert result.usage.input_tokens > 0 and result.usage.output_tokens > 0  # the server's own counts
    assert result.usage.cost_usd == 0 and result.usage.unpriced_turns == 0  # local: free, and known
    if result.exit_reason != "submitted":
        assert result.confidence.value == "LOW"
    records = read_transcript(tmp_path / "run.jsonl")
    header = next(r for r in records if r["kind"] == "header")
    assert header["context_window"] == WINDOW and header["first_request_tokens"] < WINDOW
    first_turn = next(r for r in records if r["kind"] == "usage")["turn"]
    first_prompt = first_turn["input_tokens"] + first_turn["cache_read_tokens"]  # the server's own count
    assert first_prompt + limits.max_output_tokens <= WINDOW  # the first request really fits the window
    calls = [(r["name"], r["is_error"]) for r in records if r["kind"] == "tool_result"]
    print("\nreal model run:", json.dumps({
        "exit_reason": result.exit_reason, "confidence": result.confidence.value, "steps": result.usage.steps,
        "tool_calls": calls, "input_tokens": result.usage.input_tokens, "output_tokens": result.usage.output_tokens,
        "first_request_tokens_estimate": header["first_request_tokens"], "first_request_tokens_server": first_prompt,
        "window": WINDOW, "seconds": round(seconds, 1),
        "changes": len(result.changes),
    }))
