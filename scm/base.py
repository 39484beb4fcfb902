"""The contract every forge (GitHub, GitLab, Bitbucket) fulfils.

A forge owns its credentials: which environment variable holds its token, the user name git
needs to send that token over HTTPS, the clone URL of a repository, and the `httpx.Auth` its
REST calls carry. For a fix it does two things: push the job's branch (plain `git push`, the
token passed per command, never stored) and open the pull/merge request through its REST API,
idempotently: an open request for the same head branch is found and returned, not duplicated.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import httpx

from common.http import HttpError
from domain.pull_request import PullRequest, PullRequestSpec

__all__ = ["PullRequest", "PullRequestSpec", "ScmError", "ScmProvider", "git_access"]


class ScmError(HttpError):
    """The forge refused, a push failed, or the forge stayed unavailable after retries; the
    message is safe to show. An HttpError, so `status` and `retryable` come with it."""


@runtime_checkable
class ScmProvider(Protocol):
    name: str  # the configured name, which projects[].scm refers to
    kind: str  # the connector type, e.g. "github"
    label: str  # how people call the forge in text, e.g. "GitHub"
    token_user: str  # the HTTPS user name that goes with the token (x-access-token, oauth2, …)

    def clone_url(self, repo: str) -> str:
        """The HTTPS URL git clones `repo` from (credential-free)."""
        ...

    def git_token(self) -> str | None:
        """The token git fetches and pushes with, or None (public repositories, local paths)."""
        ...

    @property
    def auth(self) -> httpx.Auth | None:
        """What the forge's REST calls authenticate with."""
        ...

    async def push_branch(self, worktree: Path, branch: str, clone_url: str) -> None:
        """Push HEAD of `worktree` to `branch` on the remote (force, as the branch is ours)."""
        ...

    async def find_open_pull_request(self, repo: str, head: str) -> PullRequest | None: ...

    async def open_pull_request(self, spec: PullRequestSpec) -> PullRequest:
        """Create the PR (and its labels); an existing open PR for the head is returned instead."""
        ...


async def git_access(forge: ScmProvider) -> dict[str, Any]:
    """What a fetch from `forge` needs, as keyword arguments of tools.workspace.Workspaces
    (checkout, resolve, prefetch): its token (a GitHub App's minted or refreshed first), the
    HTTPS user that goes with it (GitLab wants `oauth2`, Bitbucket `x-token-auth`, not GitHub's
    default) and its TLS settings (an internal CA, see common.git.tls_config)."""
    refresh = getattr(forge, "refresh_git_token", None)
    token = await refresh() if refresh is not None else forge.git_token()
    return {"token": token, "token_user": forge.token_user, "git_config": tuple(getattr(forge, "git_config", ()))}
