"""`POST /api/slack/actions`: the "Open pull request" button on a held-back analysis.

Slack sends the click as `application/x-www-form-urlencoded` with one `payload` field (JSON).
The raw body is verified before anything is parsed: `X-Slack-Signature` must be
`v0=` + hex HMAC-SHA256 of `v0:<X-Slack-Request-Timestamp>:<body>` keyed with a configured
Slack notifier's signing secret, and the timestamp within five minutes (replays fail). Only users
in that notifier's `approvers` may approve. Slack wants an answer within three seconds and
opening a PR takes longer, so the click is acknowledged at once and the PR is opened in the
background; the message is then updated through the click's `response_url` (the button replaced
by the PR link, or the reason there is none). A click lost to a restart can simply be repeated:
an approval finds the PR it opened before.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from common.config import ConnectorContext
from domain.job import PublishOutcome
from notify.base import NotifyError
from notify.delivery import NotifyClient
from notify.slack import APPROVE_ACTION, SlackNotifierConfig, escape
from server.config import Secrets, Settings
from server.pipeline.approval import ApprovalError, open_approved

log = logging.getLogger("autofixer.slack")
MAX_SKEW_SECONDS = 5 * 60
_background: set[asyncio.Task[None]] = set()


@dataclass
class Answer:
    status: int
    body: dict[str, Any]


@dataclass
class Click:
    config: SlackNotifierConfig
    user: str
    job_id: str
    response_url: str
    blocks: list[dict[str, Any]]


def signature(secret: str, timestamp: str, body: bytes) -> str:
    base = f"v0:{timestamp}:".encode() + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def verify(settings: Settings, secrets: Secrets, headers: Mapping[str, str], body: bytes,
           now: float) -> SlackNotifierConfig | Answer:
    """The Slack notifier whose signing secret signed this request, or the 401/404 to answer.
    `headers` has lower-case names."""
    configs = [c for c in settings.notify_configs if isinstance(c, SlackNotifierConfig)]
    keyed = [(c, secrets.get(c.signing_secret_env)) for c in configs]
    keyed = [(c, s) for c, s in keyed if s]
    if not keyed:
        return Answer(404, {"error": "no slack notifier with a signing secret is configured"})
    timestamp = headers.get("x-slack-request-timestamp", "")
    try:
        skew = abs(now - int(timestamp))
    except ValueError:
        return Answer(401, {"error": "missing or malformed X-Slack-Request-Timestamp"})
    if skew > MAX_SKEW_SECONDS:
        return Answer(401, {"error": "stale request: X-Slack-Request-Timestamp is more than 5 minutes off"})
    given = headers.get("x-slack-signature", "").encode()
    for config, secret in keyed:
        if hmac.compare_digest(signature(secret, timestamp, body).encode(), given):  # type: ignore[arg-type]
            return config
    return Answer(401, {"error": "bad X-Slack-Signature"})


def parse(config: SlackNotifierConfig, body: bytes) -> Click | Answer:
    try:
        fields = parse_qs(body.decode("utf-8"), strict_parsing=True)
        payload = json.loads(fields["payload"][0])
        action = next(a for a in payload["actions"] if a.get("action_id") == APPROVE_ACTION)
        return Click(config=config, user=str(payload["user"]["id"]), job_id=str(action["value"]),
                     response_url=str(payload["response_url"]),
                     blocks=list((payload.get("message") or {}).get("blocks") or []))
    except (ValueError, KeyError, TypeError, IndexError, StopIteration, AttributeError):
        return Answer(400, {"error": "not a Slack block_actions payload with the Open pull request button"})


async def handle(settings: Settings, secrets: Secrets, headers: Mapping[str, str], body: bytes,
                 now: Callable[[], float] = time.time) -> Answer:
    verified = verify(settings, secrets, headers, body, now())
    if isinstance(verified, Answer):
        return verified
    click = parse(verified, body)
    if isinstance(click, Answer):
        return click
    context = ConnectorContext(env=secrets.get, max_attempts=settings.worker.sentry_max_attempts,
                               backoff_seconds=settings.worker.sentry_backoff_seconds)
    if click.user not in click.config.approvers:
        log.warning("slack user %s may not approve job %s (not in approvers)", click.user, click.job_id)
        await _respond(click, context, {"response_type": "ephemeral", "replace_original": False,
                                        "text": "You are not on this notifier's approvers list: no pull request "
                                                "was opened."})
        return Answer(403, {"error": f"user {click.user} is not in approvers"})
    task = asyncio.create_task(_approve(click, context))
    _background.add(task)
    task.add_done_callback(_background.discard)
    return Answer(200, {"status": "accepted", "job_id": click.job_id})


async def _approve(click: Click, context: ConnectorContext) -> None:
    try:
        published = await open_approved(click.job_id)
        line = _result_line(published, click.user)
    except ApprovalError as exc:
        line = f":warning: No pull request: {escape(str(exc))}"
    except Exception:  # the click's answer must say something went wrong rather than nothing
        log.exception("approving job %s failed", click.job_id)
        line = ":warning: Opening the pull request failed; see the service log and click again."
    kept = [b for b in click.blocks if b.get("type") != "actions"]
    await _respond(click, context, {"replace_original": True, "text": line,
                                    "blocks": [*kept, {"type": "section", "text": {"type": "mrkdwn", "text": line}}]})


def _result_line(published: PublishOutcome, user: str) -> str:
    if published.state in ("opened", "existing") and published.pr_url:
        verb = "opened" if published.state == "opened" else "already open"
        return f":white_check_mark: Approved by <@{user}>: pull request {verb}: <{published.pr_url}>"
    if published.state == "dry_run":
        return f"Approved by <@{user}>: dry run, the pull request was not opened ({escape(published.reason)})"
    return f":warning: No pull request: {escape(published.reason or published.state)}"


async def _respond(click: Click, context: ConnectorContext, message: dict[str, Any]) -> None:
    try:
        async with NotifyClient(click.response_url, context, vendor="Slack response_url") as client:
            await client.post("", payload=message, what="updating the Slack message")
    except (NotifyError, ValueError) as exc:
        log.warning("could not update the Slack message for job %s: %s", click.job_id, exc)
