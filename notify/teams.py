"""Microsoft Teams: an Adaptive Card posted to a Workflows (Power Automate) webhook.

The flow "Post to a channel when a webhook request is received" takes
`{"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
"content": <card>}]}` and answers 202 Accepted. Teams caps a message at about 28 KB; the card
keeps each text well under that.
"""

from __future__ import annotations

from typing import Any, Literal

from common.config import ConnectorContext
from common.http import SharedClient
from domain.job import JobOutcome, NotifyEvent
from notify.base import NotifierConfig
from notify.delivery import NotifyClient, require
from notify.message import Message, build, clip

TEXT_MAX = 4000
CARD_VERSION = "1.4"  # the highest version Teams renders everywhere (desktop, web, mobile)
STYLES = {"pr_opened": "good", "analysis": "warning", "failed": "attention", "skipped": "default"}


class TeamsNotifierConfig(NotifierConfig):
    type: Literal["teams"] = "teams"
    webhook_url_env: str = "AUTOFIXER_TEAMS_WEBHOOK_URL"


def card(message: Message) -> dict[str, Any]:
    more = message.url
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": clip(message.headline, 300), "weight": "Bolder", "size": "Medium", "wrap": True,
         "color": STYLES[message.event]},
    ]
    if message.summary:
        body.append({"type": "TextBlock", "text": clip(message.summary, TEXT_MAX, more), "wrap": True})
    if message.facts:
        facts = [{"title": k, "value": clip(v, 1000, more)} for k, v in message.facts]
        body.append({"type": "FactSet", "facts": facts})
    return {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
        "version": CARD_VERSION, "body": body,
        "actions": [{"type": "Action.OpenUrl", "title": label, "url": url} for label, url in message.links],
    }


class TeamsNotifier:
    kind = "teams"
    Config = TeamsNotifierConfig

    def __init__(self, config: TeamsNotifierConfig, context: ConnectorContext) -> None:
        self.config = config
        self.name = config.key
        self._context = context
        self._hook = SharedClient(lambda: NotifyClient(
            require(self._context, self.config.webhook_url_env, "the Teams workflow webhook URL"), self._context,
            vendor="Teams workflow"))

    async def aclose(self) -> None:
        """Close the client's pooled connections (at shutdown)."""
        await self._hook.aclose()

    async def notify(self, event: NotifyEvent, outcome: JobOutcome) -> None:
        message = build(event, outcome, self.config.jobs_url)
        payload = {"type": "message", "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card(message)},
        ]}
        await self._hook.get().post("", payload=payload, what="posting to the Teams workflow webhook")
