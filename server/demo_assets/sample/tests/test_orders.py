from __future__ import annotations

import pytest

from shop.orders import OrderError, parse_order


def test_parse_order_normalises_fields():
    order = parse_order({"items": [{"sku": " mug-01 ", "quantity": 3}], "coupon": "spring10", "country": "fr"})
    assert order.items[0].sku == "MUG-01"
    assert order.items[0].quantity == 3
    assert order.coupon == "SPRING10"
    assert order.country == "FR"


def test_quantity_defaults_to_one():
    assert parse_order({"items": [{"sku": "CAP-05"}]}).items[0].quantity == 1


@pytest.mark.parametrize("quantity", [0, -2, "two", 1.5, True, None])
def test_invalid_quantities_are_rejected(quantity):
    with pytest.raises(OrderError):
        parse_order({"items": [{"sku": "CAP-05", "quantity": quantity}]})


@pytest.mark.parametrize("payload", [None, [], {"items": []}, {"items": [{"quantity": 1}]}, {"items": ["MUG-01"]}])
def test_malformed_payloads_are_rejected(payload):
    with pytest.raises(OrderError):
        parse_order(payload)
