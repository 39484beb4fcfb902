"""The one facade over sandbox, environments and runners (filled in by the engine's branch)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from pydantic import BaseModel

from execution.config import SandboxMode, TestsConfig
from execution.report import TestReport, TestSelection


class ExecutionUnavailable(Exception):
    """Tests cannot run here (no sandbox can start, and `sandbox: none` was not chosen)."""


class EnvironmentBuildError(Exception):
    """A project's environment could not be built; the message names the failing command."""


class Environment(BaseModel):
    key: str  # what identifies it: repository, runner, interpreter, setup and lock-file hash
    path: Path  # where it lives under <state-dir>/environments/
    reused: bool  # an earlier job built it
    setup_seconds: float = 0.0  # 0 when reused
    description: str = ""  # e.g. "python 3.11 venv, 3 setup commands, reused"


class TestEngine:
    """Builds environments and runs tests of one worktree at a time, always in the sandbox."""

    __test__ = False

    def __init__(self, state_dir: Path, mode: SandboxMode = "bwrap") -> None:
        self.state_dir, self.mode = state_dir, mode

    def unavailable(self) -> str | None:
        """Why tests cannot run here, or None when they can."""
        raise NotImplementedError

    async def prepare(self, repo_key: str, worktree: Path, tests: TestsConfig,
                      progress: Callable[[str], None] | None = None) -> Environment:
        """The environment for this repository and lock-file hash: reused, or built once (its
        setup commands run in the sandbox with registries reachable)."""
        raise NotImplementedError

    async def run(self, worktree: Path, tests: TestsConfig, environment: Environment,
                  selection: TestSelection | None = None, overrides: Mapping[str, str] | None = None) -> TestReport:
        """Run the tests (all, or `selection`) on `worktree` in the sandbox, with no network.
        `overrides` replace or add files for this run only (path → content); the worktree on
        disk is never changed by a run."""
        raise NotImplementedError
