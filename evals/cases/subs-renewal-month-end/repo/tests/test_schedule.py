from datetime import date

import pytest

from subs.schedule import ScheduleError, check_one_per_month, renewal_dates


def test_mid_month_start_renews_on_the_same_day() -> None:
    assert renewal_dates(date(2026, 1, 12), 3) == [date(2026, 1, 12), date(2026, 2, 12), date(2026, 3, 12)]


def test_calendar_crosses_the_year() -> None:
    assert renewal_dates(date(2025, 11, 1), 4)[-1] == date(2026, 2, 1)


@pytest.mark.parametrize("months", [0, 25])
def test_months_are_bounded(months: int) -> None:
    with pytest.raises(ValueError):
        renewal_dates(date(2026, 1, 12), months)


def test_a_skipped_month_is_refused() -> None:
    with pytest.raises(ScheduleError):
        check_one_per_month([date(2026, 1, 31), date(2026, 3, 31)])


def test_month_end_start_renews_on_the_last_day_of_shorter_months() -> None:
    assert renewal_dates(date(2026, 1, 31), 5) == [
        date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30), date(2026, 5, 31),
    ]
    assert renewal_dates(date(2027, 12, 31), 3) == [date(2027, 12, 31), date(2028, 1, 31), date(2028, 2, 29)]
    assert renewal_dates(date(2026, 3, 30), 2) == [date(2026, 3, 30), date(2026, 4, 30)]
