"""A generic JSON POST to any URL, signed per the Standard Webhooks spec (standardwebhooks.com).

Headers: `webhook-id` (the same for every attempt at one message, so a receiver can drop
repeats), `webhook-timestamp` (Unix seconds) and `webhook-signature`: `v1,` + base64 of
HMAC-SHA256 over `<id>.<timestamp>.<body>` keyed with the secret. The secret is the spec's
`whsec_<base64>` form (what the official libraries generate and verify); any other string is
used as raw bytes. Any official Standard Webhooks library verifies these deliveries.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any, Literal

from common.config import ConnectorContext
from common.http import SharedClient
from domain.job import JobOutcome, NotifyEvent
from notify.base import NotifierConfig, NotifyError
from notify.delivery import NotifyClient, require
from notify.message import build


class WebhookNotifierConfig(NotifierConfig):
    type: Literal["webhook"] = "webhook"
    url_env: str = "AUTOFIXER_NOTIFY_WEBHOOK_URL"  # a secret too: URLs often carry a token
    secret_env: str = "AUTOFIXER_NOTIFY_WEBHOOK_SECRET"


def secret_key(secret: str) -> bytes:
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except binascii.Error:
            raise NotifyError("AUTOFIXER_NOTIFY_WEBHOOK_SECRET starts with whsec_ but the rest is not base64") from None
    return secret.encode()


def sign(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def message_id(outcome: JobOutcome, event: NotifyEvent) -> str:
    """Stable per job outcome: a re-sent delivery (retry, recovered step) has the same id."""
    return "msg_" + hashlib.sha256(f"{outcome.job_id}\0{event}".encode()).hexdigest()[:32]


def payload(event: NotifyEvent, outcome: JobOutcome, jobs_url: str | None) -> dict[str, Any]:
    message = build(event, outcome, jobs_url)
    fix = outcome.fix
    data: dict[str, Any] = {
        "job_id": outcome.job_id, "issue_id": outcome.issue_id, "source": outcome.source,
        "state": outcome.state.value, "reason": outcome.reason, "title": outcome.title,
        "project": outcome.project, "repo": outcome.repo, "issue_url": outcome.issue_url, "pr_url": outcome.pr_url,
        "stage": outcome.stages[-1] if outcome.stages else None, "warnings": outcome.warnings,
        "links": dict((label.lower().replace(" ", "_"), url) for label, url in message.links),
        "text": message.text(),
    }
    if fix is not None:
        data["fix"] = {"confidence": fix.confidence.value, "root_cause": fix.root_cause,
                       "files": [c.file for c in fix.changes], "cost_usd": fix.usage.cost_usd}
    return {"type": f"autofixer.{event}", "timestamp": int(time.time()), "data": data}


class WebhookNotifier:
    kind = "webhook"
    Config = WebhookNotifierConfig

    def __init__(self, config: WebhookNotifierConfig, context: ConnectorContext,
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.name = config.key
        self._context = context
        self._clock = clock
        self._hook = SharedClient(lambda: NotifyClient(
            require(self._context, self.config.url_env, "the webhook URL"), self._context, vendor="webhook receiver",
            secrets=[require(self._context, self.config.secret_env, "the webhook signing secret")]))

    async def aclose(self) -> None:
        """Close the client's pooled connections (at shutdown)."""
        await self._hook.aclose()

    async def notify(self, event: NotifyEvent, outcome: JobOutcome) -> None:
        secret = require(self._context, self.config.secret_env, "the webhook signing secret")
        body = json.dumps(payload(event, outcome, self.config.jobs_url), separators=(",", ":")).encode()
        msg_id, now = message_id(outcome, event), int(self._clock())
        headers = {"content-type": "application/json", "webhook-id": msg_id, "webhook-timestamp": str(now),
                   "webhook-signature": sign(secret_key(secret), msg_id, now, body)}
        await self._hook.get().post("", content=body, headers=headers, what=f"posting {event} to the webhook")
