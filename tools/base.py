"""The tool contract: a name, a description, a pydantic argument model and an async run.

Every capability the LLM has is one small `Tool` subclass. The Anthropic and OpenAI tool
lists and the MCP server are all generated from the same registry, so the names and argument
schemas are identical everywhere. A tool reports failure by raising `ToolError`; `call_tool`
turns that (and bad arguments) into a text result the model can read, never an exception
that escapes the agent loop.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ValidationError

from domain import ErrorEvent, FileChange


class ToolError(Exception):
    """A failure the model should read and react to (bad path, no match, policy refusal)."""


@dataclass
class ToolContext:
    """What a tool acts on: one job's worktree and the event being fixed."""

    worktree: Path
    event: ErrorEvent | None = None
    source_root: str = ""  # the project's source-root, e.g. "src/main/kotlin/"
    # Edits accepted so far, in order; replaying them on the base commit rebuilds the worktree.
    applied: list[FileChange] = field(default_factory=list)
    # Set by submit_fix: the run is over.
    submission: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Tool(ABC):
    name: ClassVar[str]
    description: ClassVar[str]
    Args: ClassVar[type[BaseModel]]
    read_only: ClassVar[bool] = True

    @abstractmethod
    async def run(self, ctx: ToolContext, args: BaseModel) -> str: ...

    @classmethod
    def input_schema(cls) -> dict[str, Any]:
        schema = cls.Args.model_json_schema()
        schema.pop("title", None)
        return schema


@dataclass
class ToolOutcome:
    text: str
    is_error: bool = False


async def call_tool(tools: dict[str, Tool], ctx: ToolContext, name: str, raw_args: Any) -> ToolOutcome:
    tool = tools.get(name)
    if tool is None:
        return ToolOutcome(f"Unknown tool {name!r}. Available tools: {', '.join(sorted(tools))}.", True)
    if not isinstance(raw_args, dict):
        return ToolOutcome(f"Arguments for {name} must be a JSON object.", True)
    try:
        args = tool.Args.model_validate(raw_args)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(arguments)'}: {err['msg']}" for err in exc.errors()
        )
        return ToolOutcome(f"Invalid arguments for {name}: {problems}", True)
    try:
        return ToolOutcome(await tool.run(ctx, args))
    except ToolError as exc:
        return ToolOutcome(f"Error: {exc}", True)
    except Exception as exc:  # a tool bug must not kill the run; the model sees it as a failure
        return ToolOutcome(f"Error: {name} failed unexpectedly ({type(exc).__name__}: {exc})", True)
