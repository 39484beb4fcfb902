"""Bookings and the calendar that refuses double bookings."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from rooms.timeparse import format_timestamp, parse_timestamp

log = logging.getLogger("rooms.bookings")


class Conflict(ValueError):
    pass


@dataclass(frozen=True)
class Booking:
    room: str
    start: datetime
    end: datetime
    title: str
    source: str = "web"

    def to_json(self) -> dict[str, str]:
        return {"room": self.room, "start": format_timestamp(self.start), "end": format_timestamp(self.end),
                "title": self.title, "source": self.source}


def overlaps(a: Booking, b: Booking) -> bool:
    """Same room and the time ranges intersect (end is exclusive: back-to-back is fine)."""
    return a.room == b.room and a.start < b.end and b.start < a.end


class Calendar:
    def __init__(self, bookings: list[Booking] | None = None) -> None:
        self.bookings: list[Booking] = list(bookings or [])

    def book(self, booking: Booking) -> None:
        if booking.end <= booking.start:
            raise ValueError(f"{booking.title!r} ends before it starts")
        for existing in self.bookings:
            if overlaps(existing, booking):
                raise Conflict(f"{booking.room} is taken by {existing.title!r} until {format_timestamp(existing.end)}")
        self.bookings.append(booking)

    def for_room(self, room: str) -> list[Booking]:
        return sorted((b for b in self.bookings if b.room == room), key=lambda b: b.start)

    @classmethod
    def load(cls, path: Path) -> Calendar:
        if not path.exists():
            return cls()
        raw = json.loads(path.read_text(encoding="utf-8"))
        return cls([Booking(r["room"], parse_timestamp(r["start"]), parse_timestamp(r["end"]), r["title"],
                            r.get("source", "web")) for r in raw])

    def save(self, path: Path) -> None:
        data = [b.to_json() for b in sorted(self.bookings, key=lambda b: (b.room, b.start))]
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
