"""A fix job as the rest of the system sees it: its id, its request and its outcome."""

from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import BaseModel, Field

from domain import FixResult
from server.publish import PublishOutcome


def job_id_for(org: str, issue_id: str) -> str:
    """The idempotency key: duplicate deliveries and concurrent replicas collapse to one job."""
    return f"sentry:{org or '-'}:{issue_id}"


class JobState(str, Enum):
    DONE = "done"  # the pipeline ran to its end (what it produced is in the outcome)
    SKIPPED = "skipped"  # nothing to do: unknown project, LOW confidence, PR already open…
    FAILED = "failed"  # an upstream said no or stayed down after retries; `reason` says which


class JobRequest(BaseModel):
    org: str
    issue_id: str
    project: str | None = None
    title: str = ""
    trigger: str = ""


class JobOutcome(BaseModel):
    job_id: str
    issue_id: str
    state: JobState
    reason: str = ""
    trigger: str = ""
    title: str = ""
    project: str | None = None
    repo: str | None = None
    issue_url: str | None = None
    event: dict[str, Any] | None = None  # the normalised ErrorEvent
    fix: FixResult | None = None
    publication: PublishOutcome | None = None  # the PR opened (or recorded, in dry run), or why not
    pr_url: str | None = None
    duration_seconds: float = 0.0
    stages: list[str] = Field(default_factory=list)
