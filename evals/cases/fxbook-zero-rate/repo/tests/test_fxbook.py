import json
from decimal import Decimal

import pytest

from fxbook.cli import run_day
from fxbook.convert import MissingRate, to_eur
from fxbook.feed import FeedError, load_rates
from fxbook.ledger import Journal

SALES = "order,currency,amount\nA1,USD,108.12\nA2,usd,10.00\nA3,JPY,16241\nA4,EUR,20.00\n"


def _feed(day: str = "2026-03-29", **rates: str) -> str:
    return json.dumps({"date": day, "rates": rates or {"USD": "1.0812", "JPY": "162.41"}})


def test_to_eur_uses_bankers_rounding() -> None:
    assert to_eur(Decimal("108.12"), "USD", {"USD": Decimal("1.0812")}) == Decimal("100.00")
    assert to_eur(Decimal("0.125"), "EUR", {"EUR": Decimal(1)}) == Decimal("0.12")
    with pytest.raises(MissingRate):
        to_eur(Decimal(1), "CHF", {})


def test_feed_for_another_day_is_refused() -> None:
    with pytest.raises(FeedError, match="2026-03-28"):
        load_rates(_feed("2026-03-28"), "2026-03-29")


def test_feed_with_garbage_rate_is_refused() -> None:
    with pytest.raises(FeedError, match="JPY"):
        load_rates(_feed(USD="1.08", JPY="n/a"), "2026-03-29")


def test_a_day_is_booked_per_currency() -> None:
    journal = Journal()
    assert run_day("2026-03-29", SALES, _feed(), journal) == 3
    assert [(e.currency, e.amount, e.eur, e.orders) for e in journal.entries] == [
        ("EUR", Decimal("20.00"), Decimal("20.00"), 1),
        ("JPY", Decimal("16241"), Decimal("100.00"), 1),
        ("USD", Decimal("118.12"), Decimal("109.25"), 2),
    ]


def test_a_zero_rate_in_the_feed_is_handled_not_a_crash() -> None:
    """What to do with an unusable rate is finance's call (refuse the day, skip the currency,
    fall back to an earlier rate...): any of those passes. What must not happen is an
    arithmetic crash, or a journal entry converted with the bogus rate."""
    journal = Journal()
    try:
        run_day("2026-03-29", SALES, _feed(USD="1.0812", JPY="0"), journal)
    except (ArithmeticError, TypeError, AttributeError, NameError) as exc:
        pytest.fail(f"a zero rate crashed the run: {exc!r}")
    except Exception:
        pass  # refusing the feed (or the day) with a domain error is a valid policy
    for entry in journal.entries:
        assert entry.eur.is_finite() and entry.eur > 0, entry
