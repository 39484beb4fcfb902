"""The one facade over sandbox, environments and runners: what the agent's `run_tests` tool, the
pipeline's validation and the eval harness call.

    engine = TestEngine(state_dir, mode="bwrap")
    environment = await engine.prepare("acme/shop", worktree, tests)   # built once, then reused
    report = await engine.run(worktree, tests, environment, TestSelection(tests=["tests/test_x.py"]))

A run never raises for what happens inside the sandbox: a failing test, a limit, a command that
cannot start all end in a `TestReport` (its `error`, `limit`, failures). `prepare` raises
`ExecutionUnavailable` when no sandbox can start and `EnvironmentBuildError` when setup fails.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from execution.config import SandboxMode, TestsConfig
from execution.environment import Environment, EnvironmentBuildError, Environments, in_use
from execution.limits import LimitSpec
from execution.process import CommandNotStarted
from execution.report import MAX_TAIL_CHARS, TestReport, TestSelection
from execution.runners import runner_for
from execution.sandbox import Sandbox, SandboxJob, safe_relative

__all__ = ["Environment", "EnvironmentBuildError", "ExecutionUnavailable", "TestEngine"]


class ExecutionUnavailable(Exception):
    """Tests cannot run here (no sandbox can start, and `sandbox: none` was not chosen)."""


class TestEngine:
    """Builds environments and runs tests of one worktree at a time, always in the sandbox."""

    __test__ = False

    def __init__(self, state_dir: Path, mode: SandboxMode = "bwrap", bwrap: Path | None = None) -> None:
        self.state_dir, self.mode = state_dir, mode
        self.sandbox = Sandbox(mode, bwrap)
        self.environments = Environments(state_dir.resolve() / "environments", self.sandbox)

    def unavailable(self) -> str | None:
        """Why tests cannot run here, or None when they can."""
        return self.sandbox.unavailable

    async def prepare(self, repo_key: str, worktree: Path, tests: TestsConfig,
                      progress: Callable[[str], None] | None = None) -> Environment:
        """The environment for this repository and lock-file hash: reused, or built once (its
        setup commands run in the sandbox with registries reachable)."""
        if (reason := self.unavailable()) is not None:
            raise ExecutionUnavailable(reason)
        try:
            return await self.environments.prepare(repo_key, worktree.resolve(), tests, progress)
        except CommandNotStarted as exc:
            raise EnvironmentBuildError(str(exc)) from None

    async def run(self, worktree: Path, tests: TestsConfig, environment: Environment,
                  selection: TestSelection | None = None, overrides: Mapping[str, str] | None = None) -> TestReport:
        """Run the tests (all, or `selection`) on `worktree` in the sandbox, with no network.
        `overrides` replace or add files for this run only (path → content); the worktree on
        disk is never changed by a run."""
        runner = runner_for(tests)
        command = runner.command(tests.test_command, selection or TestSelection())
        report = TestReport(command=command, runner=tests.runner, sandbox=self.sandbox.description,
                            environment=f"{environment.key} ({environment.description})")
        if (reason := self.unavailable()) is not None:
            return report.model_copy(update={"error": reason})
        try:
            for path in overrides or {}:
                safe_relative(path)
        except ValueError as exc:
            return report.model_copy(update={"error": str(exc)})
        node = tests.language == "node"
        job = SandboxJob(command, worktree.resolve(), LimitSpec(tests.timeout_seconds, tests.memory_mb,
                                                                tests.max_processes, tests.max_output_bytes),
                         env_dir=environment.path, variables=tests.env,
                         env_bin=() if node else ("venv/bin",), repo_bin=("node_modules/.bin",) if node else (),
                         node_modules=node, overrides=dict(overrides or {}), prefixes=tuple(environment.prefixes))
        try:
            async with in_use(environment):
                result = await self.sandbox.run(job)
        except (CommandNotStarted, ValueError, OSError) as exc:
            return report.model_copy(update={"error": f"the tests could not start: {exc}"})
        parsed = runner.parse(result.output, result.exit_code)
        return report.model_copy(update={
            "exit_code": result.exit_code, "passed": parsed.passed, "failed": parsed.failed, "errors": parsed.errors,
            "skipped": parsed.skipped, "failures": parsed.failures, "output_tail": result.output[-MAX_TAIL_CHARS:],
            "seconds": round(result.seconds, 2), "limit": result.limit,
            "sandbox": f"{self.sandbox.description}; {result.limits}",
        })
