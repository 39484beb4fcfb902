import pytest

from relay.events import OrderCancelled, OrderPlaced, parse_event

PLACED = {"order_id": "A-1001", "placed_at": "2026-03-05T09:14:03+00:00", "currency": "EUR",
          "items": [{"sku": "MUG-BLUE-350", "quantity": 2, "unit_price": "19.90"}]}


def test_records_parse_into_their_models() -> None:
    event = parse_event({"type": "order.placed", "data": PLACED})
    assert isinstance(event, OrderPlaced) and str(event.items[0].unit_price) == "19.90"
    assert isinstance(parse_event({"type": "order.cancelled", "data": {"order_id": "A-1", "reason": "r"}}),
                      OrderCancelled)


@pytest.mark.parametrize("bad", [
    {"type": "order.shipped", "data": {}},
    {"type": "order.placed", "data": {**PLACED, "placed_at": "2026-03-05T09:14:03"}},
    {"type": "order.placed", "data": {**PLACED, "items": []}},
    {"type": "order.placed", "data": {**PLACED, "currency": "euro"}},
])
def test_bad_records_are_refused(bad) -> None:
    with pytest.raises(ValueError):
        parse_event(bad)
