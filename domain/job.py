"""A fix job as every layer sees it: its state, what publishing did, and its outcome."""

from __future__ import annotations

from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, Field

from domain.fix import FixResult
from domain.validation import Validation


class JobState(str, Enum):
    DONE = "done"  # the pipeline ran to its end (what it produced is in the outcome)
    SKIPPED = "skipped"  # nothing to do: unknown project, LOW confidence, PR already open…
    FAILED = "failed"  # an upstream said no or stayed down after retries; `reason` says which
    IGNORED = "ignored"  # a trigger rule kept the issue from a fix; `rule` names it


PublishState = Literal["opened", "existing", "dry_run", "skipped", "failed"]


class PublishOutcome(BaseModel):
    state: PublishState
    reason: str = ""
    branch: str = ""
    title: str = ""
    body: str = ""
    labels: list[str] = Field(default_factory=list)
    pr_url: str | None = None
    pr_number: int | None = None
    pushed: bool = False
    commit_sha: str | None = None


class JobOutcome(BaseModel):
    job_id: str
    issue_id: str
    state: JobState
    reason: str = ""
    source: str = "sentry"  # the configured source the issue came from
    trigger: str = ""
    title: str = ""
    project: str | None = None
    repo: str | None = None
    issue_url: str | None = None
    event: dict[str, Any] | None = None  # the normalised ErrorEvent
    fix: FixResult | None = None
    publication: PublishOutcome | None = None  # the PR opened (or recorded, in dry run), or why not
    validation: Validation | None = None  # what the pipeline's own test runs showed (projects with tests:)
    pr_url: str | None = None
    duration_seconds: float = 0.0
    stages: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)  # e.g. a notifier that could not deliver
    rule: str | None = None  # the trigger rule that stopped an ignored job, e.g. "min-events: 3 < 10"


# What a notifier can be told about, decided from the outcome alone.
NotifyEvent = Literal["pr_opened", "analysis", "failed", "skipped"]
NOTIFY_EVENTS: tuple[NotifyEvent, ...] = ("pr_opened", "analysis", "failed", "skipped")


def notify_event(outcome: JobOutcome) -> NotifyEvent:
    """pr_opened: a PR exists (new or found); analysis: a fix or analysis without a PR (the gate,
    dry run); failed: a stage failed; skipped: nothing was analysed (unknown project…)."""
    if outcome.state is JobState.FAILED:
        return "failed"
    if outcome.publication is not None and outcome.publication.state in ("opened", "existing"):
        return "pr_opened"
    if outcome.fix is not None:
        return "analysis"
    return "skipped"
