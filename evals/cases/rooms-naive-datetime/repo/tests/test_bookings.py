from datetime import datetime, timezone

import pytest

from rooms.bookings import Booking, Calendar, Conflict
from rooms.timeparse import BadTimestamp, parse_timestamp


def _at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, 30, hour, minute, tzinfo=timezone.utc)


def test_parse_timestamp_with_z_and_offset() -> None:
    assert parse_timestamp("2026-03-30T07:00:00Z") == _at(7)
    assert parse_timestamp("2026-03-30T09:00:00+02:00") == _at(7)
    assert parse_timestamp("2026-03-30T09:00:00+02:00").tzinfo == timezone.utc


def test_parse_timestamp_rejects_garbage() -> None:
    with pytest.raises(BadTimestamp):
        parse_timestamp("next tuesday")


def test_double_booking_is_refused() -> None:
    cal = Calendar([Booking("Aurora", _at(9), _at(10), "Standup")])
    with pytest.raises(Conflict, match="Standup"):
        cal.book(Booking("Aurora", _at(9, 30), _at(11), "Review"))


def test_back_to_back_and_other_rooms_are_fine() -> None:
    cal = Calendar([Booking("Aurora", _at(9), _at(10), "Standup")])
    cal.book(Booking("Aurora", _at(10), _at(11), "Review"))
    cal.book(Booking("Borealis", _at(9), _at(10), "1:1"))
    assert [b.title for b in cal.for_room("Aurora")] == ["Standup", "Review"]


def test_calendar_round_trips_through_json(tmp_path) -> None:
    cal = Calendar([Booking("Aurora", _at(9), _at(10), "Standup")])
    cal.save(tmp_path / "c.json")
    assert Calendar.load(tmp_path / "c.json").bookings == cal.bookings
