"""The tool contract: every capability a model has, declared once.

A tool is one `Tool` value: a name, a title, a description, a pydantic argument model, its MCP
annotations (what it does to the world), its audience (the agent, MCP clients, or both) and an
async `run(ctx, args)`. It is declared with `@tool(...)` on its run function, whose second
parameter's type is the argument model:

    @tool(title="Read a file of the repository", description="...", annotations=reads())
    async def read_file(ctx: ToolContext, args: ReadFileArgs) -> str: ...

The context type is the tool's own: the tools here act on one worktree (`ToolContext`); the MCP
server declares its issue and job tools the same way over a context holding its services
(server/mcp/tools.py), so nothing here imports a service. Tools are collected in a `Registry`
(tools/registry.py), from which the agent's tool list and the MCP server are both generated.

A tool reports failure by raising `ToolError`; `call_tool` (tools/registry.py) is the one place
where arguments are validated and every failure becomes text the model can read.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Literal, TypedDict, TypeVar

from pydantic import BaseModel

from domain import ErrorEvent, FileChange
from tools.policy import DEFAULT_POLICY, PatchPolicy, TestFilePolicy
from tools.schema import args_schema

if TYPE_CHECKING:
    from execution.config import TestsConfig
    from execution.engine import TestEngine
    from tools.mapping import FrameMapper


class ToolError(Exception):
    """A failure the model should read and react to (bad path, no match, policy refusal)."""


@dataclass
class ToolContext:
    """What the worktree tools act on: one job's worktree and the event being fixed."""

    worktree: Path
    event: ErrorEvent | None = None
    source_root: str = ""  # the project's source-root, e.g. "src/main/kotlin/"
    # The commit the worktree was checked out at: diffs are shown against it (None: HEAD).
    base_sha: str | None = None
    # What propose_patch may write; a project's own policy is passed here instead.
    policy: PatchPolicy = DEFAULT_POLICY
    # Edits accepted so far, in order; replaying them on the base commit rebuilds the worktree.
    applied: list[FileChange] = field(default_factory=list)
    # Set by submit_fix: the run is over.
    submission: dict[str, Any] | None = None
    # get_stacktrace's frame mapper, kept with the (worktree, source root) it was built for.
    frame_mapper: tuple[tuple[str, str], FrameMapper] | None = field(default=None, repr=False)
    # What run_tests needs: the service's engine, the project's `tests:` block, and the key its
    # environments are built under (Settings.repo_key). Absent: the project has no tests to run.
    engine: TestEngine | None = field(default=None, repr=False)
    tests: TestsConfig | None = None
    repo_key: str = ""

    @property
    def diff_base(self) -> str:
        return self.base_sha or "HEAD"

    @property
    def test_files(self) -> TestFilePolicy | None:
        """What propose_patch may do to test files (None: no tests configured, no extra rule)."""
        return None if self.tests is None else TestFilePolicy(runner=self.tests.runner, test_dir=self.tests.test_dir)

    @property
    def created(self) -> frozenset[str]:
        """Files this run created (its own new tests among them): they stay editable."""
        return frozenset(c.file for c in self.applied if not c.original)


# --- the declaration ------------------------------------------------------------------------------

Audience = Literal["agent", "mcp", "both"]
Client = Literal["agent", "mcp"]


@dataclass(frozen=True)
class Annotations:
    """What a tool does to the world, as MCP's tool annotations say it (readOnlyHint,
    destructiveHint, idempotentHint, openWorldHint); declared for every tool, all four."""

    read_only: bool  # changes nothing
    destructive: bool  # may delete or overwrite, beyond adding (meaningful when not read-only)
    idempotent: bool  # calling again with the same arguments has no further effect
    open_world: bool  # reaches systems beyond the checkout and the local job store


def reads(*, open_world: bool = False) -> Annotations:
    """Annotations of a tool that only reads (the checkout, or with `open_world` a remote API)."""
    return Annotations(read_only=True, destructive=False, idempotent=True, open_world=open_world)


class ToolSpec(TypedDict):
    """The provider-neutral declaration a model sees; each provider renders it its own way."""

    name: str
    description: str
    input_schema: dict[str, Any]


@dataclass(frozen=True)
class ToolOutcome:
    text: str
    is_error: bool = False
    data: dict[str, Any] | None = None  # structured result, for MCP clients that read JSON
    # The call could not even be attempted (unknown tool, arguments not an object or invalid):
    # the model's mistake, which the agent loop counts, rather than the tool failing.
    malformed: bool = False


C = TypeVar("C")
A = TypeVar("A", bound=BaseModel)
Run = Callable[[C, A], Awaitable["str | ToolOutcome"]]


@dataclass(frozen=True)
class Tool(Generic[C, A]):
    name: str
    title: str  # a short human-readable name, shown by MCP clients
    description: str  # what the model reads to decide when and how to call it
    args: type[A]
    annotations: Annotations
    run: Run[C, A] = field(repr=False)
    audience: Audience = "both"
    # False for a tool whose result may differ when re-run (it runs code, reads a clock or a
    # network): the service checkpoints each call as a step, so a recovered job replays the
    # recorded result instead of running it again. Reading the worktree is deterministic.
    deterministic: bool = True

    def serves(self, client: Client) -> bool:
        return self.audience in (client, "both")

    def input_schema(self) -> dict[str, Any]:
        return args_schema(self.args)

    def spec(self) -> ToolSpec:
        return {"name": self.name, "description": self.description, "input_schema": self.input_schema()}


def tool(
    *,
    title: str,
    description: str,
    annotations: Annotations,
    audience: Audience = "both",
    name: str | None = None,
    args: type[BaseModel] | None = None,
    deterministic: bool = True,
) -> Callable[[Run[C, A]], Tool[C, A]]:
    """Declare a tool from its run function: the name defaults to the function's, the argument
    model to the type of its second parameter."""

    def declare(run: Run[C, A]) -> Tool[C, A]:
        model = args or _args_model(run)
        return Tool(name=name or run.__name__, title=title, description=description, args=model,  # type: ignore[arg-type]
                    annotations=annotations, run=run, audience=audience, deterministic=deterministic)

    return declare


def _args_model(run: Callable[..., Any]) -> type[BaseModel]:
    params = list(inspect.signature(run).parameters)
    hint = typing.get_type_hints(run).get(params[1]) if len(params) == 2 else None
    if not (isinstance(hint, type) and issubclass(hint, BaseModel)):
        raise TypeError(f"tool {run.__name__}: run(ctx, args) needs `args` typed as a pydantic model (or pass args=)")
    return hint
