"""Currency conversion with the day's rates."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN, Decimal

CENT = Decimal("0.01")


class MissingRate(LookupError):
    pass


def to_eur(amount: Decimal, currency: str, rates: Mapping[str, Decimal]) -> Decimal:
    """`amount` of `currency` in EUR, banker's rounding to the cent (finance's convention)."""
    try:
        rate = rates[currency]
    except KeyError:
        raise MissingRate(f"no {currency} rate in today's feed") from None
    return (amount / rate).quantize(CENT, rounding=ROUND_HALF_EVEN)
