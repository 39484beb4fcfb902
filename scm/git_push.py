"""Push a job's fix branch with plain `git push`, the token handed over per command.

The token travels only in the environment of the one `git push` process (an
`http.<origin>.extraHeader` set through `GIT_CONFIG_*`, see tools.workspace.auth_env): never in
the remote URL, the worktree's or the mirror's config, a command line visible in `ps`, a log
line or an error message (git's output is scrubbed before it goes anywhere).

Hardening, because the repository being pushed from is not ours to trust: hooks never run
(`core.hooksPath=/dev/null` and `--no-verify`), submodules are not recursed into, the file
protocol is allowed only when the destination itself is a local path, and git can never stop
to ask for a password (no terminal prompt, no askpass program, no credential helper).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
from pathlib import Path

from scm.base import ScmError
from tools.workspace import (
    BASE_ENV,
    TOKEN_USER,
    auth_env,
    hardened_options,
    normalize_clone_url,
    redact_url,
    scrub,
    secrets_of,
    split_credentials,
)

log = logging.getLogger(__name__)

PUSH_TIMEOUT_S = 600.0  # a first push of a big history over a slow link can take minutes

# The same conservative subset of git ref names tools.workspace accepts: a branch name that
# starts with "-" or holds ".." or a refspec character could turn into an option or another ref.
_BRANCH_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._/+@-]{0,199}$")

# Variables that would point git at another repository, index or config than the worktree's.
_INHERITED_GIT_VARS = (
    "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR",
    "GIT_NAMESPACE", "GIT_CONFIG", "GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT", "GIT_SSH_COMMAND",
)
# Inherited GIT_CONFIG_KEY_n/VALUE_n pairs would mix with (or shift) the ones auth_env sets.
_CONFIG_PAIR_RE = re.compile(r"^GIT_CONFIG_(KEY|VALUE)_\d+$")


def check_branch(branch: str) -> None:
    bad = (
        not _BRANCH_RE.match(branch) or ".." in branch or "//" in branch
        or branch.endswith((".lock", "/", ".")) or "@{" in branch
    )
    if bad:
        raise ScmError(f"refusing to push invalid branch name {branch!r}")


def push_command(url: str, branch: str) -> list[str]:
    """argv for the push; `url` is credential-free, so the whole line is safe to log."""
    return [
        "git", *hardened_options(url),
        "push", "--force", "--no-verify", "--no-recurse-submodules", "--quiet",
        url, f"HEAD:refs/heads/{branch}",
    ]


def push_env(url: str, token: str | None, *, token_user: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _INHERITED_GIT_VARS and not _CONFIG_PAIR_RE.match(k)}
    env.update(BASE_ENV)
    # An empty GIT_ASKPASS makes git skip every askpass program (SSH_ASKPASS, core.askPass too),
    # so a missing or refused token fails at once instead of waiting for an answer.
    env["GIT_ASKPASS"] = ""
    env["SSH_ASKPASS"] = ""
    env.update(auth_env(url, token, user=token_user))
    return env


async def push_branch(
    worktree: Path,
    branch: str,
    clone_url: str,
    token: str | None,
    *,
    token_user: str = TOKEN_USER,
    timeout: float = PUSH_TIMEOUT_S,
) -> None:
    """`git push --force <clone_url> HEAD:refs/heads/<branch>` from `worktree`.

    Force, because the branch is ours: a job that ran again after a crash must replace what an
    earlier attempt pushed. Raises ScmError (message scrubbed of the token) on any failure.
    """
    check_branch(branch)
    url, embedded = split_credentials(clone_url)
    token = token or embedded  # a token pasted into the URL is used, but never stored
    url = normalize_clone_url(url)
    if url.startswith("-"):
        raise ScmError("refusing to push to a clone URL that starts with '-'")
    secrets = (*secrets_of(token, user=token_user), *((embedded,) if embedded else ()))
    where = f"{branch} to {redact_url(url)}"
    if not Path(worktree).is_dir():
        raise ScmError(f"git push of {where} failed: worktree {worktree} does not exist")

    code, output = await _run(push_command(url, branch), Path(worktree), push_env(url, token, token_user=token_user),
                              timeout=timeout, what=where)
    if code != 0:
        raise ScmError(scrub(f"git push of {where} failed: {_summary(output, code)}", secrets))
    log.info("pushed %s", where)


async def _run(argv: list[str], cwd: Path, env: dict[str, str], *, timeout: float, what: str) -> tuple[int, str]:
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, cwd=cwd, env=env,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            # Own process group: on timeout the git-remote-http helper must die with git.
            start_new_session=True,
        )
    except FileNotFoundError:
        raise ScmError("git is not installed or not on PATH") from None
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except (TimeoutError, asyncio.CancelledError) as exc:
        _kill_group(proc)
        await proc.wait()
        if isinstance(exc, asyncio.CancelledError):
            raise
        raise ScmError(f"git push of {what} timed out after {timeout:g}s") from None
    assert proc.returncode is not None
    return proc.returncode, out.decode("utf-8", "replace")


def _kill_group(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _summary(output: str, code: int) -> str:
    """The last lines git printed (its reason for failing), on one line."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    return " / ".join(lines[-6:]) or f"exit status {code}"


__all__ = ["PUSH_TIMEOUT_S", "check_branch", "push_branch", "push_command", "push_env"]
