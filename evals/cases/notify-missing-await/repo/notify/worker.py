"""Processing a batch of shipment events concurrently."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from notify.senders import Outbox, render
from notify.store import PreferenceStore

log = logging.getLogger("notify.worker")


@dataclass(frozen=True)
class Shipment:
    order: str
    customer_id: str
    name: str
    email: str
    phone: str | None
    carrier: str
    tracking_url: str

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Shipment:
        return cls(raw["order"], raw["customer_id"], raw["name"], raw["email"], raw.get("phone"),
                   raw["carrier"], raw["tracking_url"])


def channels_for(store: PreferenceStore, customer_id: str, has_phone: bool) -> list[str]:
    """The channels to use for this customer: their choice, minus SMS when we have no number."""
    prefs = store.get_preferences(customer_id)
    return [c for c in prefs["channels"] if c != "sms" or has_phone]


async def deliver(shipment: Shipment, store: PreferenceStore, outbox: Outbox) -> int:
    channels = channels_for(store, shipment.customer_id, shipment.phone is not None)
    language = (await store.get_preferences(shipment.customer_id)).get("language", "en")
    text = render(language, name=shipment.name, order=shipment.order, carrier=shipment.carrier,
                  url=shipment.tracking_url)
    for channel in channels:
        await outbox.send(channel, shipment.email if channel == "email" else str(shipment.phone), text)
    return len(channels)


async def run_batch(lines: Iterable[str], store: PreferenceStore, outbox: Outbox) -> int:
    shipments = [Shipment.from_json(json.loads(line)) for line in lines if line.strip()]
    log.info("notifying %d shipment(s)", len(shipments))
    sent = await asyncio.gather(*(deliver(s, store, outbox) for s in shipments))
    log.info("sent %d notification(s)", sum(sent))
    return sum(sent)
