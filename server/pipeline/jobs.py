"""A fix job as the pipeline receives it; its state and outcome live in domain/job.py."""

from __future__ import annotations

from pydantic import BaseModel

from domain.job import JobOutcome, JobState, PublishOutcome
from sources.base import FixRequest

__all__ = ["JobOutcome", "JobRequest", "JobState", "PublishOutcome"]


class JobRequest(BaseModel):
    """The workflow's input. Its id (the source's `job_id`) is the idempotency key, so the
    request itself needs no scope; inputs recorded by earlier releases (with `org`) still load."""

    source: str = "sentry"  # the configured source's name
    issue_id: str
    project: str | None = None
    title: str = ""
    trigger: str = ""

    @classmethod
    def of(cls, source: str, wanted: FixRequest) -> JobRequest:
        return cls(source=source, issue_id=wanted.issue_id, project=wanted.project, title=wanted.title,
                   trigger=wanted.trigger)
