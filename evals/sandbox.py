"""An isolated, throw-away git worktree per case run.

Each run copies the case's `repo/` into a fresh temporary directory and commits it as shipped
(`full_sha`). The test files to hide from the agent (those holding FAIL_TO_PASS tests, which
do not exist yet when production meets the bug) are then removed and that tree is committed as
the agent's base (`base_sha`): its tools and diffs work against it, exactly as in a job's
worktree, so the removal never shows up as a change (no agent tool reads git history). After
the agent, `restore_files` puts the files back from `full_sha`. The directory lives under the
system temp dir, never under the autofixer checkout.

Nothing here runs the project's code: its setup and tests (LLM-written code, after the agent's
turn) run only through the execution engine, in its sandbox (evals/runner.py, testrunners.py).
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from common.git import Git, GitError

COPY_IGNORE = shutil.ignore_patterns("__pycache__", ".pytest_cache", "node_modules", ".git", "*.pyc")
GIT_IDENTITY = ("user.name=autofixer eval", "user.email=eval@autofixer.invalid", "init.defaultBranch=main")


class SandboxError(Exception):
    """The worktree could not be prepared (copy, git) or its tests not run; the case is not scored."""


@dataclass
class CommandResult:
    argv: list[str]
    returncode: int | None  # None: cut at a limit (time, output, memory)
    output: str  # stdout and stderr, interleaved
    seconds: float
    truncated: bool = False  # `output` is the end of a longer output

    @property
    def timed_out(self) -> bool:
        return self.returncode is None


async def _git(cwd: Path, *args: str) -> str:
    try:
        return (await Git(cwd=cwd, config=GIT_IDENTITY).arun(*args)).text
    except GitError as exc:
        raise SandboxError(str(exc)) from None


@dataclass
class Sandbox:
    root: Path  # the temporary directory (removed by `cleanup`)
    worktree: Path  # root/repo: the case's project as a git repository
    base_sha: str  # the agent's base: the case's repo without the hidden files
    full_sha: str  # the case's repo as shipped (== base_sha when nothing is hidden)
    hidden: list[str]  # repo paths removed for the agent's run, restored before scoring

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


async def create_sandbox(repo: Path, label: str, hide: list[str] | None = None) -> Sandbox:
    """A worktree of `repo`; the files of `hide` that it holds are absent from the agent's base."""
    root = Path(tempfile.mkdtemp(prefix=f"autofixer-eval-{label}-"))
    worktree = root / "repo"
    try:
        await asyncio.to_thread(shutil.copytree, repo, worktree, ignore=COPY_IGNORE, symlinks=True)
        await _git(worktree, "init", "-q")
        await _git(worktree, "add", "-A")
        await _git(worktree, "commit", "-q", "--no-verify", "-m", f"eval case {label}")
        full_sha = (await _git(worktree, "rev-parse", "HEAD")).strip()
        hidden = [p for p in dict.fromkeys(hide or []) if (worktree / p).is_file()]
        if hidden:
            await _git(worktree, "rm", "-q", "--", *hidden)
            await _git(worktree, "commit", "-q", "--no-verify", "-m", f"eval case {label}, tests hidden")
        base_sha = (await _git(worktree, "rev-parse", "HEAD")).strip()
    except (OSError, SandboxError) as exc:
        shutil.rmtree(root, ignore_errors=True)
        raise SandboxError(f"could not prepare the worktree: {exc}") from None
    return Sandbox(root, worktree, base_sha, full_sha, hidden)


async def changed_files(sandbox: Sandbox) -> list[str]:
    """Files that differ from the base commit, tracked or new (what the run changed)."""
    tracked = await _git(sandbox.worktree, "diff", "--name-only", "-z", sandbox.base_sha)
    untracked = await _git(sandbox.worktree, "ls-files", "--others", "--exclude-standard", "-z")
    return sorted({p for p in (tracked + untracked).split("\x00") if p})


async def restore_files(sandbox: Sandbox, paths: list[str]) -> None:
    """Put `paths` back as the case ships them (hidden files included)."""
    if paths:
        await _git(sandbox.worktree, "checkout", sandbox.full_sha, "--", *paths)


async def base_tree(sandbox: Sandbox) -> Path:
    """A checkout of the agent's base commit next to the worktree (created once per run)."""
    tree = sandbox.root / "base"
    if not tree.is_dir():
        await _git(sandbox.worktree, "worktree", "add", "-q", "--detach", str(tree), sandbox.base_sha)
    return tree


async def file_at_base(sandbox: Sandbox, path: str) -> str | None:
    try:
        return await _git(sandbox.worktree, "show", f"{sandbox.base_sha}:{path}")
    except SandboxError:
        return None  # new in this run
