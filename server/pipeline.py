"""The durable fix pipeline: one DBOS workflow per Sentry issue.

The webhook enqueues `fix_issue` under the workflow id `sentry:<org>:<issue>`; DBOS persists
it before the webhook answers, runs it on this process's queue with bounded concurrency, and
resumes it after a crash or restart. Each call to the outside world is a step, checkpointed
once it returns, so recovery never repeats finished work. Steps return plain data (errors as
values) so a recorded outcome replays identically.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
import time
from typing import Any

from dbos import DBOS

from domain.redact import redactor
from server import logs
from server.config import Settings
from server.jobs import JobOutcome, JobRequest, JobState, job_id_for
from server.fixing import run_fix
from server.services import services
from sources.sentry.client import SentryClient, SentryError
from sources.sentry.parser import parse_event

log = logging.getLogger("autofixer.job")

WORKFLOW_NAME = "fix_issue"
QUEUE_NAME = "fix-jobs"
# The DBOS application version: bump it only when the sequence of steps in fix_issue changes
# (see runtime.dbos_config); jobs accepted by a release with the same version survive upgrades.
WORKFLOW_VERSION = "fix-issue-v1"


@DBOS.step(name="fetch_latest_event")
async def fetch_latest_event(issue_id: str) -> dict[str, Any]:
    """The issue's latest event in Sentry's API format, or {"error": reason}."""
    return await _ask_sentry("event", lambda client: client.latest_event(issue_id))


@DBOS.step(name="fetch_issue")
async def fetch_issue(issue_id: str) -> dict[str, Any]:
    return await _ask_sentry("issue", lambda client: client.issue(issue_id))


async def _ask_sentry(key: str, call: Callable[[SentryClient], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    """Errors come back as values, so a checkpointed step replays them identically."""
    try:
        async with services().sentry() as client:
            return {key: await call(client)}
    except SentryError as exc:
        return {"error": exc.reason}


@DBOS.workflow(name=WORKFLOW_NAME)
async def fix_issue(request: dict[str, Any]) -> dict[str, Any]:
    req = JobRequest.model_validate(request)
    job = job_id_for(req.org, req.issue_id)
    issue_token, job_token = logs.job_issue.set(req.issue_id), logs.job_id.set(job)
    started = time.monotonic()
    outcome = JobOutcome(job_id=job, issue_id=req.issue_id, state=JobState.DONE, trigger=req.trigger, title=req.title)
    try:
        log.info("job started (%s)", req.trigger or "manual")
        await _run(req, outcome)
    except Exception as exc:  # a bug in a stage must end as a visible failure, not a stuck job
        log.exception("job crashed")
        reason = f"internal error: {type(exc).__name__}: {exc}"
        outcome.state, outcome.reason = JobState.FAILED, redactor(services().secrets.values())(reason)
    finally:
        outcome.duration_seconds = round(time.monotonic() - started, 3)
        services().metrics.job_finished(outcome.state.value, outcome.duration_seconds)
        log.info("job %s%s", outcome.state.value, f": {outcome.reason}" if outcome.reason else "")
        logs.job_issue.reset(issue_token)
        logs.job_id.reset(job_token)
    return outcome.model_dump(mode="json")


async def _stage(outcome: JobOutcome, name: str) -> None:
    outcome.stages.append(name)
    await DBOS.set_event_async("stage", name)
    log.info("stage %s", name)


async def _run(req: JobRequest, outcome: JobOutcome) -> None:
    settings = services().settings
    await _stage(outcome, "fetch_event")
    fetched = await fetch_latest_event(req.issue_id)
    if "error" in fetched:
        outcome.state, outcome.reason = JobState.FAILED, fetched["error"]
        return
    event = parse_event(fetched["event"], issue_id=req.issue_id, issue_url=_issue_url(settings, req.issue_id))
    slug = req.project or event.project
    if not slug:  # event_alert bodies without a URL, old events: ask Sentry which project it is
        details = await fetch_issue(req.issue_id)
        project = (details.get("issue") or {}).get("project")
        slug = project.get("slug") if isinstance(project, dict) else None
    event = event.model_copy(update={"project": slug})
    outcome.event = event.model_dump(mode="json")
    outcome.project, outcome.issue_url = slug, event.issue_url
    outcome.title = outcome.title or event.title
    log.info("event %s: %s: %s", event.id, event.error_type, event.error_message[:200])
    project = settings.project_for(slug)
    if project is None:
        outcome.state = JobState.SKIPPED
        outcome.reason = f"Sentry project {slug or '(unknown)'!r} is not in projects[] of the configuration"
        return
    outcome.repo = project.scm_repo
    await _stage(outcome, "fix")
    result = await run_fix(settings, project, event, outcome.job_id, lambda name: _stage(outcome, name))
    if result.fix is None:
        outcome.state, outcome.reason = JobState.FAILED, result.reason
        return
    outcome.fix, outcome.publication = result.fix, result.publication
    publication = result.publication
    if publication is not None:
        outcome.pr_url = publication.pr_url
        outcome.state = _JOB_STATE_AFTER_PUBLISH[publication.state]
        outcome.reason = publication.reason


# A job is "done" when the fix went as far as the configuration allows (a PR, or its dry-run
# record); "skipped" when the gate kept it from a PR (LOW confidence, auto-pr off).
_JOB_STATE_AFTER_PUBLISH = {
    "opened": JobState.DONE, "existing": JobState.DONE, "dry_run": JobState.DONE,
    "skipped": JobState.SKIPPED, "failed": JobState.FAILED,
}


def _issue_url(settings: Settings, issue_id: str) -> str:
    return f"{settings.source.base_url}/organizations/{settings.source.org}/issues/{issue_id}/"
