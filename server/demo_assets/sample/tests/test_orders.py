from __future__ import annotations

import unittest

from shop.orders import OrderError, parse_order


class ParseOrderTest(unittest.TestCase):
    def test_parse_order_normalises_fields(self):
        order = parse_order({"items": [{"sku": " mug-01 ", "quantity": 3}], "coupon": "spring10", "country": "fr"})
        self.assertEqual(order.items[0].sku, "MUG-01")
        self.assertEqual(order.items[0].quantity, 3)
        self.assertEqual(order.coupon, "SPRING10")
        self.assertEqual(order.country, "FR")

    def test_quantity_defaults_to_one(self):
        self.assertEqual(parse_order({"items": [{"sku": "CAP-05"}]}).items[0].quantity, 1)

    def test_invalid_quantities_are_rejected(self):
        for quantity in (0, -2, "two", 1.5, True, None):
            with self.subTest(quantity=quantity), self.assertRaises(OrderError):
                parse_order({"items": [{"sku": "CAP-05", "quantity": quantity}]})

    def test_malformed_payloads_are_rejected(self):
        for payload in (None, [], {"items": []}, {"items": [{"quantity": 1}]}, {"items": ["MUG-01"]}):
            with self.subTest(payload=payload), self.assertRaises(OrderError):
                parse_order(payload)
