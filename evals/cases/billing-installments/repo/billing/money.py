"""Money helpers. Amounts are Decimal euros rounded to the cent, never floats."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def to_money(value: Decimal | int | str) -> Decimal:
    """`value` as euros rounded half-up to the cent (what the invoice shows)."""
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def split_evenly(total: Decimal, parts: int) -> list[Decimal]:
    """Split `total` into `parts` amounts, as equal as possible, that add up to `total` exactly.

    Installment plans and cost-centre allocations rely on the sum being exact: the ledger
    rejects a plan whose installments don't add up to the invoice.
    """
    if parts < 1:
        raise ValueError("parts must be at least 1")
    share = (to_money(total) / parts).quantize(CENT, rounding=ROUND_HALF_UP)
    return [share] * parts


def format_eur(amount: Decimal) -> str:
    return f"{to_money(amount):,.2f} EUR"
