"""Open invoices and their payments (the accounting database in production)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from payhook.events import PaymentEvent

log = logging.getLogger("payhook.ledger")


class AmountMismatch(ValueError):
    pass


@dataclass
class Invoice:
    number: str
    amount_cents: int
    currency: str
    paid_by: str | None = None


@dataclass
class Ledger:
    invoices: dict[str, Invoice] = field(default_factory=dict)
    seen_events: set[str] = field(default_factory=set)

    def apply(self, event: PaymentEvent) -> str:
        """Book a payment event; idempotent by event id (the provider retries deliveries)."""
        if event.id in self.seen_events:
            return "duplicate"
        invoice = self.invoices.get(event.invoice)
        if invoice is None:
            log.warning("payment %s for unknown invoice %s", event.payment, event.invoice)
            return "unknown-invoice"
        if (event.amount_cents, event.currency) != (invoice.amount_cents, invoice.currency):
            raise AmountMismatch(f"{event.invoice}: paid {event.amount_cents} {event.currency}, "
                                 f"due {invoice.amount_cents} {invoice.currency}")
        invoice.paid_by = event.payment if event.type == "payment.succeeded" else None
        self.seen_events.add(event.id)
        log.info("%s %s by %s", event.invoice, "paid" if invoice.paid_by else "refunded", event.payment)
        return "booked"
