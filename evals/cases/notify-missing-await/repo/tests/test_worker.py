import asyncio
import json

from notify.senders import Outbox, render
from notify.store import PreferenceStore
from notify.worker import run_batch


def _line(order: str, customer: str, phone: str | None = "+49 151 2345678") -> str:
    return json.dumps({"order": order, "customer_id": customer, "name": "Ana", "email": "ana@example.com",
                       "phone": phone, "carrier": "DHL", "tracking_url": "https://t.example/1"})


def test_render_falls_back_to_english() -> None:
    assert render("fr", name="Ana", order="A1", carrier="DHL", url="u").startswith("Good news, Ana")


def test_store_defaults_for_unknown_customers() -> None:
    prefs = asyncio.run(PreferenceStore().get_preferences("cus_new"))
    assert prefs["channels"] == ["email"]


def test_empty_batch_sends_nothing() -> None:
    assert asyncio.run(run_batch(["", "  "], PreferenceStore(), Outbox())) == 0


def test_batch_uses_each_customers_channels_and_language() -> None:
    store = PreferenceStore({"c1": {"channels": ["email", "sms"], "language": "de"}, "c2": {"channels": ["sms"]}})
    outbox = Outbox()
    sent = asyncio.run(run_batch([_line("A1", "c1"), _line("A2", "c2", phone=None), _line("A3", "c3")], store, outbox))
    assert sent == 3
    assert sorted((channel, text.split(":")[0]) for channel, _, text in outbox.sent) == [
        ("email", "Good news, Ana"), ("email", "Gute Nachricht, Ana"), ("sms", "Gute Nachricht, Ana"),
    ]
