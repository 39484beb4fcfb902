from decimal import Decimal

import pytest

from billing.money import format_eur, split_evenly, to_money


def test_to_money_rounds_half_up() -> None:
    assert to_money("2.675") == Decimal("2.68")
    assert to_money(3) == Decimal("3.00")


def test_split_evenly_when_divisible() -> None:
    assert split_evenly(Decimal("100.00"), 4) == [Decimal("25.00")] * 4


def test_split_evenly_rejects_zero_parts() -> None:
    with pytest.raises(ValueError):
        split_evenly(Decimal("10.00"), 0)


def test_format_eur() -> None:
    assert format_eur(Decimal("1234.5")) == "1,234.50 EUR"
