import io
import json
import time
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest

from payhook.api import SECRET, make_app
from payhook.events import amount_in_cents
from payhook.ledger import Invoice, Ledger
from payhook.signature import BadSignature, sign, verify


def _post(app: Any, body: dict[str, Any], signature: str | None = "auto") -> tuple[int, Any]:
    raw = json.dumps(body).encode()
    environ: dict[str, Any] = {"REQUEST_METHOD": "POST", "PATH_INFO": "/webhooks/payments",
                               "CONTENT_LENGTH": str(len(raw)), "wsgi.input": io.BytesIO(raw)}
    if signature == "auto":
        signature = sign(SECRET, raw, int(time.time()))
    if signature:
        environ["HTTP_PAYHOOK_SIGNATURE"] = signature
    setup_testing_defaults(environ)
    status: list[str] = []
    chunks = app(environ, lambda s, h: status.append(s))
    return int(status[0].split()[0]), json.loads(b"".join(chunks))


def _event(value: Any, invoice: str = "INV-1", event_id: str = "evt_1") -> dict[str, Any]:
    return {"id": event_id, "type": "payment.succeeded", "created": 1774872000,
            "data": {"payment": "pay_9", "invoice": invoice, "amount": {"value": value, "currency": "eur"}}}


@pytest.fixture
def ledger() -> Ledger:
    return Ledger({"INV-1": Invoice("INV-1", 4990, "EUR")})


def test_signature_round_trip_and_tampering() -> None:
    header = sign(b"k", b"{}", 1000)
    verify(b"k", b"{}", header, now=1000)
    with pytest.raises(BadSignature):
        verify(b"k", b"{ }", header, now=1000)
    with pytest.raises(BadSignature):
        verify(b"k", b"{}", header, now=2000)


def test_unsigned_requests_are_rejected(ledger: Ledger) -> None:
    assert _post(make_app(ledger), _event(49.9), signature=None)[0] == 401


def test_numeric_amount_is_booked(ledger: Ledger) -> None:
    assert _post(make_app(ledger), _event(49.9)) == (200, {"result": "booked"})
    assert ledger.invoices["INV-1"].paid_by == "pay_9"


def test_redelivery_is_idempotent(ledger: Ledger) -> None:
    app = make_app(ledger)
    _post(app, _event(49.9))
    assert _post(app, _event(49.9)) == (200, {"result": "duplicate"})


def test_wrong_amount_is_refused(ledger: Ledger) -> None:
    assert _post(make_app(ledger), _event(4.99))[0] == 422


def test_other_event_types_are_acknowledged(ledger: Ledger) -> None:
    assert _post(make_app(ledger), {"id": "evt_2", "type": "customer.updated", "data": {}})[0] == 200


def test_amount_in_cents_of_a_float() -> None:
    assert amount_in_cents({"value": 19.99, "currency": "EUR"}) == 1999


def test_decimal_string_amount_is_booked(ledger: Ledger) -> None:
    """The provider's reference: amount.value is a decimal string ("49.90")."""
    assert _post(make_app(ledger), _event("49.90")) == (200, {"result": "booked"})
    assert ledger.invoices["INV-1"].paid_by == "pay_9"
