"""`autofixer sweep`: one polling pass from the command line, queued into the service's job store."""

from __future__ import annotations

import asyncio
import sys

from common.durations import parse_duration
from server import connectors
from server.config import Secrets, Settings
from server.mcp.jobs import FixJobs
from server.mcp.triage import TriageError
from server.pipeline import runtime
from server.pipeline.job_stores import ClientJobs
from server.pipeline.sweep import Swept, sweep


def run_sweep(settings: Settings, *, source: str | None, limit: int, since: str) -> int:
    """Print one line per issue; exit 1 when a source could not be listed, 2 on bad arguments."""
    try:
        since_seconds = parse_duration(since) or None
    except ValueError as exc:
        print(f"autofixer sweep: --since: {exc}", file=sys.stderr)
        return 2
    if limit < 1 or limit > 1000:
        print("autofixer sweep: --limit must be between 1 and 1000", file=sys.stderr)
        return 2
    try:
        results = asyncio.run(_run(settings, source, limit, since_seconds))
    except (ValueError, TriageError) as exc:
        print(f"autofixer sweep: {exc}", file=sys.stderr)
        return 2
    for swept in results:
        print(_line(swept))
    queued = sum(s.status in ("accepted", "rechecked") for s in results)
    print(f"autofixer sweep: {queued} job(s) queued, {len(results)} issue(s) looked at", file=sys.stderr)
    return 1 if any(s.status == "error" for s in results) else 0


async def _run(settings: Settings, source: str | None, limit: int, since: float | None) -> list[Swept]:
    sources = connectors.build_sources(settings, Secrets(settings))
    if source is not None and source not in sources:
        raise ValueError(f"no source named {source!r} (configured: {', '.join(sources)})")
    fix_jobs = FixJobs(settings)
    try:
        jobs = ClientJobs(await fix_jobs.connected(), runtime.dbos_config(settings).get("application_version"))
        return await sweep(jobs, settings, sources, only=source, limit=limit, since_seconds=since)
    finally:
        await fix_jobs.close()


def _line(swept: Swept) -> str:
    if swept.status == "error":
        return f"{swept.source}\terror\t{swept.detail}"
    detail = f"\t{swept.detail}" if swept.detail else ""
    return f"{swept.source}\t{swept.issue_id}\t{swept.status}\t{swept.job_id or '-'}{detail}"
