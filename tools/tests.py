"""run_tests: the agent runs the project's tests (all, some, or one new file) in the sandbox.

The environment is prepared on first use (built once per repository and lock-file hash, then
reused) and the run happens in the sandbox with no network (execution/). The answer is the
compact text report (execution.report.render_report), with the report itself as data. A run
is not deterministic (time, the environment, flaky tests), so the service checkpoints each call
as a step: a recovered job reads the recorded result instead of running the tests again.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from pydantic import BaseModel, ConfigDict, Field

from execution.engine import EnvironmentBuildError, ExecutionUnavailable
from execution.report import TestSelection, render_report
from tools.base import Annotations, ToolContext, ToolError, ToolOutcome, tool
from tools.paths import resolve_in_worktree

MAX_TEST_IDS = 50
NO_TESTS = ("this project has no tests: block configured, so there are no tests to run; reason about the code "
            "instead (an operator can add `tests:` to the project in autofixer.yml)")


class RunTestsArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tests: list[str] = Field(
        default_factory=list, max_length=MAX_TEST_IDS,
        description="Test ids or paths to run, as the runner names them: 'tests/test_cart.py', "
                    "'tests/test_cart.py::test_total' (pytest), 'tests.test_cart.CartTest' (unittest), "
                    "'test/cart.test.js' (node). Empty: the whole suite.")
    keyword: str | None = Field(
        default=None, max_length=200,
        description="Only tests whose name matches: pytest/unittest -k expression, node --test-name-pattern.")
    file: str | None = Field(
        default=None, max_length=300,
        description="Run only this test file, e.g. the reproduction test you just wrote with propose_patch "
                    "('tests/test_repro_cart_total.py'). Overrides `tests`.")


@tool(
    title="Run the project's tests",
    description=(
        "Run the project's tests in a sandbox (no network, only the repository and a scratch dir writable, "
        "nothing a run writes is kept) and get a compact report: PASSED/FAILED, counts, each failing test with "
        "its assertion and traceback, the end of the output. Run everything, some tests (`tests`, `keyword`), "
        "or one test file (`file`). Use it to see a reproduction test fail before your fix and pass after it, "
        "then run the suite (or the affected part) to check nothing else broke. The first call may take a "
        "while: it builds the project's environment once."
    ),
    annotations=Annotations(read_only=False, destructive=False, idempotent=False, open_world=False),
    deterministic=False,
)
async def run_tests(ctx: ToolContext, args: RunTestsArgs) -> ToolOutcome:
    if ctx.engine is None or ctx.tests is None:
        raise ToolError(NO_TESTS)
    if args.file:
        path = resolve_in_worktree(ctx.worktree, args.file, must_exist=False)
        if not path.is_file():
            raise ToolError(f"{args.file} does not exist; write it with propose_patch first")
        selection = TestSelection(tests=[str(PurePosixPath(path.relative_to(ctx.worktree.resolve())))])
    else:
        selection = TestSelection(tests=[t.strip() for t in args.tests if t.strip()], keyword=args.keyword or None)
    if any(t.startswith("-") for t in selection.tests):
        raise ToolError("a test id cannot start with '-': options are not accepted, only ids and paths")
    try:
        environment = await ctx.engine.prepare(ctx.repo_key or str(ctx.worktree), ctx.worktree, ctx.tests)
    except (ExecutionUnavailable, EnvironmentBuildError) as exc:
        raise ToolError(f"the tests cannot run: {exc}") from None
    report = await ctx.engine.run(ctx.worktree, ctx.tests, environment, selection)
    return ToolOutcome(render_report(report), is_error=report.error is not None,
                       data=report.model_dump(mode="json"))
