"""E-mail and SMS gateways (recording outboxes here; HTTP clients in production)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field


@dataclass
class Outbox:
    sent: list[tuple[str, str, str]] = field(default_factory=list)  # (channel, to, text)

    async def send(self, channel: str, to: str, text: str) -> None:
        await asyncio.sleep(0)
        self.sent.append((channel, to, text))


TEMPLATES = {
    "en": "Good news, {name}: order {order} has shipped with {carrier}. Track it: {url}",
    "de": "Gute Nachricht, {name}: Bestellung {order} ist mit {carrier} unterwegs. Sendungsverfolgung: {url}",
}


def render(language: str, **fields: str) -> str:
    return TEMPLATES.get(language, TEMPLATES["en"]).format(**fields)
