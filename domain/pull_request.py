"""A pull (or merge) request as every forge sees it: what we ask for, and what we got back."""

from __future__ import annotations

from pydantic import BaseModel, Field


class PullRequestSpec(BaseModel):
    repo: str  # owner/name (GitHub, Bitbucket), group/sub/name (GitLab)
    head: str  # the fix branch, e.g. fix/auto-fixer-sentry-123
    base: str  # the branch to merge into, e.g. main
    title: str
    body: str
    labels: list[str] = Field(default_factory=list)
    draft: bool = False


class PullRequest(BaseModel):
    number: int
    url: str  # the web page a person opens
    head: str
    base: str
    created: bool  # False: an open PR for this head already existed and was returned
