"""Installment plans: an invoice's total spread over monthly due dates."""

from __future__ import annotations

import calendar
import logging
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from billing.invoices import Invoice
from billing.money import split_evenly

log = logging.getLogger("billing.schedule")

MIN_INSTALLMENTS, MAX_INSTALLMENTS = 2, 12


class PlanError(ValueError):
    """The request cannot be turned into a plan (400)."""


class ScheduleError(RuntimeError):
    """A plan that would not reconcile with the ledger: a bug, never the customer's fault."""


@dataclass(frozen=True)
class Installment:
    due: date
    amount: Decimal


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the month's last day (31 Jan + 1 → 28/29 Feb)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def build_schedule(invoice: Invoice, installments: int, first_due: date) -> list[Installment]:
    if invoice.paid:
        raise PlanError(f"{invoice.number} is already paid")
    if not MIN_INSTALLMENTS <= installments <= MAX_INSTALLMENTS:
        raise PlanError(f"installments must be between {MIN_INSTALLMENTS} and {MAX_INSTALLMENTS}")
    amounts = split_evenly(invoice.total, installments)
    plan = [Installment(add_months(first_due, i), amount) for i, amount in enumerate(amounts)]
    planned = sum((p.amount for p in plan), Decimal(0))
    if planned != invoice.total:
        # The ledger would reject the plan; refuse it here where the numbers are still visible.
        raise ScheduleError(f"installments of {invoice.number} add up to {planned}, invoice total is {invoice.total}")
    log.info("plan for %s: %d x ~%s", invoice.number, installments, amounts[0])
    return plan
