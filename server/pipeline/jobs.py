"""A fix job as the pipeline receives it; its state and outcome live in domain/job.py."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from domain.job import JobOutcome, JobState, PublishOutcome
from sources.base import FixRequest

__all__ = ["JobOutcome", "JobRequest", "JobState", "PublishOutcome", "job_state"]

# DBOS workflow statuses → the job's own state while there is no outcome yet.
_LIVE_STATES = {"ENQUEUED": "queued", "DELAYED": "queued", "PENDING": "running", "CANCELLED": "cancelled"}


def job_state(workflow_status: str, output: Any) -> str:
    """The job's own state (queued, running, done, skipped, ignored, failed) from its workflow:
    a workflow that finished carries the job's outcome, whose state may well be `failed`."""
    if workflow_status == "SUCCESS" and isinstance(output, dict) and isinstance(output.get("state"), str):
        return str(output["state"])
    return _LIVE_STATES.get(workflow_status, "failed")  # ERROR, MAX_RECOVERY_ATTEMPTS_EXCEEDED


class JobRequest(BaseModel):
    """The workflow's input. Its id (the source's `job_id`) is the idempotency key, so the
    request itself needs no scope; inputs recorded by earlier releases (with `org`) still load."""

    source: str = "sentry"  # the configured source's name
    issue_id: str
    project: str | None = None
    title: str = ""
    trigger: str = ""
    # Trigger rules (fix-issue-v3). Requests recorded before them lack `check_triggers` and run
    # the v2 step sequence unchanged, which is what keeps v2 jobs adoptable.
    check_triggers: bool = False
    stopped_by: str | None = None  # the rule the delivery already failed: the job ends ignored at once
    count: int | None = None  # the issue's counts when the delivery carried them
    user_count: int | None = None
    # Validation of fixes by the pipeline's own test runs (fix-issue-v4). Requests recorded before it
    # lack the flag and run the v3 step sequence unchanged, which keeps v3 jobs adoptable.
    validate_fix: bool = False

    @classmethod
    def of(cls, source: str, wanted: FixRequest, *, stopped_by: str | None = None) -> JobRequest:
        return cls(source=source, issue_id=wanted.issue_id, project=wanted.project, title=wanted.title,
                   trigger=wanted.trigger, check_triggers=True, stopped_by=stopped_by, count=wanted.count,
                   user_count=wanted.user_count, validate_fix=True)
