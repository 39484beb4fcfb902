"""Registries of tools, the one way to call one, and the worktree tools' registry.

A `Registry` is an ordered list of tools over one context type. The agent and the evals take
theirs from `WORKTREE_TOOLS`; the MCP server builds its registry from the same declarations plus
its own issue and job tools (server/mcp/tools.py) and renders every tool from it in one loop. The
order is fixed: it is part of the prompt, and prompt caching keys on it.

`call_tool` is the only place arguments are validated and failures turn into text, for the
agent and MCP alike, so the same mistake reads the same wherever a model makes it. Rendering a
registry for a vendor's API is each provider's business (agent/anthropic_provider.py); a
registry only gives the neutral `ToolSpec`s.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from tools.base import Client, Tool, ToolContext, ToolError, ToolOutcome, ToolSpec
from tools.files import list_files, read_file, search_repo
from tools.patch import propose_patch, submit_fix
from tools.stacktrace import get_stacktrace
from tools.tests import run_tests

log = logging.getLogger("autofixer.tools")

C = TypeVar("C")


class Registry(Generic[C]):
    """Tools over one context type, in declaration order, names unique."""

    def __init__(self, tools: Iterable[Tool[C, Any]]) -> None:
        self._tools: dict[str, Tool[C, Any]] = {}
        for t in tools:
            if t.name in self._tools:
                raise ValueError(f"two tools are named {t.name!r}")
            self._tools[t.name] = t

    def __iter__(self) -> Iterator[Tool[C, Any]]:
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def get(self, name: str) -> Tool[C, Any] | None:
        return self._tools.get(name)

    def names(self) -> list[str]:
        return list(self._tools)

    def for_audience(self, client: Client) -> Registry[C]:
        """The tools `client` ("agent" or "mcp") is offered."""
        return Registry(t for t in self if t.serves(client))

    def specs(self) -> list[ToolSpec]:
        return [t.spec() for t in self]


async def call_tool(tools: Registry[C], ctx: C, name: str, raw_args: Any) -> ToolOutcome:
    """Validate `raw_args` for tool `name` and run it on `ctx`; every failure is an error outcome
    with text the model can act on, never an exception (cancellation aside)."""
    tool = tools.get(name)
    if tool is None:
        return ToolOutcome(f"Unknown tool {name!r}. Available tools: {', '.join(tools.names())}.", True,
                           malformed=True)
    args = parse_args(tool, raw_args)
    if isinstance(args, ToolOutcome):
        return args
    try:
        result = await tool.run(ctx, args)
    except ToolError as exc:
        return ToolOutcome(f"Error: {exc}", True)
    except Exception as exc:  # a tool bug must not end the run or the session: it is this call's failure
        log.exception("tool %s failed", name)
        return ToolOutcome(f"Error: {name} failed unexpectedly ({type(exc).__name__}: {exc})", True)
    return result if isinstance(result, ToolOutcome) else ToolOutcome(result)


def parse_args(tool: Tool[Any, Any], raw_args: Any) -> BaseModel | ToolOutcome:
    """`raw_args` as the tool's argument model, or the malformed-call outcome saying why not."""
    if raw_args is None:  # MCP clients may omit the arguments of a tool that needs none
        raw_args = {}
    if not isinstance(raw_args, dict):
        return ToolOutcome(
            f"The arguments for {tool.name} are not a valid JSON object ({_preview(str(raw_args))}). "
            "Send the arguments as a JSON object matching the tool's input schema.", True, malformed=True,
        )
    try:
        return tool.args.model_validate(raw_args)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(arguments)'}: {err['msg']}" for err in exc.errors()
        )
        return ToolOutcome(f"Invalid arguments for {tool.name}: {problems}", True, malformed=True)


def _preview(text: str, limit: int = 200) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"


# The worktree tools, in the order the model meets them.
WORKTREE_TOOLS: Registry[ToolContext] = Registry(
    [get_stacktrace, read_file, search_repo, list_files, propose_patch, submit_fix]
)
# The same, plus run_tests: for a project with a `tests:` block.
TEST_TOOLS: Registry[ToolContext] = Registry(
    [get_stacktrace, read_file, search_repo, list_files, propose_patch, run_tests, submit_fix]
)


def tools_for(ctx: ToolContext) -> Registry[ToolContext]:
    """The worktree tools a job's model is offered: run_tests only when the project's tests can be
    run (a `tests:` block and an engine), so a model never meets a tool that cannot work."""
    return TEST_TOOLS if ctx.tests is not None and ctx.engine is not None else WORKTREE_TOOLS


__all__ = ["TEST_TOOLS", "WORKTREE_TOOLS", "Registry", "call_tool", "parse_args", "tools_for"]
