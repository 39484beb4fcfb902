from __future__ import annotations

from decimal import Decimal

import pytest

from shop.catalog import UnknownProduct
from shop.orders import LineItem, OrderRequest
from shop.pricing import price_line, price_order
from shop.tax import UnsupportedCountry


def test_volume_discount_from_ten_units():
    line = price_line(LineItem("BAG-03", 10))
    assert line.discount == Decimal("4.95")  # 5% of 99.00
    assert line.total == Decimal("94.05")


def test_coupon_with_minimum_subtotal():
    small = price_order(OrderRequest([LineItem("MUG-01", 1)], coupon="BIGBASKET"))
    assert small.coupon_discount == Decimal("0")
    big = price_order(OrderRequest([LineItem("TEE-02", 5)], coupon="BIGBASKET"))
    assert big.coupon_discount == Decimal("18.00")  # 15% of 120.00


def test_reduced_rate_for_books():
    quote = price_order(OrderRequest([LineItem("BOOK-04", 1)], country="FR"))
    assert quote.vat == Decimal("1.71")  # 31.00 * 5.5%


def test_unknown_sku_and_country():
    with pytest.raises(UnknownProduct):
        price_line(LineItem("NOPE-99", 1))
    with pytest.raises(UnsupportedCountry):
        price_order(OrderRequest([LineItem("MUG-01", 1)], country="US"))
