"""Push a job's fix branch with plain `git push`, the token handed over per command.

The token travels only in the environment of the one `git push` process (an
`http.<origin>.extraHeader` set through `GIT_CONFIG_*`, see common.git.auth_env): never in
the remote URL, the worktree's or the mirror's config, a command line visible in `ps`, a log
line or an error message (git's output is scrubbed before it goes anywhere).

Hardening, because the repository being pushed from is not ours to trust: hooks never run
(`core.hooksPath=/dev/null` and `--no-verify`), submodules are not recursed into, the file
protocol is allowed only when the destination itself is a local path, and git can never stop
to ask for a password (no terminal prompt, no askpass program, no credential helper).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from common.git import TOKEN_USER, Git, GitError, Remote, redact_url, scrub
from scm.base import ScmError

log = logging.getLogger(__name__)

PUSH_TIMEOUT_S = 600.0  # a first push of a big history over a slow link can take minutes

# The same conservative subset of git ref names tools.workspace accepts: a branch name that
# starts with "-" or holds ".." or a refspec character could turn into an option or another ref.
_BRANCH_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._/+@-]{0,199}$")


def check_branch(branch: str) -> None:
    bad = (
        not _BRANCH_RE.match(branch) or ".." in branch or "//" in branch
        or branch.endswith((".lock", "/", ".")) or "@{" in branch
    )
    if bad:
        raise ScmError(f"refusing to push invalid branch name {branch!r}")


def push_args(url: str, branch: str) -> list[str]:
    """git's arguments for the push; `url` is credential-free, so they are safe to log."""
    return ["push", "--force", "--no-verify", "--no-recurse-submodules", "--quiet", url, f"HEAD:refs/heads/{branch}"]


async def push_branch(
    worktree: Path,
    branch: str,
    clone_url: str,
    token: str | None,
    *,
    token_user: str = TOKEN_USER,
    timeout: float = PUSH_TIMEOUT_S,
    git_config: tuple[str, ...] = (),
) -> None:
    """`git push --force <clone_url> HEAD:refs/heads/<branch>` from `worktree`.

    Force, because the branch is ours: a job that ran again after a crash must replace what an
    earlier attempt pushed. Raises ScmError (message scrubbed of the token) on any failure.
    """
    check_branch(branch)
    # A token pasted into the URL is used, never stored.
    remote = Remote.of(clone_url, token, user=token_user, config=git_config)
    if remote.url.startswith("-"):
        raise ScmError("refusing to push to a clone URL that starts with '-'")
    where = f"{branch} to {redact_url(remote.url)}"
    if not Path(worktree).is_dir():
        raise ScmError(f"git push of {where} failed: worktree {worktree} does not exist")
    try:
        await Git(cwd=Path(worktree), remote=remote, timeout=timeout).arun(*push_args(remote.url, branch))
    except GitError as exc:
        if exc.timed_out:
            raise ScmError(f"git push of {where} timed out after {timeout:g}s") from None
        raise ScmError(scrub(f"git push of {where} failed: {exc.summary}", remote.secrets)) from None
    log.info("pushed %s", where)


__all__ = ["PUSH_TIMEOUT_S", "check_branch", "push_args", "push_branch"]
