import json
from datetime import datetime, timezone

from rooms.bookings import Booking, Calendar
from rooms.cli import main
from rooms.sync import sync_feed


def _at(hour: int) -> datetime:
    return datetime(2026, 3, 30, hour, tzinfo=timezone.utc)


def test_feed_into_empty_calendar() -> None:
    cal = Calendar()
    report = sync_feed(["Aurora;2026-03-30T06:00:00Z;2026-03-30T07:00:00Z;Cleaning"], cal)
    assert report.added == 1 and cal.bookings[0].source == "facility"


def test_feed_comments_and_blank_lines_are_skipped() -> None:
    assert sync_feed(["# export 2026-03-29", "", "  "], Calendar()).added == 0


def test_feed_without_offsets_merges_into_web_bookings(tmp_path) -> None:
    """The facility system writes UTC timestamps without an offset."""
    path = tmp_path / "calendar.json"
    Calendar([Booking("Aurora", _at(9), _at(10), "Standup")]).save(path)
    feed = tmp_path / "feed.txt"
    feed.write_text("Aurora;2026-03-30T06:00:00;2026-03-30T07:00:00;Cleaning\n"
                    "Aurora;2026-03-30T09:30:00;2026-03-30T10:30:00;Projector repair\n")
    assert main([str(feed), "--calendar", str(path)]) == 0
    saved = json.loads(path.read_text())
    assert [(b["title"], b["start"]) for b in saved] == [
        ("Cleaning", "2026-03-30T06:00:00+00:00"), ("Standup", "2026-03-30T09:00:00+00:00"),
    ]
