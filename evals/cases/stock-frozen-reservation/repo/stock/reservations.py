"""Holding units for an order, and giving them back."""

from __future__ import annotations

import attrs

from stock.levels import StockLevel
from stock.store import Store


class ReservationError(ValueError):
    """The request itself is wrong (a non-positive quantity, more released than held)."""


class OutOfStock(Exception):
    def __init__(self, level: StockLevel, quantity: int) -> None:
        super().__init__(f"{level.sku}: {quantity} requested, {level.available} available")
        self.level, self.quantity = level, quantity


def _positive(quantity: int) -> int:
    if quantity <= 0:
        raise ReservationError("quantity must be a positive number of units")
    return quantity


def reserve(store: Store, sku: str, quantity: int) -> StockLevel:
    """Hold `quantity` units of `sku`; the level after the reservation."""
    _positive(quantity)
    with store.lock:
        level = store.get(sku)
        if quantity > level.available:
            raise OutOfStock(level, quantity)
        level.reserved += quantity
        store.put(level)
        return level


def release(store: Store, sku: str, quantity: int) -> StockLevel:
    """Give back `quantity` held units of `sku` (a cancelled order); the level after it."""
    _positive(quantity)
    with store.lock:
        level = store.get(sku)
        if quantity > level.reserved:
            raise ReservationError(f"{sku}: {quantity} released, only {level.reserved} held")
        level = attrs.evolve(level, reserved=level.reserved - quantity)
        store.put(level)
        return level
