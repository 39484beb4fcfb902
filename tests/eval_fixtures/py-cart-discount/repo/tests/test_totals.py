import pytest

from cart.totals import cart_total, line_total


def test_total_without_discount():
    assert cart_total([{"sku": "apple", "qty": 2}]) == 6.0


def test_total_with_discount():
    assert cart_total([{"sku": "pear", "qty": 2}], {"percent": 10}) == 8.1


@pytest.mark.parametrize(("sku", "qty", "expected"), [("apple", 2, 6.0), ("fig", 4, 5.0)])
def test_line_total(sku, qty, expected):
    assert line_total({"sku": sku, "qty": qty}) == expected
