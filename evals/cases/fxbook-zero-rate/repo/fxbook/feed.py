"""The treasury partner's daily exchange-rate feed."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any


class FeedError(ValueError):
    """The feed cannot be used; nothing is booked and finance is told."""


def load_rates(raw: str | bytes, day: str) -> dict[str, Decimal]:
    """`{currency: units per 1 EUR}` for `day` from the partner's JSON."""
    try:
        data: Any = json.loads(raw)
    except ValueError:
        raise FeedError("the rate feed is not JSON") from None
    if data.get("date") != day:
        raise FeedError(f"the rate feed is for {data.get('date')!r}, not {day}")
    rates: dict[str, Decimal] = {}
    for currency, value in (data.get("rates") or {}).items():
        try:
            rates[currency.upper()] = Decimal(str(value))
        except InvalidOperation:
            raise FeedError(f"rate for {currency} is not a number: {value!r}") from None
    rates["EUR"] = Decimal(1)
    return rates
