"""One way in for every delivery and poll: trigger rules at the door, the job id as idempotency key,
and a re-check of an issue a rule ignored earlier.

    webhook (server/http/app.py)      ─┐
    sweep / poll-interval (sweep.py)  ─┴→ submit(jobs, settings, source, wanted) → Submitted

A delivery that already fails a rule on what it carries is still queued, as a job that ends
`ignored` at once without a step, so it is visible rather than dropped. A delivery or poll for
an issue whose job ended `ignored` runs it again once the rules' cool-down has passed (the count
may have grown); a job that ran (done, failed, skipped) is never re-run this way, only by retry.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from server.config import Settings
from server.pipeline.jobs import JobRequest
from server.triggers import Facts, check_delivery
from sources.base import ErrorSource, FixRequest

log = logging.getLogger("autofixer.intake")

SubmitStatus = Literal["accepted", "ignored_by_rule", "rechecked", "duplicate"]


class JobStore(Protocol):
    """Where jobs are queued: the service's intake, or a DBOSClient from another process."""

    async def accept(self, job_id: str, request: dict[str, Any]) -> bool:
        """Queue a new job; False when one with this id exists (any state)."""
        ...

    async def finished(self, job_id: str) -> tuple[dict[str, Any] | None, float | None]:
        """A finished job's outcome and when it finished (epoch seconds); (None, None) otherwise."""
        ...

    async def replace(self, job_id: str, request: dict[str, Any]) -> None:
        """Delete the finished job and queue this request under the same id."""
        ...


@dataclass(frozen=True)
class Submitted:
    status: SubmitStatus
    job_id: str
    rule: str | None = None


async def submit(jobs: JobStore, settings: Settings, source: ErrorSource, wanted: FixRequest) -> Submitted:
    project = settings.project_for(wanted.project, source.name) if wanted.project else None
    rules = settings.triggers_for(project)
    facts = Facts(title=wanted.title or None, count=wanted.count, user_count=wanted.user_count,
                  environment=wanted.environment, level=wanted.level)
    stopped = check_delivery(rules, facts)
    request = JobRequest.of(source.name, wanted, stopped_by=stopped).model_dump()
    job_id = source.job_id(wanted.issue_id)
    if await jobs.accept(job_id, request):
        return Submitted("ignored_by_rule" if stopped else "accepted", job_id, stopped)
    if stopped is None and await _recheck(jobs, job_id, request, rules.cooldown_seconds):
        log.info("issue %s of %s ignored earlier: checked again (%s)", wanted.issue_id, source.name, wanted.trigger)
        return Submitted("rechecked", job_id)
    return Submitted("duplicate", job_id)


async def _recheck(jobs: JobStore, job_id: str, request: dict[str, Any], cooldown: float) -> bool:
    outcome, finished_at = await jobs.finished(job_id)
    if not outcome or outcome.get("state") != "ignored":
        return False
    if finished_at is not None and time.time() - finished_at < cooldown:
        return False
    await jobs.replace(job_id, request)
    return True
