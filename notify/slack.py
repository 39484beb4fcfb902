"""Slack: an incoming webhook, or a bot token with chat.postMessage (threads and approvals).

Two modes, chosen by the entry:
- `channel` unset: POST the message to the incoming-webhook URL in AUTOFIXER_SLACK_WEBHOOK_URL
  (Slack answers 200 `ok`, or a plain-text error such as `invalid_payload`, `channel_not_found`).
- `channel` set: `chat.postMessage` with the bot token in AUTOFIXER_SLACK_BOT_TOKEN (scope
  `chat:write`). Errors come back as HTTP 200 `{"ok": false, "error": …}`. Later messages about
  the same issue go into the first message's thread (its `ts`, kept in the state directory), and
  an analysis the confidence gate held back carries an "Open pull request" button that people in
  `approvers` may press (server/http/slack_actions.py verifies and handles the click).

Block Kit limits respected: header ≤ 150 chars, section text ≤ 3,000, ≤ 10 fields of ≤ 2,000.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from common.config import ConnectorContext, require_http_url
from common.http import SharedClient, safe_json
from domain import Confidence
from domain.job import JobOutcome, NotifyEvent
from notify.base import NotifierConfig, NotifyError
from notify.delivery import NotifyClient, require
from notify.message import Message, build, clip
from notify.threads import ThreadStore

APPROVE_ACTION = "autofixer_open_pr"  # the button's action_id, recognised by the actions route
SECTION_MAX, FIELD_MAX, HEADER_MAX, FIELDS_MAX, TEXT_MAX = 3000, 2000, 150, 10, 3000


class SlackNotifierConfig(NotifierConfig):
    type: Literal["slack"] = "slack"
    webhook_url_env: str = "AUTOFIXER_SLACK_WEBHOOK_URL"
    bot_token_env: str = "AUTOFIXER_SLACK_BOT_TOKEN"
    channel: str | None = None  # set: bot-token mode (chat.postMessage to this channel id or #name)
    signing_secret_env: str = "AUTOFIXER_SLACK_SIGNING_SECRET"  # verifies button clicks
    approvers: list[str] = Field(default_factory=list)  # Slack user ids (U…) allowed to open a PR
    api_url: str = "https://slack.com/api"

    @model_validator(mode="after")
    def _check(self) -> SlackNotifierConfig:
        self.api_url = require_http_url(self.api_url)
        if self.approvers and not self.channel:
            raise ValueError("approvers need bot-token mode: set channel (incoming webhooks cannot carry buttons)")
        return self


def thread_key(config: SlackNotifierConfig, outcome: JobOutcome) -> str:
    return f"slack:{config.key}:{config.channel}:{outcome.source}:{outcome.issue_id}"


def blocks(message: Message, *, approve_job: str | None = None) -> list[dict[str, Any]]:
    """The Block Kit layout: header, summary, facts as fields, links, and the approve button."""
    more = message.url
    out: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": clip(message.headline, HEADER_MAX)}},
    ]
    if message.summary:
        summary = clip(escape(message.summary), SECTION_MAX, more)
        out.append({"type": "section", "text": {"type": "mrkdwn", "text": summary}})
    if message.facts:
        out.append({"type": "section", "fields": [
            {"type": "mrkdwn", "text": clip(f"*{k}*\n{escape(v)}", FIELD_MAX, more)}
            for k, v in message.facts[:FIELDS_MAX]
        ]})
    if message.links:
        links = "  ·  ".join(f"<{url}|{label}>" for label, url in message.links)
        out.append({"type": "context", "elements": [{"type": "mrkdwn", "text": clip(links, TEXT_MAX)}]})
    if approve_job:
        out.append({"type": "actions", "block_id": "autofixer_approval", "elements": [{
            "type": "button", "action_id": APPROVE_ACTION, "style": "primary", "value": approve_job,
            "text": {"type": "plain_text", "text": "Open pull request"},
            "confirm": {"title": {"type": "plain_text", "text": "Open the pull request?"},
                        "text": {"type": "plain_text", "text": "The held-back fix is pushed and a PR opened."},
                        "confirm": {"type": "plain_text", "text": "Open it"},
                        "deny": {"type": "plain_text", "text": "Cancel"}},
        }]})
    return out


def escape(text: str) -> str:
    """Slack's three control characters: event text must not become a link or a mention."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class SlackNotifier:
    kind = "slack"
    Config = SlackNotifierConfig

    def __init__(self, config: SlackNotifierConfig, context: ConnectorContext) -> None:
        self.config = config
        self.name = config.key
        self._context = context
        self._webhook = SharedClient(lambda: NotifyClient(
            require(self._context, self.config.webhook_url_env, "the Slack incoming-webhook URL"), self._context,
            vendor="Slack webhook"))
        self._api = SharedClient(lambda: SlackApi(
            self.config.api_url, require(self._context, self.config.bot_token_env, "the Slack bot token"),
            self._context))
        self.threads = ThreadStore(context.state_dir / "chat-threads.sqlite" if context.state_dir else None)

    async def aclose(self) -> None:
        """Close the clients' pooled connections (at shutdown)."""
        await self._webhook.aclose()
        await self._api.aclose()

    def approvable(self, event: NotifyEvent, outcome: JobOutcome) -> bool:
        """An analysis held back by the gate, with a change to propose, in a channel with approvers
        (a LOW fix stays an analysis: server/pipeline/approval.py refuses it too)."""
        return bool(event == "analysis" and self.config.channel and self.config.approvers and outcome.fix
                    and outcome.fix.changes and outcome.fix.confidence is not Confidence.LOW
                    and outcome.publication and outcome.publication.state == "skipped")

    async def notify(self, event: NotifyEvent, outcome: JobOutcome) -> None:
        message = build(event, outcome, self.config.jobs_url)
        approve = outcome.job_id if self.approvable(event, outcome) else None
        payload: dict[str, Any] = {"text": clip(message.text(), TEXT_MAX, message.url),
                                   "blocks": blocks(message, approve_job=approve)}
        if self.config.channel:
            await self._post_message(payload, outcome)
        else:
            await self._post_webhook(payload)

    async def _post_webhook(self, payload: dict[str, Any]) -> None:
        await self._webhook.get().post("", payload=payload, what="posting to the Slack incoming webhook")

    async def _post_message(self, payload: dict[str, Any], outcome: JobOutcome) -> None:
        key = thread_key(self.config, outcome)
        thread = self.threads.get(key)
        body = {**payload, "channel": self.config.channel, "unfurl_links": False,
                **({"thread_ts": thread} if thread else {})}
        answer = await self._api.get().call("chat.postMessage", body)
        ts = answer.get("ts")
        if isinstance(ts, str) and not thread:
            self.threads.remember(key, ts)


class SlackApi(NotifyClient):
    """Slack's Web API: bearer token, and failures as HTTP 200 `{"ok": false, "error": …}`."""

    def __init__(self, api_url: str, token: str, context: ConnectorContext) -> None:
        super().__init__(api_url, context, vendor="Slack", secrets=[token],
                         headers={"Authorization": f"Bearer {token}"})

    async def call(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.post(f"/{method}", payload=body, what=f"calling Slack {method}")
        answer = safe_json(response)
        if not isinstance(answer, dict):
            raise NotifyError(f"Slack {method} answered {response.status_code} without JSON: "
                              "is api-url Slack's Web API?")
        if not answer.get("ok"):
            error = str(answer.get("error") or "unknown_error")
            hint = SLACK_HINTS.get(error, "")
            raise NotifyError(self.redact(f"Slack refused {method}: {error}{f' ({hint})' if hint else ''}"))
        return answer


SLACK_HINTS = {
    "not_in_channel": "invite the app to the channel: /invite @<app name>",
    "channel_not_found": "check channel in the notify entry (an id like C0123456789, or #name)",
    "invalid_auth": "check AUTOFIXER_SLACK_BOT_TOKEN (an xoxb- bot token)",
    "not_authed": "check AUTOFIXER_SLACK_BOT_TOKEN",
    "missing_scope": "the app needs the chat:write scope",
    "is_archived": "the channel is archived",
    "msg_too_long": "the message was too long",
}
