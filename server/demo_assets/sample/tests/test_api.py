from __future__ import annotations

import unittest

from tests.client import call


class ApiTest(unittest.TestCase):
    def test_health(self):
        self.assertEqual(call("GET", "/health").body, {"status": "ok"})

    def test_create_order(self):
        res = call("POST", "/orders", body={"items": [{"sku": "MUG-01", "quantity": 2}, {"sku": "book-04"}]})
        self.assertEqual(res.status, 201)
        # 2 x 12.50 + 31.00 = 56.00; VAT 25.00 * 19% + 31.00 * 7% = 4.75 + 2.17
        self.assertEqual(res.body["subtotal"], "56.00")
        self.assertEqual(res.body["vat"], "6.92")
        self.assertEqual(res.body["total"], "62.92")

    def test_create_order_rejects_bad_quantity(self):
        res = call("POST", "/orders", body={"items": [{"sku": "MUG-01", "quantity": 0}]})
        self.assertEqual(res.status, 400)
        self.assertIn("quantity", res.body["error"])

    def test_unknown_product_is_a_client_error(self):
        res = call("POST", "/orders", body={"items": [{"sku": "NOPE-99", "quantity": 1}]})
        self.assertEqual(res.status, 400)
        self.assertEqual(res.body, {"error": "unknown product 'NOPE-99'"})

    def test_unknown_route(self):
        self.assertEqual(call("GET", "/admin").status, 404)

    def test_quote_from_query_string(self):
        # The product page's price preview sends everything as query parameters.
        res = call("GET", "/quote", query="sku=MUG-01&quantity=2&coupon=SPRING10&country=DE")
        self.assertEqual(res.status, 200)
        # 2 x 12.50 = 25.00, minus 10% = 22.50, plus 19% VAT (4.28)
        self.assertEqual(res.body["subtotal"], "25.00")
        self.assertEqual(res.body["coupon_discount"], "2.50")
        self.assertEqual(res.body["total"], "26.78")
