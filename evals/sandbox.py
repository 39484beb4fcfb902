"""An isolated, throw-away git worktree per case run, and the subprocesses run inside it.

Each run copies the case's `repo/` into a fresh temporary directory and commits it as shipped
(`full_sha`). The test files to hide from the agent (those holding FAIL_TO_PASS tests, which
do not exist yet when production meets the bug) are then removed and that tree is committed as
the agent's base (`base_sha`): its tools and diffs work against it, exactly as in a job's
worktree, so the removal never shows up as a change (no agent tool reads git history). Then the
case's setup commands run; after the agent, `restore_files` puts the files back from `full_sha`.
The directory lives under the system temp dir, never under the autofixer checkout: pytest looks
upwards for an ini file, and finding autofixer's own pyproject.toml would change how the case's
tests run.

Subprocesses (setup, tests) run the project's code, which after the agent's turn includes
LLM-written code: they get an environment without autofixer's secrets or test-runner state.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from common.git import Git, GitError

COPY_IGNORE = shutil.ignore_patterns("__pycache__", ".pytest_cache", "node_modules", ".git", "*.pyc")
GIT_IDENTITY = ("user.name=autofixer eval", "user.email=eval@autofixer.invalid", "init.defaultBranch=main")
SETUP_TIMEOUT_S = 300.0
# Environment variables a project's code must not see or be steered by.
_DROPPED_PREFIXES = ("AUTOFIXER_", "ANTHROPIC_", "OPENAI_", "PYTEST_", "GIT_", "SENTRY_")
_DROPPED = {"PYTHONPATH", "PYTHONSTARTUP", "VIRTUAL_ENV_PROMPT", "NODE_OPTIONS", "NODE_PATH"}


class SandboxError(Exception):
    """The worktree could not be prepared (copy, git, setup); the case is not scored."""


@dataclass
class CommandResult:
    argv: list[str]
    returncode: int | None  # None: killed at the timeout
    output: str  # stdout and stderr, interleaved
    seconds: float

    @property
    def timed_out(self) -> bool:
        return self.returncode is None


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED and not k.startswith(_DROPPED_PREFIXES)}
    env.update({"PYTHONDONTWRITEBYTECODE": "1", "NO_COLOR": "1", "FORCE_COLOR": "0", "CI": "1"})
    return env


def resolve_argv(argv: list[str]) -> list[str]:
    """`python`/`python3` in a case means the interpreter running the harness (it has pytest);
    other programs are looked up on PATH as usual."""
    if argv and argv[0] in ("python", "python3"):
        return [sys.executable, *argv[1:]]
    return list(argv)


async def run_command(
    argv: list[str], cwd: Path, timeout: float, extra_env: Mapping[str, str] | None = None
) -> CommandResult:
    """Run argv with a timeout, killing its whole process group when the time is up (a test
    that forks must not outlive its run). Raises SandboxError when argv cannot be started."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, cwd=cwd, env={**clean_env(), **(extra_env or {})}, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, start_new_session=True,
        )
    except OSError as exc:
        # A missing test runner (no node on PATH) is the harness's problem, not a failed fix.
        raise SandboxError(f"cannot run {argv[0]}: {exc}") from None
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
        code: int | None = proc.returncode
    except TimeoutError:
        _kill_group(proc.pid)
        out, _ = await proc.communicate()
        code = None
    text = out.decode("utf-8", errors="replace") if out else ""
    if code is None:
        text += f"\n[autofixer eval: killed after {timeout:.0f} s]"
    return CommandResult(argv, code, text, loop.time() - started)


def direct_execute(worktree: Path) -> Callable[[str, float], Awaitable[CommandResult]]:
    """Run a shell line in `worktree` with the harness's interpreter first on PATH."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"

    async def execute(command: str, timeout: float) -> CommandResult:
        return await run_command(["sh", "-c", command], worktree, timeout,
                                 {"PATH": path, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})

    return execute


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


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


async def run_setup(sandbox: Sandbox, commands: list[list[str]]) -> list[CommandResult]:
    """Run the case's setup commands in order; the first failure stops the case."""
    results: list[CommandResult] = []
    for argv in commands:
        result = await run_command(resolve_argv(argv), sandbox.worktree, SETUP_TIMEOUT_S)
        results.append(result)
        if result.returncode != 0:
            why = "timed out" if result.timed_out else f"exited {result.returncode}"
            raise SandboxError(f"setup command {argv} {why}:\n{result.output[-2000:]}")
    return results


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
