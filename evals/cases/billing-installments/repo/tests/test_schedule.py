from datetime import date
from decimal import Decimal

import pytest

from billing.invoices import Invoice, Line, get_invoice
from billing.schedule import PlanError, add_months, build_schedule


def _invoice(net: str) -> Invoice:
    return Invoice("INV-T", "Test AG", (Line("Service", Decimal(net), Decimal("0")),))


def test_add_months_clamps_to_month_end() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 11, 15), 3) == date(2027, 2, 15)


def test_even_plan() -> None:
    plan = build_schedule(get_invoice("INV-2026-0117"), 4, date(2026, 4, 1))
    assert [p.amount for p in plan] == [Decimal("357.00")] * 4
    assert [p.due for p in plan] == [date(2026, 4, 1), date(2026, 5, 1), date(2026, 6, 1), date(2026, 7, 1)]


def test_paid_invoices_get_no_plan() -> None:
    paid = Invoice("INV-P", "Test AG", (Line("x", Decimal("10"), Decimal("0")),), paid=True)
    with pytest.raises(PlanError):
        build_schedule(paid, 2, date(2026, 4, 1))


@pytest.mark.parametrize("count", [1, 13])
def test_installment_count_is_bounded(count: int) -> None:
    with pytest.raises(PlanError):
        build_schedule(_invoice("100.00"), count, date(2026, 4, 1))


def test_uneven_total_is_spread_to_the_cent() -> None:
    plan = build_schedule(_invoice("100.00"), 3, date(2026, 4, 1))
    amounts = [p.amount for p in plan]
    assert sum(amounts) == Decimal("100.00")
    assert max(amounts) - min(amounts) <= Decimal("0.01")
    assert all(a == a.quantize(Decimal("0.01")) for a in amounts)
