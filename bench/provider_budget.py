"""Benchmark: per provider fake, the first request's tokens (system + tool declarations + first
message) against the model's context window, and the loop's own overhead per turn.

Each provider is built through the registry exactly as the service builds it and driven by its
real client over HTTP against its local fake (tests/fakes/), on the real worktree tools and the
test suite's shop repository and event. Tokens are the loop's estimate (agent/budget.py); the
overhead is a run's wall time minus the time spent inside model calls and tools, per turn.

    .venv/bin/python bench/provider_budget.py [--turns 8]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.loop import Limits, run_agent
from agent.settings import LlmConfig
from agent.transcript import Transcript, read_transcript
from common.config import ConnectorContext
from server import connectors
from tests.fakes import anthropic_api, ollama_api, openai_api
from tests.fakes.serve import serve_app
from tests.test_agent_loop import _event, make_shop_repo
from tools.base import ToolContext
from tools.registry import WORKTREE_TOOLS


def read(i: int) -> tuple[str, dict[str, Any]]:  # a different call each turn (the loop stops repeats)
    return "read_file", {"path": "shop/cart.py", "start_line": 1 + i % 10}
SUBMIT = ("submit_fix", {"analysis": "a", "root_cause": "r", "confidence": "LOW", "pr_title": "t", "pr_body": "b"})


@contextlib.contextmanager
def openai_like(kind: str, turns: int) -> Iterator[tuple[dict[str, Any], dict[str, str]]]:
    fake = openai_api.FakeOpenAI(api_key=None if kind == "openai-compatible" else openai_api.API_KEY,
                                 azure=kind == "azure-openai")
    fake.script += [openai_api.Completion(tool_calls=[read(i)]) for i in range(turns - 1)]
    fake.script.append(openai_api.Completion(tool_calls=[SUBMIT]))
    with serve_app(fake.app) as url:
        llm: dict[str, Any] = {"provider": kind, "model": "gpt-4o" if kind != "openai-compatible" else "local",
                               "base_url": url if kind == "azure-openai" else f"{url}/v1"}
        yield llm, {"AUTOFIXER_LLM_KEY": openai_api.API_KEY}


@contextlib.contextmanager
def ollama(turns: int) -> Iterator[tuple[dict[str, Any], dict[str, str]]]:
    fake = ollama_api.FakeOllama()
    fake.script += [ollama_api.Chat(tool_calls=[read(i)]) for i in range(turns - 1)]
    fake.script.append(ollama_api.Chat(tool_calls=[SUBMIT]))
    with serve_app(fake.app) as url:
        yield {"provider": "ollama", "model": ollama_api.MODEL, "base_url": url}, {}


@contextlib.contextmanager
def anthropic(turns: int) -> Iterator[tuple[dict[str, Any], dict[str, str]]]:
    fake = anthropic_api.FakeAnthropic([[anthropic_api.tool_use(*read(i))] for i in range(turns - 1)])
    fake.script.append([anthropic_api.tool_use(*SUBMIT)])
    with serve_app(fake.app) as url:
        yield {"provider": "anthropic", "base_url": url}, {"AUTOFIXER_LLM_KEY": anthropic_api.API_KEY}


FAKES: dict[str, Callable[[int], Any]] = {
    "anthropic": anthropic,
    "openai": lambda t: openai_like("openai", t),
    "azure-openai": lambda t: openai_like("azure-openai", t),
    "openai-compatible": lambda t: openai_like("openai-compatible", t),
    "ollama": ollama,
}


async def measure(name: str, turns: int, work: Path) -> dict[str, Any]:
    with FAKES[name](turns) as (llm, env):
        provider = connectors.build_provider(LlmConfig.model_validate(llm), ConnectorContext(env=env.get))
        run_dir = work / name
        ctx = ToolContext(worktree=make_shop_repo(run_dir / "repo"), event=_event())
        started = time.monotonic()
        result = await run_agent(provider, WORKTREE_TOOLS, ctx, limits=Limits(max_steps=turns + 2),
                                 transcript=Transcript(run_dir / "run.jsonl"))
        wall = time.monotonic() - started
        client = getattr(provider, "client", None)
        close = getattr(client, "close", None) or getattr(client, "aclose", None)
        if close is not None:  # release the SDK's pool on this event loop
            await close()
    records = read_transcript(run_dir / "run.jsonl")
    header = next(r for r in records if r["kind"] == "header")
    inside = sum(r["seconds"] for r in records if r["kind"] == "timing") + sum(
        r["seconds"] for r in records if r["kind"] == "tool_result")
    return {"provider": name, "window": header["context_window"], "first": header["first_request_tokens"],
            "steps": result.usage.steps, "overhead_ms": (wall - inside) / max(result.usage.steps, 1) * 1000,
            "exit": result.exit_reason}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=8)
    args = parser.parse_args()
    print(f"{'provider':<18} {'window':>8} {'first request':>14} {'share':>6} {'turns':>5} {'loop overhead/turn':>19}")
    with tempfile.TemporaryDirectory() as tmp:
        for name in FAKES:
            row = await measure(name, args.turns, Path(tmp))
            window = row["window"]
            share = f"{row['first'] / window:.0%}" if window else "—"
            print(f"{name:<18} {window or '(not set)':>8} {row['first']:>14,} {share:>6} {row['steps']:>5} "
                  f"{row['overhead_ms']:>16.1f} ms   ({row['exit']})")


if __name__ == "__main__":
    asyncio.run(main())
