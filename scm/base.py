"""The contract every SCM provider (GitHub, later GitLab and Bitbucket) fulfils.

A provider does two things for a fix: push the job's branch (plain `git push` over HTTPS with
the token passed per command, never stored) and open the pull request through the forge's
REST API, idempotently: an open PR for the same head branch is found and returned, not
duplicated.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, Field

from common.http import HttpError


class PullRequestSpec(BaseModel):
    repo: str  # owner/name
    head: str  # the fix branch, e.g. fix/auto-fixer-sentry-123
    base: str  # the branch to merge into, e.g. main
    title: str
    body: str
    labels: list[str] = Field(default_factory=list)
    draft: bool = False


class PullRequest(BaseModel):
    number: int
    url: str  # the web page a person opens (html_url)
    head: str
    base: str
    created: bool  # False: an open PR for this head already existed and was returned


class ScmError(HttpError):
    """The forge refused, a push failed, or the forge stayed unavailable after retries; the
    message is safe to show. An HttpError, so `status` and `retryable` come with it."""


class ScmProvider(Protocol):
    name: str

    async def push_branch(self, worktree: Path, branch: str, clone_url: str) -> None:
        """Push HEAD of `worktree` to `branch` on the remote (force, as the branch is ours)."""
        ...

    async def find_open_pull_request(self, repo: str, head: str) -> PullRequest | None: ...

    async def open_pull_request(self, spec: PullRequestSpec) -> PullRequest:
        """Create the PR (and its labels); an existing open PR for the head is returned instead."""
        ...
