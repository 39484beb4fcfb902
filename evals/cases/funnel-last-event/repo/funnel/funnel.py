"""Funnel numbers: how many users reached each step, and how many checkouts were abandoned."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from funnel.events import KINDS, Event


@dataclass
class FunnelStats:
    reached: dict[str, int] = field(default_factory=lambda: {kind: 0 for kind in KINDS})
    checkouts: int = 0
    abandoned: int = 0

    @property
    def conversion(self) -> float:
        """Share of viewing users who paid."""
        return self.reached["payment"] / self.reached["view"] if self.reached["view"] else 0.0


def abandoned_checkouts(events: list[Event]) -> int:
    """Checkouts not directly followed by a payment (the user gave up at the payment page).

    A checkout that is the user's last event of the day is abandoned too.
    """
    abandoned = 0
    for i, event in enumerate(events):
        if event.kind == "checkout" and events[i + 1].kind != "payment":
            abandoned += 1
    return abandoned


def compute(users: Mapping[str, list[Event]]) -> FunnelStats:
    stats = FunnelStats()
    for events in users.values():
        for kind in {e.kind for e in events}:
            stats.reached[kind] += 1
        stats.checkouts += sum(1 for e in events if e.kind == "checkout")
        stats.abandoned += abandoned_checkouts(events)
    return stats
