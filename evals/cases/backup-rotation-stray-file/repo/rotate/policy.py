"""Which dumps the retention policy keeps (README: 7 daily, 8 weekly, 12 monthly)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

DAILY, WEEKLY, MONTHLY = 7, 8, 12


def keep(dumps: Iterable[date], today: date) -> set[date]:
    """The dump dates the policy keeps."""
    dates = sorted(set(dumps))
    kept = {d for d in dates if today - d < timedelta(days=DAILY)}
    weeks: dict[tuple[int, int], date] = {}
    months: dict[tuple[int, int], date] = {}
    for d in dates:  # oldest first: the first dump of a week or month wins
        weeks.setdefault(d.isocalendar()[:2], d)
        months.setdefault((d.year, d.month), d)
    kept |= set(sorted(weeks.values())[-WEEKLY:])
    kept |= set(sorted(months.values())[-MONTHLY:])
    return kept
