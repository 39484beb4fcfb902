"""Checkout-funnel analytics."""
