"""Discord: one embed per message through a channel webhook (AUTOFIXER_DISCORD_WEBHOOK_URL).

`?wait=true` makes Discord answer 200 with the created message instead of 204, so a delivery is
confirmed. A 429 carries `retry_after` (seconds, decimals) in its JSON body as well as the
`Retry-After` header; the body's value is the precise one and is honoured first.
Embed limits: title ≤ 256, description ≤ 4,096, ≤ 25 fields with values ≤ 1,024, and all the
embed's text together ≤ 6,000 characters (breaking one is a 400).
"""

from __future__ import annotations

from typing import Any, Literal

import httpx

from common.config import ConnectorContext
from common.http import SharedClient, safe_json
from domain.job import JobOutcome, NotifyEvent
from notify.base import NotifierConfig
from notify.delivery import NotifyClient, require
from notify.message import Message, build, clip

TITLE_MAX, DESCRIPTION_MAX, FIELD_NAME_MAX, FIELD_VALUE_MAX, FIELDS_MAX, FOOTER_MAX = 256, 4096, 256, 1024, 25, 2048
EMBED_TOTAL_MAX = 6000


class DiscordNotifierConfig(NotifierConfig):
    type: Literal["discord"] = "discord"
    webhook_url_env: str = "AUTOFIXER_DISCORD_WEBHOOK_URL"
    username: str = "autofixer"  # the name the webhook posts as


def embed(message: Message) -> dict[str, Any]:
    """The message as a rich embed, within Discord's per-field and 6,000-character total limits."""
    more = message.url
    links = " · ".join(f"[{label}]({url})" for label, url in message.links)
    pairs = [(clip(k, FIELD_NAME_MAX), clip(v, FIELD_VALUE_MAX, more)) for k, v in message.facts[:FIELDS_MAX]]
    fields = [{"name": k, "value": v, "inline": len(v) < 40} for k, v in pairs]
    used = len(message.headline[:TITLE_MAX]) + sum(len(k) + len(v) for k, v in pairs) + len("autofixer")
    room = max(0, min(DESCRIPTION_MAX, EMBED_TOTAL_MAX - used))
    description = clip(f"{message.summary}\n\n{links}".strip(), room, more)
    out: dict[str, Any] = {"type": "rich", "title": clip(message.headline, TITLE_MAX), "description": description,
                           "color": message.colour, "fields": fields, "footer": {"text": "autofixer"}}
    if message.url:
        out["url"] = message.url
    return out


class DiscordWebhook(NotifyClient):
    def wait_hint(self, response: httpx.Response) -> float | None:
        body = safe_json(response) if response.status_code == 429 else None
        if isinstance(body, dict) and isinstance(body.get("retry_after"), (int, float)):
            return max(float(body["retry_after"]), 0.0)
        return super().wait_hint(response)


class DiscordNotifier:
    kind = "discord"
    Config = DiscordNotifierConfig

    def __init__(self, config: DiscordNotifierConfig, context: ConnectorContext) -> None:
        self.config = config
        self.name = config.key
        self._context = context
        self._hook = SharedClient(lambda: DiscordWebhook(
            require(self._context, self.config.webhook_url_env, "the Discord webhook URL"), self._context,
            vendor="Discord"))

    async def aclose(self) -> None:
        """Close the client's pooled connections (at shutdown)."""
        await self._hook.aclose()

    async def notify(self, event: NotifyEvent, outcome: JobOutcome) -> None:
        message = build(event, outcome, self.config.jobs_url)
        payload = {"username": self.config.username, "embeds": [embed(message)],
                   "allowed_mentions": {"parse": []}}  # event text must never ping @everyone
        await self._hook.get().post("", payload=payload, params={"wait": "true"}, what="posting to the Discord webhook")
