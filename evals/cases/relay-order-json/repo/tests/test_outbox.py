import json
from pathlib import Path

from relay.events import OrderCancelled, parse_event
from relay.outbox import encode, flush

PLACED = {"order_id": "A-1001", "placed_at": "2026-03-05T09:14:03+00:00", "currency": "EUR",
          "items": [{"sku": "MUG-BLUE-350", "quantity": 2, "unit_price": "19.90"},
                    {"sku": "TEE-ORG-M", "quantity": 1, "unit_price": "24.00"}]}


def test_cancellations_are_encoded() -> None:
    payload = json.loads(encode(OrderCancelled(order_id="A-1000", reason="customer request")))
    assert payload == {"type": "order.cancelled", "data": {"order_id": "A-1000", "reason": "customer request"}}


def test_an_empty_or_missing_outbox_sends_nothing(tmp_path: Path) -> None:
    sent: list[bytes] = []
    assert flush(tmp_path / "outbox.jsonl", sent.append) == 0
    (tmp_path / "outbox.jsonl").write_text("\n")
    assert flush(tmp_path / "outbox.jsonl", sent.append) == 0 and sent == []


def test_placed_orders_use_the_partners_wire_format() -> None:
    payload = json.loads(encode(parse_event({"type": "order.placed", "data": PLACED})))
    assert payload == {"type": "order.placed", "data": {
        "order_id": "A-1001", "placed_at": "2026-03-05T09:14:03+00:00", "currency": "EUR",
        "items": [{"sku": "MUG-BLUE-350", "quantity": 2, "unit_price": "19.90"},
                  {"sku": "TEE-ORG-M", "quantity": 1, "unit_price": "24.00"}]}}


def test_flush_sends_every_event_then_empties_the_outbox(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox.jsonl"
    records = [{"type": "order.cancelled", "data": {"order_id": "A-1000", "reason": "duplicate"}},
               {"type": "order.placed", "data": PLACED}]
    outbox.write_text("".join(json.dumps(r) + "\n" for r in records))
    sent: list[bytes] = []
    assert flush(outbox, sent.append) == 2
    assert [json.loads(p)["type"] for p in sent] == ["order.cancelled", "order.placed"]
    assert outbox.read_text() == ""
