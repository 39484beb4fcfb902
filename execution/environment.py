"""A project's dependencies (a venv, node_modules), built once per repository and lock-file hash.

An environment lives in `<state-dir>/environments/<repository>/<hash>/`, where the hash covers
what decides its content: the runner, the interpreter and its version, the setup commands, the
`env:` and the content of the lock files at the repository root. A changed lock file therefore
builds a new one; the last `KEEP` of a repository are kept, older ones removed.

Building runs in the sandbox with the registries reachable: for Python, the venv is made with
the chosen interpreter (never autofixer's own venv, whose packages the project must not see),
then each setup command runs with the environment writable at its fixed path and the worktree
on a throw-away overlay (an `egg-info` written by `pip install -e .` never reaches the pull
request; the editable install points at the fixed /sandbox/repo, valid for every later job).
For node, `node_modules` is copied into the environment at the end of setup and mounted at the
repository's `node_modules` for runs.

Concurrency and crashes: a build holds `<hash>.lock`, so two jobs wanting the same environment
wait for one build; the `ready` marker is written last, so a build that crashed half-way is
rebuilt; a failed build raises EnvironmentBuildError (failing command, output tail) and leaves
nothing that looks ready. A run holds `<hash>.use` shared, and pruning skips what is in use.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import IO

from pydantic import BaseModel, Field

from execution.config import DEFAULT_LOCK_FILES, TestsConfig
from execution.limits import LimitSpec
from execution.registry_proxy import DEFAULT_REGISTRIES
from execution.sandbox import Sandbox, SandboxJob

FORMAT = 1  # bump when the layout of an environment changes
KEEP = 3
READY = "ready.json"
SETUP_LOG = "setup.log"
_LOCK_FILE_BYTES = 16 * 1024 * 1024  # a lock file bigger than this is hashed by its first bytes


class EnvironmentBuildError(Exception):
    """A project's environment could not be built; the message names the failing command."""


class Environment(BaseModel):
    key: str  # what identifies it: repository, runner, interpreter, setup and lock-file hash
    path: Path  # where it lives under <state-dir>/environments/
    reused: bool  # an earlier job built it
    setup_seconds: float = 0.0  # 0 when reused
    description: str = ""  # e.g. "python 3.11 venv, 3 setup commands, reused"
    # Interpreters outside /usr the sandbox must show read-only (a pyenv Python under /root).
    prefixes: list[Path] = Field(default_factory=list)


@dataclass(frozen=True)
class Interpreter:
    executable: Path  # the base interpreter (not a venv's), resolved
    prefix: Path
    version: str  # "python 3.11.7", "node v20.20.2"


@lru_cache(maxsize=16)
def python_interpreter(name: str | None) -> Interpreter:
    """The base interpreter `name` ("python3.12", a path) stands for; None: the one autofixer runs
    on. A venv's python resolves to its base, so the project never sees a venv's packages."""
    found = shutil.which(name) if name else sys.executable
    if not found:
        raise EnvironmentBuildError(f"tests.python: {name!r} is not on PATH")
    try:
        out = subprocess.run([found, "-c", "import sys, platform; print(sys.base_prefix); "
                              "print(platform.python_version()); print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True, timeout=30, check=True).stdout.split("\n")
    except (OSError, subprocess.SubprocessError) as exc:
        raise EnvironmentBuildError(f"tests.python: cannot run {found}: {exc}") from None
    prefix, version, short = Path(out[0]).resolve(), out[1], out[2]
    executable = next((p for p in (prefix / "bin" / f"python{short}", prefix / "bin" / "python3") if p.exists()),
                      Path(found).resolve())
    _check_prefix(prefix)
    return Interpreter(executable.resolve(), prefix, f"python {version}")


@lru_cache(maxsize=1)
def node_interpreter() -> Interpreter:
    found = shutil.which("node")
    if not found:
        raise EnvironmentBuildError("node is not installed on this machine (not on PATH)")
    executable = Path(found).resolve()
    try:
        version = subprocess.run([str(executable), "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise EnvironmentBuildError(f"cannot run node: {exc}") from None
    prefix = executable.parent.parent
    _check_prefix(prefix)
    return Interpreter(executable, prefix, f"node {version.strip()}")


def _check_prefix(prefix: Path) -> None:
    """An interpreter's prefix is shown to the sandbox: it must not be a folder holding secrets."""
    home = Path.home().resolve()
    if prefix == Path("/") or home.is_relative_to(prefix):
        raise EnvironmentBuildError(f"the interpreter installed in {prefix} cannot be shown to the sandbox "
                                    "(that folder holds more than the interpreter); install it in its own prefix")


def safe_name(repo_key: str) -> str:
    """A folder name for a repository key ("acme/shop", a URL), unique per key."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", repo_key).strip("._")[:60] or "repo"
    return f"{readable}-{hashlib.sha256(repo_key.encode()).hexdigest()[:8]}"


def lock_files(worktree: Path, tests: TestsConfig) -> list[Path]:
    patterns = tests.lock_files if tests.lock_files is not None else DEFAULT_LOCK_FILES[tests.language]
    found = {p for pattern in patterns for p in worktree.glob(pattern) if p.is_file() and not p.is_symlink()}
    return sorted(found)


def environment_hash(worktree: Path, tests: TestsConfig, interpreter: Interpreter) -> str:
    digest = hashlib.sha256()
    recipe = {"format": FORMAT, "runner": tests.runner, "language": tests.language, "setup": tests.setup,
              "env": tests.env, "interpreter": [str(interpreter.executable), interpreter.version]}
    digest.update(json.dumps(recipe, sort_keys=True).encode())
    for path in lock_files(worktree, tests):
        digest.update(b"\0" + path.name.encode() + b"\0")
        with path.open("rb") as f:
            digest.update(f.read(_LOCK_FILE_BYTES))
    return digest.hexdigest()[:20]


@contextlib.contextmanager
def _locked(path: Path, mode: int) -> Iterator[bool]:
    """flock on `path`; yields False when `mode` has LOCK_NB and the lock is held elsewhere."""
    with path.open("a") as f:
        try:
            fcntl.flock(f, mode)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@contextlib.asynccontextmanager
async def in_use(environment: Environment) -> AsyncIterator[None]:
    """Held (shared) while a run uses the environment, so pruning leaves it alone."""
    lock = environment.path.with_name(environment.path.name + ".use")
    with lock.open("a") as f:
        await asyncio.to_thread(fcntl.flock, f, fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


class Environments:
    """The environments under one state directory, built through one sandbox."""

    def __init__(self, root: Path, sandbox: Sandbox) -> None:
        self.root = root
        self.sandbox = sandbox

    def interpreter(self, tests: TestsConfig) -> Interpreter:
        return node_interpreter() if tests.language == "node" else python_interpreter(tests.python)

    async def prepare(self, repo_key: str, worktree: Path, tests: TestsConfig,
                      progress: Callable[[str], None] | None = None) -> Environment:
        interpreter = await asyncio.to_thread(self.interpreter, tests)
        digest = await asyncio.to_thread(environment_hash, worktree, tests, interpreter)
        repo_dir = self.root / safe_name(repo_key)
        repo_dir.mkdir(parents=True, exist_ok=True)
        path = repo_dir / digest
        key = f"{repo_key}@{digest[:12]}"
        prefixes = [interpreter.prefix]
        lock = repo_dir / f"{digest}.lock"
        with lock.open("a") as f:
            if progress is not None and not (path / READY).exists():
                progress(f"environment {key}: waiting for its build" if _held(f) else f"building environment {key}")
            await asyncio.to_thread(fcntl.flock, f, fcntl.LOCK_EX)
            try:
                if (path / READY).exists():
                    os.utime(path / READY)  # most recently used: the last pruned
                    ready = json.loads((path / READY).read_text())
                    return Environment(key=key, path=path, reused=True, prefixes=prefixes,
                                       description=f"{ready.get('description', '')}, reused")
                started = time.monotonic()
                await self._build(path, worktree, tests, interpreter, progress)
                seconds = time.monotonic() - started
                description = (f"{interpreter.version} {'node_modules' if tests.language == 'node' else 'venv'}, "
                               f"{len(tests.setup)} setup command{'s' * (len(tests.setup) != 1)}")
                (path / READY).write_text(json.dumps({"description": description, "seconds": round(seconds, 1),
                                                      "repo": repo_key}))
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)
        await asyncio.to_thread(prune, repo_dir, keep=digest)
        return Environment(key=key, path=path, reused=False, setup_seconds=round(seconds, 2), prefixes=prefixes,
                           description=f"{description}, built in {seconds:.1f} s")

    async def _build(self, path: Path, worktree: Path, tests: TestsConfig, interpreter: Interpreter,
                     progress: Callable[[str], None] | None) -> None:
        await asyncio.to_thread(shutil.rmtree, path, True)  # a crashed build's leftovers
        path.mkdir(parents=True)
        env = self.sandbox.env_path(path)
        steps: list[tuple[str, str]] = []
        if tests.language == "python":
            steps.append(("create the venv", f"{interpreter.executable} -m venv {env}/venv"))
        else:
            (path / "node_modules").mkdir()
        steps += [(command, command) for command in tests.setup]
        if tests.language == "node":
            keep = f"if [ -d node_modules ]; then cp -a node_modules/. {env}/node_modules/; fi"
            steps.append(("keep node_modules", keep))
        if progress is not None:
            progress(f"setup: {', '.join(label for label, _ in steps)}")
        # One sandbox for all steps: what one command leaves in the worktree overlay (a build
        # directory, node_modules) is there for the next. Markers say which step failed.
        marker = f"@@autofixer-setup-{secrets.token_hex(6)}"
        script = "\n".join(f"echo '{marker} {i}'\n/bin/sh -c {shlex.quote(command)} || "
                           f"{{ code=$?; echo '{marker} failed {i}'; exit $code; }}"
                           for i, (_, command) in enumerate(steps))
        spec = LimitSpec(tests.setup_timeout_seconds, tests.memory_mb, tests.max_processes, tests.max_output_bytes)
        job = SandboxJob(script, worktree, spec, env_dir=path, setup=True, variables=tests.env,
                         env_bin=("venv/bin",) if tests.language == "python" else (),
                         repo_bin=("node_modules/.bin",) if tests.language == "node" else (),
                         prefixes=(interpreter.prefix,),
                         registries=tuple(tests.registries) if tests.registries is not None else DEFAULT_REGISTRIES)
        result = await self.sandbox.run(job)
        (path / SETUP_LOG).write_text(f"{result.output}\n[exit {result.exit_code}, {result.seconds:.1f} s]\n")
        if result.exit_code != 0:
            raise EnvironmentBuildError(_failure(result.output, result.exit_code, result.limit, marker, steps))


def _failure(output: str, exit_code: int | None, limit: str | None, marker: str,
             steps: list[tuple[str, str]]) -> str:
    """Which setup step failed, how, and the end of its output."""
    started = [m for m in re.finditer(rf"^{re.escape(marker)} (failed )?(\d+)$", output, re.MULTILINE)]
    last = started[-1] if started else None
    index = int(last.group(2)) if last else 0
    begin = next((m.end() for m in reversed(started) if not m.group(1) and int(m.group(2)) == index), 0)
    tail = output[begin:last.start() if last and last.group(1) else len(output)].strip()[-2000:]
    why = f"hit its {limit} limit" if limit else f"exited {exit_code}"
    ends = f"; its output ends:\n{tail}" if tail else ""
    return f"setup command {steps[index][0]!r} {why}{ends}"


def _held(f: IO[str]) -> bool:
    """Whether another job holds the build lock right now (only to say so in the progress)."""
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    fcntl.flock(f, fcntl.LOCK_UN)
    return False


def prune(repo_dir: Path, keep: str, count: int = KEEP) -> list[str]:
    """Remove a repository's environments beyond the `count` most recently used (never `keep`,
    nor one being built or used right now); returns the removed hashes."""
    ready = sorted((d for d in repo_dir.iterdir() if d.is_dir() and (d / READY).exists()),
                   key=lambda d: (d / READY).stat().st_mtime, reverse=True)
    unfinished = [d for d in repo_dir.iterdir() if d.is_dir() and not (d / READY).exists()]
    removed: list[str] = []
    for old in [*ready[count:], *unfinished]:
        if old.name == keep:
            continue
        with _locked(repo_dir / f"{old.name}.lock", fcntl.LOCK_EX | fcntl.LOCK_NB) as building_free, \
                _locked(repo_dir / f"{old.name}.use", fcntl.LOCK_EX | fcntl.LOCK_NB) as use_free:
            if building_free and use_free:
                # The lock files stay: a job may be waiting on one, and must then find no `ready`.
                shutil.rmtree(old, ignore_errors=True)
                removed.append(old.name)
    return removed
