import io
import json
from decimal import Decimal
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest

from checkout.api import make_app
from checkout.payments import Gateway, PaymentError
from checkout.pricing import CheckoutError, price


def _checkout(gateway: Gateway, body: Any) -> tuple[int, Any]:
    raw = json.dumps(body).encode()
    environ: dict[str, Any] = {"REQUEST_METHOD": "POST", "PATH_INFO": "/checkout",
                               "CONTENT_LENGTH": str(len(raw)), "wsgi.input": io.BytesIO(raw)}
    setup_testing_defaults(environ)
    status: list[str] = []
    chunks = make_app(gateway)(environ, lambda s, h: status.append(s))
    return int(status[0].split()[0]), json.loads(b"".join(chunks))


def test_percentage_voucher() -> None:
    assert price([{"sku": "TEE-02", "qty": 2}], "spring10").total == Decimal("43.20")


def test_gift_voucher_smaller_than_the_order() -> None:
    assert price([{"sku": "TEE-02"}], "GIFT-20-7K3M").total == Decimal("4.00")


def test_unknown_voucher_and_bad_items() -> None:
    with pytest.raises(CheckoutError):
        price([{"sku": "MUG-01"}], "FREE")
    with pytest.raises(CheckoutError):
        price([{"sku": "MUG-01", "qty": -1}], None)


def test_gateway_refuses_non_positive_amounts() -> None:
    with pytest.raises(PaymentError):
        Gateway().charge("tok_1", Decimal("0"))


def test_checkout_charges_the_total() -> None:
    gateway = Gateway()
    status, body = _checkout(gateway, {"items": [{"sku": "MUG-01", "qty": 2}], "voucher": "SPRING10", "card_token": "tok_a"})
    assert status == 201 and body["total"] == "23.22"
    assert gateway.charges == [("tok_a", Decimal("23.22"))]


def test_gift_voucher_worth_more_than_the_order_is_handled() -> None:
    """How this should behave is a product decision (PROD-88): refusing the voucher, or
    accepting the order at 0.00 without a charge, both pass. A 500, or a charge of a
    non-positive amount, does not."""
    gateway = Gateway()
    status, _ = _checkout(gateway, {"items": [{"sku": "MUG-01"}], "voucher": "GIFT-20-7K3M", "card_token": "tok_b"})
    assert status < 500
    assert all(amount > 0 for _, amount in gateway.charges)
