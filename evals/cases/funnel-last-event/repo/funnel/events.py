"""Loading the clickstream export."""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

log = logging.getLogger("funnel.events")

KINDS = ("view", "cart", "checkout", "payment")


@dataclass(frozen=True)
class Event:
    user: str
    ts: datetime
    kind: str


def parse_events(lines: Iterable[str]) -> list[Event]:
    events, skipped = [], 0
    for line in lines:
        if not line.strip():
            continue
        raw = json.loads(line)
        if raw.get("kind") not in KINDS:
            skipped += 1  # other tracking events (search, login, ...) are not part of the funnel
            continue
        events.append(Event(str(raw["user"]), datetime.fromisoformat(raw["ts"].replace("Z", "+00:00")), raw["kind"]))
    log.info("loaded %d funnel events (%d other events skipped)", len(events), skipped)
    return events


def by_user(events: Iterable[Event]) -> dict[str, list[Event]]:
    """Each user's events in time order."""
    grouped: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        grouped[event.user].append(event)
    return {user: sorted(evs, key=lambda e: e.ts) for user, evs in grouped.items()}
