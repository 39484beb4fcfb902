"""Renewal dates: one per calendar month, on the subscription's day of the month."""

from __future__ import annotations

from datetime import date

from dateutil.rrule import MONTHLY, rrule

MAX_MONTHS = 24


class ScheduleError(Exception):
    """A renewal calendar that would bill a customer twice in a month or skip one."""


def month_index(day: date) -> int:
    return day.year * 12 + day.month


def check_one_per_month(dates: list[date]) -> None:
    """Billing runs once per calendar month; a calendar breaking that must never reach it."""
    for previous, current in zip(dates, dates[1:]):
        if month_index(current) - month_index(previous) != 1:
            raise ScheduleError(
                f"renewal on {current.isoformat()} does not follow {previous.isoformat()} by one month"
            )


def renewal_dates(started: date, months: int) -> list[date]:
    """The first `months` renewals: the day of the month the subscription started, or the last
    day of a month shorter than that (started 31 January → 28/29 February, 31 March, 30 April)."""
    if not 1 <= months <= MAX_MONTHS:
        raise ValueError(f"months must be between 1 and {MAX_MONTHS}")
    dates = [moment.date() for moment in rrule(MONTHLY, dtstart=started, count=months)]
    check_one_per_month(dates)
    return dates
