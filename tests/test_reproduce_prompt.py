"""The reproduce → fix → prove method reaches the model only when it can run the tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel

import prompts
from agent.loop import prompt_version, run_agent
from agent.pricing import RecordedPricing
from agent.provider import ModelTurn, ToolCall
from domain import Confidence
from execution.config import TestsConfig
from tests.test_agent_loop import _event
from tests.test_tools_files import make_repo
from tools.base import ToolContext, reads, tool
from tools.registry import WORKTREE_TOOLS, Registry


class Captures:
    """A provider that submits at once and keeps what it was sent."""

    name, model, pricing = "scripted", "scripted", RecordedPricing()

    def __init__(self) -> None:
        self.system = ""
        self.messages: list[dict[str, Any]] = []

    async def complete(self, system: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]], *,
                       max_tokens: int | None = None) -> ModelTurn:
        self.system, self.messages = system, list(messages)
        return ModelTurn(tool_calls=[ToolCall(id="t1", name="submit_fix", arguments={
            "analysis": "a", "root_cause": "r", "confidence": "MEDIUM", "pr_title": "fix: x", "pr_body": "b",
            "reproduction_test": "tests/test_repro.py"})], stop_reason="tool_use")


class NoArgs(BaseModel):
    pass


@tool(title="Run tests", description="A stand-in with run_tests' name.", annotations=reads())
async def run_tests(ctx: ToolContext, args: NoArgs) -> str:
    return "0 passed"


async def _run(tmp_path: Path, tools: Registry[ToolContext], tests: TestsConfig | None) -> Captures:
    repo = make_repo(tmp_path / "repo", {"shop/cart.py": "x = 1\n"})
    provider = Captures()
    result = await run_agent(provider, tools, ToolContext(worktree=repo, event=_event(), tests=tests))
    assert result.confidence is Confidence.MEDIUM
    if tests is not None:
        assert result.reproduction_test == "tests/test_repro.py"
    return provider


async def test_without_run_tests_the_prompt_is_unchanged(tmp_path: Path) -> None:
    provider = await _run(tmp_path, WORKTREE_TOOLS, None)
    assert provider.system == prompts.load("system.md")
    assert "This project's tests" not in provider.messages[0]["content"]


async def test_with_run_tests_the_method_is_reproduce_fix_prove(tmp_path: Path) -> None:
    tools = Registry([*WORKTREE_TOOLS, run_tests])
    tests = TestsConfig(runner="pytest", test_dir="tests/unit")
    provider = await _run(tmp_path, tools, tests)
    assert provider.system.startswith(prompts.load("system.md"))
    assert "reproduce, fix, prove" in provider.system and "reproduction_test" in provider.system
    first = str(provider.messages[0]["content"])
    # The project's facts come after the untrusted event data, not inside it.
    note = first[first.index("END EVENT DATA"):]
    assert "`tests/unit/`" in note and "`test_*.py`" in note and "`python -m pytest`" in note
    assert prompt_version(tools) != prompt_version()


async def test_node_projects_are_told_their_own_names(tmp_path: Path) -> None:
    provider = await _run(tmp_path, Registry([*WORKTREE_TOOLS, run_tests]), TestsConfig(runner="node", test_dir="test"))
    note = str(provider.messages[0]["content"])
    assert "`test/`" in note and "`*.test.js`" in note and "`node --test`" in note
