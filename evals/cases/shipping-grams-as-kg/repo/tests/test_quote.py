import io
import json
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest

from shipping.api import application
from shipping.cart import CartError, parse_cart


def _quote(body: Any) -> tuple[int, Any]:
    raw = json.dumps(body).encode()
    environ: dict[str, Any] = {"REQUEST_METHOD": "POST", "PATH_INFO": "/shipping-quote",
                               "CONTENT_LENGTH": str(len(raw)), "wsgi.input": io.BytesIO(raw)}
    setup_testing_defaults(environ)
    status: list[str] = []
    chunks = application(environ, lambda s, h: status.append(s))
    return int(status[0].split()[0]), json.loads(b"".join(chunks))


def test_bad_quantities_and_empty_carts_are_rejected() -> None:
    with pytest.raises(CartError):
        parse_cart([{"sku": "MUG-01", "qty": 0}])
    with pytest.raises(CartError):
        parse_cart([])


def test_unknown_sku_is_400() -> None:
    assert _quote({"items": [{"sku": "NOPE"}], "country": "DE"})[0] == 400


def test_quote_for_a_small_parcel() -> None:
    status, body = _quote({"items": [{"sku": "MUG-01", "qty": 2}, {"sku": "TEE-02", "qty": 1}], "country": "FR"})
    assert status == 200, body
    assert body == {"weight_kg": 1.08, "zone": "EU-1", "price": "6.99"}


def test_quote_for_a_heavier_parcel() -> None:
    status, body = _quote({"items": [{"sku": "LAMP-04", "qty": 2}], "country": "DE"})
    assert (status, body["weight_kg"], body["price"]) == (200, 4.0, "5.99")
