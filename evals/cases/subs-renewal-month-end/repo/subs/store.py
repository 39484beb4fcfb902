"""The subscriptions (a fixed table here; the service reads them from its database)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


class SubscriptionNotFound(Exception):
    pass


@dataclass(frozen=True)
class Subscription:
    id: int
    customer: str
    plan: str
    started: date


_SUBSCRIPTIONS = {
    s.id: s
    for s in (
        Subscription(7101, "Maren Vogt", "team", date(2026, 1, 12)),
        Subscription(7102, "Olu Adeyemi", "solo", date(2025, 11, 1)),
        Subscription(7140, "Kasia Nowak", "team", date(2026, 1, 31)),
        Subscription(7141, "Dev Patel", "solo", date(2026, 3, 30)),
    )
}


def get_subscription(subscription_id: int) -> Subscription:
    try:
        return _SUBSCRIPTIONS[subscription_id]
    except KeyError:
        raise SubscriptionNotFound(subscription_id) from None
