"""Invoices as the accounting system exports them (a read-only view)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from billing.money import to_money


class UnknownInvoice(LookupError):
    pass


@dataclass(frozen=True)
class Line:
    description: str
    net: Decimal
    vat_rate: Decimal  # 0.19 for 19 %


@dataclass(frozen=True)
class Invoice:
    number: str
    customer: str
    lines: tuple[Line, ...]
    paid: bool = False

    @property
    def net(self) -> Decimal:
        return to_money(sum((line.net for line in self.lines), Decimal(0)))

    @property
    def vat(self) -> Decimal:
        return to_money(sum((line.net * line.vat_rate for line in self.lines), Decimal(0)))

    @property
    def total(self) -> Decimal:
        return self.net + self.vat


INVOICES: dict[str, Invoice] = {
    "INV-2026-0117": Invoice("INV-2026-0117", "Kessler GmbH", (Line("Annual licence", Decimal("1200.00"), Decimal("0.19")),)),
    "INV-2026-0142": Invoice(
        "INV-2026-0142",
        "Nordlicht Design",
        (Line("Team plan, 5 seats", Decimal("420.00"), Decimal("0.19")), Line("Onboarding", Decimal("84.03"), Decimal("0.19"))),
    ),
}


def get_invoice(number: str) -> Invoice:
    try:
        return INVOICES[number]
    except KeyError:
        raise UnknownInvoice(number) from None
