import json

from mailer.emails import order_confirmed, order_shipped
from mailer.outbox import process_jobs


def test_confirmation_in_german() -> None:
    email = order_confirmed("a@example.de", "de-DE", name="Anna", order="SO-1")
    assert email.subject == "Deine Bestellung SO-1 ist bestätigt"
    assert email.body.endswith("— Dein Example-Store-Team")


def test_unknown_locale_gets_english() -> None:
    assert order_confirmed("a@example.com", "pt-BR", name="Ana", order="SO-2").subject.startswith("Your order")


def test_outbox_processes_jobs() -> None:
    job = {"kind": "order_confirmed", "to": "b@example.com", "locale": "en", "params": {"name": "Bo", "order": "SO-3"}}
    assert [e.to for e in process_jobs([json.dumps(job), ""])] == ["b@example.com"]


def test_shipping_mail_for_german_customer_before_translation_lands() -> None:
    email = order_shipped("c@example.de", "de", name="Carl", order="SO-4", carrier="DHL", url="https://t.example/4")
    assert email.subject == "Your order SO-4 is on its way"
    assert email.body.endswith("— Dein Example-Store-Team")
