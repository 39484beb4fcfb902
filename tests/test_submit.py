"""submit(): the one way in for webhooks and polls — rules at the door, the job id as the
idempotency key, and a re-check of an issue a rule ignored, after the cool-down only."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from werkzeug.datastructures import Headers

from server.config import parse_settings
from server.pipeline.submit import submit
from sources.base import Delivery, FixRequest
from sources.sentry.webhook import sign
from tests.contracts.support import build_connector
from tests.fakes.sentry_api import load_fixture


class MemoryJobs:
    """A JobStore in memory: what DBOS would hold, reduced to ids, requests and outcomes."""

    def __init__(self) -> None:
        self.requests: dict[str, dict[str, Any]] = {}
        self.outcomes: dict[str, tuple[dict[str, Any], float]] = {}
        self.replaced: list[str] = []

    async def accept(self, job_id: str, request: dict[str, Any]) -> bool:
        if job_id in self.requests:
            return False
        self.requests[job_id] = request
        return True

    async def finished(self, job_id: str) -> tuple[dict[str, Any] | None, float | None]:
        outcome, at = self.outcomes.get(job_id, (None, None))
        return outcome, at

    async def replace(self, job_id: str, request: dict[str, Any]) -> None:
        self.replaced.append(job_id)
        self.requests[job_id] = request
        self.outcomes.pop(job_id, None)


SECRET = "submit-" + "secret-0123456789"


def sentry(**triggers: Any) -> tuple[Any, Any]:
    settings = parse_settings({"source": {"type": "sentry", "org": "acme"}, "triggers": triggers})
    source = build_connector("sources", {"type": "sentry", "org": "acme"}, {"AUTOFIXER_WEBHOOK_SECRET": SECRET})
    return settings, source


def issue_created(count: str) -> FixRequest:
    _, source = sentry()
    body = load_fixture("webhook-issue-created.json")
    body["data"]["issue"]["count"] = count
    raw = json.dumps(body).encode()
    headers = Headers({"Sentry-Hook-Resource": "issue", "Sentry-Hook-Signature": sign(raw, SECRET)})
    wanted = source.fix_request(Delivery(headers=headers, body=raw, content_type="application/json"))
    assert wanted is not None
    return wanted


async def test_a_sentry_issue_below_the_threshold_is_ignored_then_rechecked_after_the_cooldown() -> None:
    settings, source = sentry(**{"min-events": 10, "cooldown": "1h"})
    jobs = MemoryJobs()
    wanted = issue_created("3")
    assert (wanted.count, wanted.user_count, wanted.level) == (3, 1, "error")  # read from the delivery

    first = await submit(jobs, settings, source, wanted)
    assert (first.status, first.rule) == ("ignored_by_rule", "min-events: 3 < 10")
    assert jobs.requests[first.job_id]["stopped_by"] == "min-events: 3 < 10"
    jobs.outcomes[first.job_id] = ({"state": "ignored", "rule": first.rule}, time.time())

    grown = issue_created("25")
    assert (await submit(jobs, settings, source, grown)).status == "duplicate"  # within the cool-down
    jobs.outcomes[first.job_id] = ({"state": "ignored", "rule": first.rule}, time.time() - 3601)
    again = await submit(jobs, settings, source, grown)
    assert again.status == "rechecked" and jobs.replaced == [first.job_id]
    assert jobs.requests[first.job_id]["stopped_by"] is None and jobs.requests[first.job_id]["count"] == 25


@pytest.mark.parametrize("state", ["done", "failed", "skipped"])
async def test_a_job_that_ran_is_never_rerun_by_a_delivery(state: str) -> None:
    settings, source = sentry(cooldown="0s")
    jobs = MemoryJobs()
    first = await submit(jobs, settings, source, issue_created("50"))
    assert first.status == "accepted"
    jobs.outcomes[first.job_id] = ({"state": state}, time.time() - 86400)
    assert (await submit(jobs, settings, source, issue_created("60"))).status == "duplicate"
    assert jobs.replaced == []


async def test_still_failing_at_the_door_stays_the_ignored_job_it_was() -> None:
    settings, source = sentry(**{"min-events": 10, "cooldown": "0s"})
    jobs = MemoryJobs()
    first = await submit(jobs, settings, source, issue_created("1"))
    jobs.outcomes[first.job_id] = ({"state": "ignored"}, 0.0)
    assert (await submit(jobs, settings, source, issue_created("2"))).status == "duplicate"
    assert jobs.replaced == []
