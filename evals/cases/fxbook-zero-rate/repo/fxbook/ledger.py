"""Sales and the journal they are booked into."""

from __future__ import annotations

import csv
import io
import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from fxbook.convert import to_eur

log = logging.getLogger("fxbook.ledger")


@dataclass(frozen=True)
class Sale:
    order: str
    currency: str
    amount: Decimal


@dataclass(frozen=True)
class Entry:
    day: str
    currency: str
    amount: Decimal  # in the sale currency
    eur: Decimal
    orders: int


@dataclass
class Journal:
    entries: list[Entry] = field(default_factory=list)

    def post(self, entry: Entry) -> None:
        self.entries.append(entry)


def read_sales(text: str) -> list[Sale]:
    return [Sale(r["order"], r["currency"].upper(), Decimal(r["amount"])) for r in csv.DictReader(io.StringIO(text))]


def book_day(day: str, sales: list[Sale], rates: Mapping[str, Decimal], journal: Journal) -> list[Entry]:
    """One journal entry per currency: the day's total and its EUR value."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    counts: dict[str, int] = defaultdict(int)
    for sale in sales:
        totals[sale.currency] += sale.amount
        counts[sale.currency] += 1
    entries = []
    for currency in sorted(totals):
        eur = to_eur(totals[currency], currency, rates)
        entries.append(Entry(day, currency, totals[currency], eur, counts[currency]))
        log.info("%s: %s %s = %s EUR (%d orders)", day, totals[currency], currency, eur, counts[currency])
    for entry in entries:  # post only when every currency converted: a day is booked whole or not at all
        journal.post(entry)
    return entries
