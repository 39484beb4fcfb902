"""Invoices and installment plans."""
