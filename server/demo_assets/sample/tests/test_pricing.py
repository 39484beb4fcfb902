from __future__ import annotations

import unittest
from decimal import Decimal

from shop.catalog import UnknownProduct
from shop.orders import LineItem, OrderRequest
from shop.pricing import price_line, price_order
from shop.tax import UnsupportedCountry


class PricingTest(unittest.TestCase):
    def test_volume_discount_from_ten_units(self):
        line = price_line(LineItem("BAG-03", 10))
        self.assertEqual(line.discount, Decimal("4.95"))  # 5% of 99.00
        self.assertEqual(line.total, Decimal("94.05"))

    def test_coupon_with_minimum_subtotal(self):
        small = price_order(OrderRequest([LineItem("MUG-01", 1)], coupon="BIGBASKET"))
        self.assertEqual(small.coupon_discount, Decimal("0"))
        big = price_order(OrderRequest([LineItem("TEE-02", 5)], coupon="BIGBASKET"))
        self.assertEqual(big.coupon_discount, Decimal("18.00"))  # 15% of 120.00

    def test_reduced_rate_for_books(self):
        quote = price_order(OrderRequest([LineItem("BOOK-04", 1)], country="FR"))
        self.assertEqual(quote.vat, Decimal("1.71"))  # 31.00 * 5.5%

    def test_unknown_sku_and_country(self):
        with self.assertRaises(UnknownProduct):
            price_line(LineItem("NOPE-99", 1))
        with self.assertRaises(UnsupportedCountry):
            price_order(OrderRequest([LineItem("MUG-01", 1)], country="US"))
