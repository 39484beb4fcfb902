"""Polling: find the unresolved issues no webhook reported and queue a job for each.

For trackers behind a firewall that no webhook leaves. `autofixer sweep` runs one pass from the
command line; `sources[].poll-interval` makes the service run passes on its own. Each issue goes
through `submit` under the job id a webhook would use, so a poll after a webhook (or the other
way round) finds the existing job and never starts a second fix; the trigger rules apply the same.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime

from common.durations import parse_duration
from server.config import Settings
from server.pipeline.submit import JobStore, submit
from sources.base import ErrorSource, FixRequest, SourceError

log = logging.getLogger("autofixer.sweep")


@dataclass(frozen=True)
class Swept:
    source: str
    issue_id: str
    status: str  # accepted, ignored_by_rule, rechecked, duplicate, too_old, or "error"
    job_id: str | None = None
    detail: str = ""  # the rule that stopped it, or the source's error


async def sweep(jobs: JobStore, settings: Settings, sources: dict[str, ErrorSource], *, only: str | None = None,
                limit: int = 25, since_seconds: float | None = 86400.0) -> list[Swept]:
    """One pass over `sources` (or the one named `only`): the `limit` newest unresolved issues
    each, skipping those not seen within `since_seconds` (None: no age limit)."""
    if only is not None and only not in sources:
        raise ValueError(f"no source named {only!r} (configured: {', '.join(sources)})")
    results: list[Swept] = []
    for name, source in sources.items():
        if only is not None and name != only:
            continue
        try:
            issues = await source.list_issues(limit=limit)
        except SourceError as exc:
            log.warning("sweep: %s: %s", name, exc.reason)
            results.append(Swept(name, "", "error", detail=exc.reason))
            continue
        for issue in issues:
            if since_seconds is not None and _older_than(issue.last_seen, since_seconds):
                results.append(Swept(name, issue.id, "too_old"))
                continue
            wanted = FixRequest(issue_id=issue.id, project=issue.project, title=issue.title, trigger="poll",
                                count=issue.count, user_count=issue.user_count, level=issue.level)
            submitted = await submit(jobs, settings, source, wanted)
            results.append(Swept(name, issue.id, submitted.status, submitted.job_id, submitted.rule or ""))
    return results


def _older_than(last_seen: str | None, seconds: float) -> bool:
    if not last_seen:
        return False  # the tracker does not say: not a reason to skip it
    try:
        seen = datetime.fromisoformat(last_seen.replace("Z", "+00:00"))
    except ValueError:
        return False
    return seen.timestamp() < time.time() - seconds


async def poll_forever(jobs: JobStore, settings: Settings, source: ErrorSource, interval: str) -> None:
    """The service's poller for one source: a pass every `interval`, errors logged, never raised."""
    seconds = parse_duration(interval)
    while True:
        try:
            done = await sweep(jobs, settings, {source.name: source}, since_seconds=None)
            queued = [s for s in done if s.status in ("accepted", "rechecked")]
            if queued:
                log.info("poll %s: queued %d issue(s)", source.name, len(queued))
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug or an outage must not end polling for good
            log.exception("poll %s failed; next pass in %s", source.name, interval)
        await asyncio.sleep(seconds)


def start_pollers(settings: Settings, sources: dict[str, ErrorSource], jobs: JobStore) -> list[asyncio.Task[None]]:
    """A poller task per source with a `poll-interval`."""
    tasks: list[asyncio.Task[None]] = []
    for config in settings.source_configs:
        interval = getattr(config, "poll_interval", None)
        if interval and config.key in sources:
            log.info("polling %s every %s", config.key, interval)
            tasks.append(asyncio.create_task(poll_forever(jobs, settings, sources[config.key], interval)))
    return tasks
