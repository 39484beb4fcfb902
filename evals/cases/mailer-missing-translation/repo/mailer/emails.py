"""Rendering transactional e-mails in the customer's language."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from tinyi18n import Translator, load_catalogs

log = logging.getLogger("mailer.emails")

LOCALES = Path(__file__).resolve().parent / "locales"
_translator: Translator | None = None


def translator() -> Translator:
    global _translator
    if _translator is None:
        _translator = Translator(load_catalogs(LOCALES))
    return _translator


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    body: str


def render(kind: str, to: str, locale: str | None, **params: str) -> Email:
    t = translator()
    subject = t.gettext(locale, f"{kind}.subject", **params)
    body = t.gettext(locale, f"{kind}.body", **params) + "\n\n" + t.gettext(locale, "signature")
    log.info("rendered %s for %s in %s", kind, to, t.resolve_locale(locale))
    return Email(to, subject, body)


def order_shipped(to: str, locale: str | None, *, name: str, order: str, carrier: str, url: str) -> Email:
    return render("order_shipped", to, locale, name=name, order=order, carrier=carrier, url=url)


def order_confirmed(to: str, locale: str | None, *, name: str, order: str) -> Email:
    return render("order_confirmed", to, locale, name=name, order=order)
