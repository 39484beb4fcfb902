from datetime import datetime, timedelta, timezone

from funnel.events import Event, by_user, parse_events
from funnel.funnel import abandoned_checkouts, compute
from funnel.report import render

T0 = datetime(2026, 3, 30, 10, tzinfo=timezone.utc)


def _events(user: str, *kinds: str) -> list[Event]:
    return [Event(user, T0 + timedelta(minutes=i), kind) for i, kind in enumerate(kinds)]


def test_parse_skips_non_funnel_events() -> None:
    lines = ['{"user": "u1", "ts": "2026-03-30T10:00:00Z", "kind": "view"}',
             '{"user": "u1", "ts": "2026-03-30T10:01:00Z", "kind": "search"}', ""]
    assert [e.kind for e in parse_events(lines)] == ["view"]


def test_by_user_sorts_by_time() -> None:
    late, early = Event("u", T0 + timedelta(hours=1), "cart"), Event("u", T0, "view")
    assert by_user([late, early]) == {"u": [early, late]}


def test_checkout_followed_by_payment_is_not_abandoned() -> None:
    assert abandoned_checkouts(_events("u", "view", "cart", "checkout", "payment")) == 0


def test_checkout_followed_by_browsing_is_abandoned() -> None:
    assert abandoned_checkouts(_events("u", "checkout", "view", "checkout", "payment")) == 1


def test_compute_counts_users_per_step() -> None:
    stats = compute({"a": _events("a", "view", "cart", "checkout", "payment"), "b": _events("b", "view", "view")})
    assert stats.reached == {"view": 2, "cart": 1, "checkout": 1, "payment": 1}
    assert stats.conversion == 0.5
    assert "conversion   50.0%" in render("2026-03-30", stats)


def test_checkout_as_last_event_of_the_day_is_abandoned() -> None:
    stats = compute({"a": _events("a", "view", "cart", "checkout"), "b": _events("b", "view", "checkout", "payment")})
    assert (stats.checkouts, stats.abandoned) == (2, 1)
