"""Turning webhook bodies into payment events."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class UnsupportedEvent(ValueError):
    pass


@dataclass(frozen=True)
class PaymentEvent:
    id: str
    type: str
    payment: str
    invoice: str
    amount_cents: int
    currency: str


def amount_in_cents(amount: Mapping[str, Any]) -> int:
    """The provider's `{"value": ..., "currency": ...}` as integer minor units (cents)."""
    return round(amount["value"] * 100)


def parse_event(body: Mapping[str, Any]) -> PaymentEvent:
    if body.get("type") not in ("payment.succeeded", "payment.refunded"):
        raise UnsupportedEvent(str(body.get("type")))
    data = body["data"]
    return PaymentEvent(
        id=str(body["id"]),
        type=str(body["type"]),
        payment=str(data["payment"]),
        invoice=str(data["invoice"]),
        amount_cents=amount_in_cents(data["amount"]),
        currency=str(data["amount"]["currency"]).upper(),
    )
