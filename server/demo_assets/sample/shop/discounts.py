"""Coupons and volume discounts."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Coupon:
    code: str
    percent_off: Decimal
    minimum_subtotal: Decimal = Decimal("0")


COUPONS: dict[str, Coupon] = {
    "SPRING10": Coupon("SPRING10", Decimal("10")),
    "BIGBASKET": Coupon("BIGBASKET", Decimal("15"), minimum_subtotal=Decimal("100")),
}

VOLUME_THRESHOLD = 10  # units of one product
VOLUME_PERCENT = Decimal("5")


def volume_discount(unit_price: Decimal, quantity: int) -> Decimal:
    """5% off a line once it reaches VOLUME_THRESHOLD units."""
    if quantity < VOLUME_THRESHOLD:
        return Decimal("0")
    return (unit_price * quantity * VOLUME_PERCENT / 100).quantize(Decimal("0.01"))


def coupon_discount(code: str | None, subtotal: Decimal) -> Decimal:
    """What a coupon takes off the subtotal; unknown or ineligible coupons take nothing."""
    coupon = COUPONS.get(code or "")
    if coupon is None or subtotal < coupon.minimum_subtotal:
        return Decimal("0")
    return (subtotal * coupon.percent_off / 100).quantize(Decimal("0.01"))
