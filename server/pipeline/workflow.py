"""The durable fix pipeline: one DBOS workflow per issue, whichever source reported it.

The webhook enqueues `fix_issue` under the source's job id (`sentry:<org>:<issue>` for
Sentry); DBOS persists it before the webhook answers, runs it on this process's queue with
bounded concurrency, and resumes it after a crash or restart. Each call to the outside world is
a step, checkpointed once it returns, so recovery never repeats finished work.

Step sequence (WORKFLOW_VERSION fix-issue-v4):
    fetch_latest_event, [fetch_issue], resolve_base, start_clock, llm_turn…, [tool_call…],
    [validate], publish, notify (one per configured notifier)
v2 added `notify` at the end (and the `tool_call` seam, used only by non-deterministic tools,
of which v1 had none), so a v1 job's recorded steps are a prefix of v2's: v1 jobs are adopted
at start-up (runtime.adopt_compatible_jobs) instead of being stranded.
v3 checks trigger rules for requests that ask for it (`check_triggers`, set by webhooks and polls
since v3): such a job may call `fetch_issue` for the issue's counts, and one stopped by a rule
ends `ignored` with no further step (one the delivery already stopped runs no step at all).
Requests recorded by v1/v2 lack the flag and run exactly the v2 sequence, so they stay adoptable.
v4 validates fixes of projects with `tests:` (server/pipeline/validation.py): after the agent
submits a fix with changes, one checkpointed `validate` step (after the "validate" stage event)
re-runs the reproduction test and the suite in the sandbox, and its verdict caps the confidence
or keeps the fix from a PR, before `publish`. Only requests that ask for it run it (`validate_fix`,
set by every enqueue path since v4: webhook, poll, retry, MCP run_autofix); one recorded by
v1-v3 lacks the flag and replays exactly the v3 sequence, so those jobs stay adoptable. A project
without `tests:` never runs the step; with tests, the agent also gets run_tests, whose calls are
`tool_call` steps.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from dbos import DBOS
from pydantic import BaseModel

from domain import Issue
from domain.job import JobOutcome, JobState, notify_event
from domain.redact import redact_obj
from notify.base import Notifier, NotifyError
from server import logs
from server.pipeline.fixing import run_fix
from server.pipeline.jobs import JobRequest
from server.pipeline.services import services
from server.triggers import check_event
from sources.base import ErrorSource, SourceError

log = logging.getLogger("autofixer.job")

WORKFLOW_NAME = "fix_issue"
QUEUE_NAME = "fix-jobs"
# The DBOS application version: bump it only when the sequence of steps in fix_issue changes
# (see runtime.dbos_config), and list the old version below when its sequence is a prefix of
# the new one; jobs accepted by a release with a listed version survive the upgrade.
WORKFLOW_VERSION = "fix-issue-v4"
COMPATIBLE_VERSIONS = ("fix-issue-v1", "fix-issue-v2", "fix-issue-v3")


class Fetched(BaseModel):
    """What a fetch step recorded: the tracker's own JSON, or why there is none."""

    event: dict[str, Any] | None = None
    issue: dict[str, Any] | None = None
    error: str | None = None


@DBOS.step(name="fetch_latest_event")
async def _fetch_latest_event(issue_id: str, source: str = "sentry") -> dict[str, Any]:
    return await _ask(source, "event", lambda s: s.fetch_event(issue_id))


@DBOS.step(name="fetch_issue")
async def _fetch_issue(issue_id: str, source: str = "sentry") -> dict[str, Any]:
    return await _ask(source, "issue", lambda s: s.fetch_issue(issue_id))


async def _ask(source: str, key: str, call: Callable[[ErrorSource], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    """The tracker's answer under `key`, or its failure as a value (replayed as recorded)."""
    svc = services()
    try:
        answer = await call(svc.source(source))
    except SourceError as exc:
        return {"error": exc.reason}
    # The checkpoint is stored: event data is attacker-controlled and may carry one of our tokens.
    return {key: redact_obj(answer, svc.secrets.values())}


async def fetch_latest_event(issue_id: str, source: str) -> Fetched:
    """The issue's latest event, checkpointed as the tracker sent it (parsed after replay)."""
    return Fetched.model_validate(await _fetch_latest_event(issue_id, source))


async def fetch_issue(issue_id: str, source: str) -> Fetched:
    return Fetched.model_validate(await _fetch_issue(issue_id, source))


class Delivered(BaseModel):
    """What a notify step recorded: the notifier, and its failure when it could not deliver."""

    notifier: str
    error: str | None = None


@DBOS.step(name="notify")
async def _notify(index: int, event: str, outcome: dict[str, Any]) -> dict[str, Any]:
    notifier = services().notifiers[index]
    try:
        await notifier.notify(event, JobOutcome.model_validate(outcome))  # type: ignore[arg-type]
    except NotifyError as exc:
        return Delivered(notifier=notifier.name, error=str(exc)).model_dump(exclude_none=True)
    return Delivered(notifier=notifier.name).model_dump(exclude_none=True)


async def notify(outcome: JobOutcome) -> None:
    """Tell each notifier that covers this outcome, once: a delivered message is checkpointed,
    and one that could not be delivered is a warning on the job, never a failed fix."""
    event = notify_event(outcome)
    notifiers: list[Notifier] = services().notifiers
    for index, notifier in enumerate(notifiers):
        if not notifier.config.covers(event, outcome):
            continue
        delivered = Delivered.model_validate(await _notify(index, event, outcome.model_dump(mode="json")))
        if delivered.error:
            outcome.warnings.append(f"notifier {delivered.notifier}: {delivered.error}")


@DBOS.workflow(name=WORKFLOW_NAME)
async def fix_issue(request: dict[str, Any]) -> dict[str, Any]:
    req = JobRequest.model_validate(request)
    job = DBOS.workflow_id or req.issue_id
    issue_token, job_token = logs.job_issue.set(req.issue_id), logs.job_id.set(job)
    started = time.monotonic()
    outcome = JobOutcome(job_id=job, issue_id=req.issue_id, state=JobState.DONE, source=req.source,
                         trigger=req.trigger, title=req.title)
    try:
        log.info("job started (%s)", req.trigger or "manual")
        try:
            await _run(req, outcome)
        except Exception as exc:  # a bug in a stage must end as a visible failure, not a stuck job
            log.exception("job crashed")
            reason = f"internal error: {type(exc).__name__}: {exc}"
            outcome.state, outcome.reason = JobState.FAILED, reason
        # Everything stored with the job or sent to a notifier passes the redactor: event data is
        # attacker-controlled and may carry one of our own tokens.
        outcome = JobOutcome.model_validate(redact_obj(outcome.model_dump(mode="json"), services().secrets.values()))
        if outcome.state is not JobState.IGNORED:  # an ignored issue is in the jobs API and /metrics, not a message
            await notify(outcome)
    finally:
        outcome.duration_seconds = round(time.monotonic() - started, 3)
        usage = outcome.fix.usage if outcome.fix is not None else None
        services().metrics.job_finished(outcome.state.value, outcome.duration_seconds,
                                        usage.cost_usd if usage else 0.0, usage.unpriced_turns if usage else 0,
                                        rule=outcome.rule)
        # A failed job is worth an operator's attention (warning); a crash was logged as an error.
        level = logging.WARNING if outcome.state is JobState.FAILED else logging.INFO
        log.log(level, "job %s%s", outcome.state.value, f": {outcome.reason}" if outcome.reason else "")
        logs.job_issue.reset(issue_token)
        logs.job_id.reset(job_token)
    return outcome.model_dump(mode="json")


async def _stage(outcome: JobOutcome, name: str) -> None:
    outcome.stages.append(name)
    await DBOS.set_event_async("stage", name)
    log.info("stage %s", name)


async def _run(req: JobRequest, outcome: JobOutcome) -> None:
    svc = services()
    settings = svc.settings
    source = svc.source(req.source)
    if req.stopped_by:  # the delivery already failed a rule: recorded, nothing fetched
        _ignore(outcome, req.stopped_by)
        return
    await _stage(outcome, "fetch_event")
    fetched = await fetch_latest_event(req.issue_id, req.source)
    if fetched.event is None:
        outcome.state, outcome.reason = JobState.FAILED, fetched.error or "no event"
        return
    event = source.parse_event(fetched.event, req.issue_id)
    name = req.project or event.project
    issue: Issue | None = None
    if not name:  # deliveries that do not name the project, old events: ask the tracker
        issue = await _issue(source, req.issue_id)
        name = issue.project if issue else None
    event = event.model_copy(update={"project": name})
    outcome.event = event.model_dump(mode="json")
    outcome.project, outcome.issue_url = name, event.issue_url
    outcome.title = outcome.title or event.title
    log.info("event %s: %s: %s", event.id, event.error_type, event.error_message[:200])
    project = settings.project_for(name, source.name)
    if req.check_triggers:
        rules = settings.triggers_for(project)
        if rules.needs_counts and issue is None and req.count is None:
            issue = await _issue(source, req.issue_id)
        count = req.count if req.count is not None else issue.count if issue else None
        users = req.user_count if req.user_count is not None else issue.user_count if issue else None
        if stopped := check_event(rules, event, count, users):
            _ignore(outcome, stopped)
            return
    if project is None:
        outcome.state = JobState.SKIPPED
        outcome.reason = f"{source.label} project {name or '(unknown)'!r} is not in projects[] of the configuration"
        return
    outcome.repo = project.scm_repo
    await _stage(outcome, "fix")
    result = await run_fix(settings, project, event, outcome.job_id, req.source, lambda stage: _stage(outcome, stage),
                           validate=req.validate_fix)
    if result.fix is None:
        outcome.state, outcome.reason = JobState.FAILED, result.reason
        return
    outcome.fix, outcome.publication, outcome.validation = result.fix, result.publication, result.validation
    if result.validation is not None and result.validation.verdict == "unavailable":
        outcome.warnings.append(f"the fix was not validated: {result.validation.reason}")
    if result.fix.exit_reason != "submitted":
        # An outage or a limit ended the run before the model submitted: the analysis is kept,
        # but the job failed (retryable), it was not "skipped" by the confidence gate.
        outcome.state = JobState.FAILED
        why = result.fix.exit_detail or result.fix.exit_reason
        outcome.reason = f"the agent stopped before submitting a fix: {why}"
        return
    publication = result.publication
    if publication is not None:
        outcome.pr_url = publication.pr_url
        outcome.state = _JOB_STATE_AFTER_PUBLISH[publication.state]
        outcome.reason = publication.reason


async def _issue(source: ErrorSource, issue_id: str) -> Issue | None:
    """The issue's details (project, counts) through the checkpointed fetch_issue step."""
    details = await fetch_issue(issue_id, source.name)
    return source.parse_issue(details.issue) if details.issue else None


def _ignore(outcome: JobOutcome, rule: str) -> None:
    outcome.state, outcome.rule = JobState.IGNORED, rule
    outcome.reason = f"trigger rule {rule}"


# A job is "done" when the fix went as far as the configuration allows (a PR, or its dry-run
# record); "skipped" when the gate kept it from a PR (LOW confidence, auto-pr off).
_JOB_STATE_AFTER_PUBLISH = {
    "opened": JobState.DONE, "existing": JobState.DONE, "dry_run": JobState.DONE,
    "skipped": JobState.SKIPPED, "failed": JobState.FAILED,
}
