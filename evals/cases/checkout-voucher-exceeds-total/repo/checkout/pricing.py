"""Cart pricing and vouchers."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")
PRICES = {"MUG-01": Decimal("12.90"), "TEE-02": Decimal("24.00"), "CARD-03": Decimal("3.50")}
PERCENT_CODES = {"SPRING10": Decimal("10"), "STAFF25": Decimal("25")}
_GIFT_RE = re.compile(r"^GIFT-(?P<value>\d{1,3})-[A-Z0-9]{4}$")


class CheckoutError(ValueError):
    """The request cannot be checked out (400)."""


@dataclass(frozen=True)
class Priced:
    subtotal: Decimal
    discount: Decimal
    total: Decimal


def subtotal(items: Iterable[Mapping[str, Any]]) -> Decimal:
    total = Decimal(0)
    for item in items:
        sku, qty = item.get("sku"), item.get("qty", 1)
        if sku not in PRICES:
            raise CheckoutError(f"unknown product {sku!r}")
        if not isinstance(qty, int) or qty < 1:
            raise CheckoutError(f"bad quantity for {sku}: {qty!r}")
        total += PRICES[sku] * qty
    if total == 0:
        raise CheckoutError("the cart is empty")
    return total


def voucher_discount(code: str | None, amount: Decimal) -> Decimal:
    if not code:
        return Decimal(0)
    code = code.strip().upper()
    if code in PERCENT_CODES:
        return (amount * PERCENT_CODES[code] / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    match = _GIFT_RE.match(code)
    if match:
        return Decimal(match["value"])
    raise CheckoutError(f"unknown voucher {code!r}")


def price(items: Iterable[Mapping[str, Any]], voucher: str | None) -> Priced:
    sub = subtotal(items)
    discount = voucher_discount(voucher, sub)
    return Priced(sub, discount, sub - discount)
