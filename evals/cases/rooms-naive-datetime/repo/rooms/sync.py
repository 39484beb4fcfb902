"""Merging the facility-management feed into the calendar."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from rooms.bookings import Booking, Calendar, Conflict
from rooms.timeparse import parse_timestamp

log = logging.getLogger("rooms.sync")


@dataclass
class SyncReport:
    added: int = 0
    conflicts: list[str] = field(default_factory=list)


def parse_feed_line(line: str) -> Booking:
    room, start, end, title = (part.strip() for part in line.split(";", 3))
    return Booking(room, parse_timestamp(start), parse_timestamp(end), title, source="facility")


def sync_feed(lines: Iterable[str], calendar: Calendar) -> SyncReport:
    report = SyncReport()
    for line in lines:
        if not line.strip() or line.startswith("#"):
            continue
        booking = parse_feed_line(line)
        try:
            calendar.book(booking)
        except Conflict as exc:
            report.conflicts.append(f"{booking.title}: {exc}")
            continue
        report.added += 1
    log.info("facility feed: %d added, %d conflicts", report.added, len(report.conflicts))
    return report
